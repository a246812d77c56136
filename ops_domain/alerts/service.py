"""Raising alerts: at most one non-closed alert per (type, target), whoever raises it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import ALERT_RAISE, ALERT_UPDATE, in_sql
from ops_domain.audit.log import AuditRows, insert_audit_rows, record_audit
from ops_domain.db import lock_row, transaction, update_row
from ops_domain.errors import InvalidInput
from ops_domain.rbac.actors import require_actor
from ops_domain.rbac.names import name_actors

from .models import ALERT_SEVERITIES, ALERT_STATES, Alert


@dataclass(frozen=True)
class AlertSpec:
    alert_type: str
    severity: str
    target_type: str
    target_id: str
    title: str
    message: str = ""
    merchant_id: int | None = None
    case_id: int | None = None


def raised_alerts_cte(source: str) -> str:
    """``raised``: an open alert per row of ``source`` (``alert_type``, ``severity``,
    ``title``, ``message``, ``merchant_id``, ``case_id``, ``target_type``, ``target_id``,
    ``position``) unless a non-closed one of the same type and target exists; inserted in
    ``position`` order. The partial unique index makes this safe when two runs raise the same
    alert at once (the loser's row is skipped, not failed)."""
    return f"""
    raised AS (
        INSERT INTO alerts (alert_type, severity, status, title, message, merchant_id, case_id,
                            target_type, target_id, dedupe_key)
        SELECT a.alert_type, a.severity, 'open', a.title, a.message, a.merchant_id, a.case_id,
               a.target_type, a.target_id,
               a.alert_type || ':' || a.target_type || ':' || a.target_id
          FROM ({source}) a
         ORDER BY a.position
        ON CONFLICT (dedupe_key) WHERE status <> 'closed' DO NOTHING
        RETURNING id, alert_type, severity, target_type, target_id, dedupe_key
    )
    """


# The ``alert.raise`` audit rows of ``raised``.
ALERT_RAISE_ROWS = AuditRows(
    in_sql(ALERT_RAISE),
    "alert",
    source="raised r",
    target_id="r.id",
    after="to_jsonb(r)",
    order_by="r.id",
)

_RAISE = text(
    f"""
    WITH {
        raised_alerts_cte(
            "SELECT * FROM ROWS FROM (jsonb_to_recordset(CAST(:rows AS jsonb)) AS ("
            " alert_type text, severity text, title text, message text, merchant_id bigint,"
            " case_id bigint, target_type text, target_id text)) WITH ORDINALITY AS a("
            " alert_type, severity, title, message, merchant_id, case_id, target_type,"
            " target_id, position)"
        )
    },
    audited AS ({insert_audit_rows(ALERT_RAISE_ROWS)})
    SELECT * FROM raised ORDER BY id
    """
)


def raise_alerts(
    session: Session, specs: list[AlertSpec], *, actor_id: int
) -> list[dict[str, Any]]:
    """Open an alert for each spec unless a non-closed one with its dedupe key exists.

    Returns the alerts actually opened; the partial unique index makes this safe when two
    runs raise the same alert at once (the loser's insert is skipped, not failed).
    """
    if not specs:
        return []
    bad = sorted({spec.severity for spec in specs} - set(ALERT_SEVERITIES))
    if bad:
        raise InvalidInput(f"unknown alert severity {', '.join(bad)}")
    rows = [
        {
            "alert_type": s.alert_type,
            "severity": s.severity,
            "title": s.title,
            "message": s.message,
            "merchant_id": s.merchant_id,
            "case_id": s.case_id,
            "target_type": s.target_type,
            "target_id": str(s.target_id),
        }
        for s in specs
    ]
    return [
        dict(row)
        for row in session.execute(
            _RAISE, {"rows": json.dumps(rows), "actor_id": actor_id}
        ).mappings()
    ]


def update_alert(
    engine: Engine,
    *,
    alert_id: int,
    to_status: str,
    actor_username: str,
    note: str | None = None,
) -> dict[str, Any]:
    """Move an alert along ALERT_STATES (closing needs a note and stamps who closed it and
    when); once closed, the same (type, target) may be raised again as a new alert."""
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, "alerts.manage", "alerts update")
        current = lock_row(session, Alert, alert_id, "alert")
        ALERT_STATES.check(current["status"], to_status, note)
        closing = {"closed_by": actor.id, "closed_at": func.now()} if to_status == "closed" else {}
        moved = update_row(
            session, Alert, alert_id, status=to_status, updated_at=func.now(), **closing
        )
        record_audit(
            session,
            actor_id=actor.id,
            action=ALERT_UPDATE,
            target_type="alert",
            target_id=alert_id,
            before={"status": current["status"]},
            after={"status": to_status, "closed_at": moved["closed_at"]},
            details={"note": note},
        )
        return name_actors(session, moved)
