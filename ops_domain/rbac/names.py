"""Actors in output are usernames: ``*_by`` keys carry the username, ``*_id`` keys the id.

Records keep user ids (foreign keys, audit rows); what a command or job prints is named here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

# An id key and the key that names the same actor next to it.
NAMED_ID_KEYS = {
    "maker_id": "maker",
    "checker_id": "checker",
    "approver_id": "approver",
    "last_checker_id": "last_checker",
    "assignee_id": "assignee",
}


def name_actors(session: Session, payload: Any) -> Any:
    """``payload`` (dicts and lists, nested) with each user id of a ``*_by`` key replaced by
    the username, and a username key added beside each ``NAMED_ID_KEYS`` id; one query."""
    ids = _actor_ids(payload)
    if not ids:
        return payload
    rows = session.execute(
        text("SELECT id, username FROM users WHERE id = ANY(CAST(:ids AS bigint[]))"),
        {"ids": sorted(ids)},
    )
    return _named(payload, dict(rows.tuples().all()))


def _is_actor_key(key: str) -> bool:
    return key.endswith("_by") or key in NAMED_ID_KEYS


def _actor_ids(payload: Any) -> set[int]:
    if isinstance(payload, Mapping):
        found = {v for k, v in payload.items() if _is_actor_key(k) and isinstance(v, int)}
        return found.union(*(_actor_ids(v) for v in payload.values()))
    if isinstance(payload, list | tuple):
        return set().union(*(_actor_ids(item) for item in payload))
    return set()


def _named(payload: Any, names: dict[int, str]) -> Any:
    if isinstance(payload, Mapping):
        named = {key: _named(value, names) for key, value in payload.items()}
        for key, value in payload.items():
            if not isinstance(value, int) or isinstance(value, bool):
                continue
            if key.endswith("_by"):
                named[key] = names.get(value, value)
            elif key in NAMED_ID_KEYS:
                named[NAMED_ID_KEYS[key]] = names.get(value)
        return named
    if isinstance(payload, list | tuple):
        return [_named(item, names) for item in payload]
    return payload
