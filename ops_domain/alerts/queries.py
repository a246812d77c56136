"""The alert list operators read to find what to review or close (read-only)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.alerts.models import ALERT_SEVERITIES, ALERT_STATES
from ops_domain.listing import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    fetch_list,
    require_day_window,
    require_filter,
)

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


_OPEN_BY_DAY = text(
    """
    SELECT CAST(d.day AS date) AS day,
           count(a.id) FILTER (WHERE a.severity IN ('high', 'critical')) AS open_high,
           count(a.id) AS open_all
      FROM generate_series(CAST(:first_day AS date), CAST(:last_day AS date),
                           interval '1 day') AS d(day)
      LEFT JOIN alerts a
        ON a.created_at < d.day + interval '1 day'
       AND (a.closed_at IS NULL OR a.closed_at >= d.day + interval '1 day')
     GROUP BY d.day
     ORDER BY d.day
     LIMIT :limit
    """
)


def list_open_alerts_by_day(
    session: Session, *, first_day: date, last_day: date, limit: int = MAX_LIMIT
) -> list[dict[str, Any]]:
    """How many alerts were open at the end of each UTC day: high or critical, and all."""
    first_day, last_day = require_day_window(first_day, last_day)
    return fetch_list(session, _OPEN_BY_DAY, {"first_day": first_day, "last_day": last_day}, limit)
