"""The audit writer: one append-only row per state change, refusal or job run.

From Python, ``record_audit`` (one row) and ``audit_row`` / ``record_audit_rows`` (many); in a
set-based statement, ``insert_audit_rows`` writes the rows of every changed record in the same
statement as the change, from an ``AuditRows`` per action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from ops_domain.audit.models import AuditLog
from ops_domain.db import transaction
from ops_domain.jsonable import jsonable


def audit_row(
    *,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: object,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "actor_id": actor_id,
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id),
        "before": jsonable(before) if before is not None else None,
        "after": jsonable(after) if after is not None else None,
        "details": jsonable(details or {}),
    }


def record_audit(session: Session, **fields: Any) -> None:
    """Write one audit row in the caller's transaction (so it commits with the change)."""
    session.execute(insert(AuditLog), [audit_row(**fields)])


def record_audit_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write many audit rows built with ``audit_row`` in one statement."""
    if rows:
        session.execute(insert(AuditLog), rows)


def record_refusal(engine: Engine, **fields: Any) -> None:
    """Record a refused action in its own transaction: the refused change itself rolls back,
    but the refusal is evidence (the rollback watch counts refusals)."""
    with transaction(engine) as session:
        record_audit(session, **fields)


@dataclass(frozen=True)
class AuditRows:
    """The audit rows of one action over a set of changed records: one row per row of
    ``source`` (a FROM clause, e.g. ``moved m``); the other fields are SQL expressions over it
    (``before``, ``after`` and ``details`` build jsonb)."""

    action: str  # SQL: a name from ops_domain.audit.actions through in_sql, or a choice of them
    target_type: str
    source: str
    target_id: str
    before: str = "NULL::jsonb"
    after: str = "NULL::jsonb"
    details: str = "'{}'::jsonb"
    actor_id: str = ":actor_id"
    # The time of the change. The database stamps its own time on the rows of a writer that
    # does not own the table (migration 0008), so a record's own stamp (history written by
    # the demo seed) is kept only for the owner.
    created_at: str = "now()"
    where: str = "true"
    order_by: str | None = None

    def select(self, *extra: str) -> str:
        order = f" ORDER BY {self.order_by}" if self.order_by else ""
        return (
            f"SELECT {self.action}, {self.actor_id}, {_type_in_sql(self.target_type)},"
            f" CAST({self.target_id} AS text), {self.before}, {self.after}, {self.details},"
            f" {', '.join((self.created_at, *extra))} FROM {self.source} WHERE {self.where}{order}"
        )


_COLUMNS = "action, actor_id, target_type, target_id, before, after, details, created_at"


def insert_audit_rows(*sets: AuditRows) -> str:
    """``INSERT INTO audit_log ... SELECT`` for each set (joined by ``UNION ALL``): the one
    place SQL names the audit log's columns for a writer."""
    selects = [rows.select() for rows in sets]
    body = selects[0] if len(selects) == 1 else " UNION ALL ".join(f"({s})" for s in selects)
    return f"INSERT INTO audit_log ({_COLUMNS}) {body}"


def insert_audit_history(*sets: AuditRows) -> str:
    """``insert_audit_rows`` for changes made in the past (``created_at`` the record's own
    stamp): the rows go in the order they happened, so that their ids follow history: by time,
    then record, then the order of ``sets`` (list a record's changes in the order they happen:
    that orders those made at the same instant)."""
    numbered = " UNION ALL ".join(f"({rows.select(str(n))})" for n, rows in enumerate(sets))
    return (
        f"INSERT INTO audit_log ({_COLUMNS}) SELECT {_COLUMNS} FROM ({numbered})"
        f" AS history ({_COLUMNS}, set_no) ORDER BY created_at, target_type, target_id, set_no"
    )


def _type_in_sql(word: str) -> str:
    """A target type as a SQL literal (lower-case words only)."""
    if not word.replace("_", "").isalpha() or not word.islower():
        raise ValueError(f"not a target type: {word!r}")
    return f"'{word}'"
