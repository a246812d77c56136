"""The alert list operators read to find what to review or close (read-only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.alerts.models import ALERT_SEVERITIES, ALERT_STATES
from ops_domain.listing import DEFAULT_LIMIT, fetch_list, require_filter

_ALERTS = text(
    """
    SELECT a.id, a.alert_type, a.severity, a.status, a.title, m.code AS merchant_code,
           c.case_no, a.target_type, a.target_id, a.created_at, a.updated_at,
           closer.username AS closed_by, a.closed_at
      FROM alerts a
      LEFT JOIN merchants m ON m.id = a.merchant_id
      LEFT JOIN cases c ON c.id = a.case_id
      LEFT JOIN users closer ON closer.id = a.closed_by
     WHERE (CAST(:status AS text) IS NULL OR a.status = :status)
       AND (CAST(:severity AS text) IS NULL OR a.severity = :severity)
     ORDER BY a.id DESC
     LIMIT :limit
    """
)


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    severity: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Alerts, newest first, optionally of one status and severity."""
    params = {
        "status": require_filter(status, ALERT_STATES.states, "status"),
        "severity": require_filter(severity, ALERT_SEVERITIES, "severity"),
    }
    return fetch_list(session, _ALERTS, params, limit)
