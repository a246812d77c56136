"""The audit writer: one append-only row per state change, refusal or job run."""

from __future__ import annotations

from collections.abc import Mapping
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
