"""Raising alerts: at most one non-closed alert per (type, target), whoever raises it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.audit.log import audit_row, record_audit_rows
from ops_domain.errors import InvalidInput

from .models import ALERT_SEVERITIES


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

    @property
    def dedupe_key(self) -> str:
        return f"{self.alert_type}:{self.target_type}:{self.target_id}"


_INSERT = text(
    """
    INSERT INTO alerts (alert_type, severity, status, title, message, merchant_id, case_id,
                        target_type, target_id, dedupe_key)
    SELECT a.alert_type, a.severity, 'open', a.title, a.message, a.merchant_id, a.case_id,
           a.target_type, a.target_id, a.dedupe_key
      FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS a(
           alert_type text, severity text, title text, message text, merchant_id bigint,
           case_id bigint, target_type text, target_id text, dedupe_key text)
    ON CONFLICT (dedupe_key) WHERE status <> 'closed' DO NOTHING
    RETURNING id, alert_type, severity, target_type, target_id, dedupe_key
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
            "dedupe_key": s.dedupe_key,
        }
        for s in specs
    ]
    opened = [dict(row._mapping) for row in session.execute(_INSERT, {"rows": json.dumps(rows)})]
    record_audit_rows(
        session,
        [
            audit_row(
                actor_id=actor_id,
                action="alert.raise",
                target_type="alert",
                target_id=alert["id"],
                after=alert,
            )
            for alert in opened
        ],
    )
    return opened
