"""Read-only lists that operators use to find what to act on: bounded, filtered, validated.

Each capability owns one query function per list (``ops_domain/<capability>/queries.py``);
this module holds what they share: who may read a list (``read_list``), the bound on rows and
the check of a filter value.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from sqlalchemy import Engine, TextClause, text
from sqlalchemy.orm import Session

from ops_domain.db import transaction
from ops_domain.errors import InvalidInput
from ops_domain.rbac.actors import require_actor

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
LIST_PERMISSION = "reports.view"

Query = Callable[..., list[dict[str, Any]]]


def read_list(
    engine: Engine, query: Query, *, actor_username: str, what: str, **filters: Any
) -> list[dict[str, Any]]:
    """``query(session, **filters)`` for an actor who may read reports, in a read-only
    transaction: a list never changes anything, whoever asks."""
    with transaction(engine) as session:
        session.execute(text("SET TRANSACTION READ ONLY"))
        require_actor(session, actor_username, LIST_PERMISSION, f"{what} list")
        return query(session, **filters)


def require_limit(limit: int) -> int:
    """A list is bounded: 1..MAX_LIMIT rows, so memory never grows with the table."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def require_filter(value: str | None, allowed: Collection[str], field: str) -> str | None:
    """An unknown filter value is bad input, never an empty list that looks like 'nothing'."""
    if value is not None and value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(sorted(allowed))}, got {value!r}")
    return value


def fetch_list(
    session: Session, statement: TextClause, params: Mapping[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Run a list query (its SQL ends in ``LIMIT :limit``) and return plain dict rows."""
    rows = session.execute(statement, {**params, "limit": require_limit(limit)})
    return [dict(row) for row in rows.mappings()]
