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
    fetch_day_series,
    fetch_list,
    open_at_end_of_each_day,
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


# Open at the end of a day: created by then and not closed by then. Counted as a running sum
# of the openings and closings per UTC day (one pass over the alerts, whatever the window).
_OPEN_BY_DAY = open_at_end_of_each_day(
    """
    SELECT CAST(a.created_at AT TIME ZONE 'UTC' AS date) AS day, 1 AS open_all,
           CAST(a.severity IN ('high', 'critical') AS int) AS open_high
      FROM alerts a
     WHERE a.created_at < CAST(:last_day AS date) + 1
    UNION ALL
    SELECT CAST(a.closed_at AT TIME ZONE 'UTC' AS date), -1,
           -CAST(a.severity IN ('high', 'critical') AS int)
      FROM alerts a
     WHERE a.closed_at < CAST(:last_day AS date) + 1
    """,
    ("open_high", "open_all"),
)


def list_open_alerts_by_day(
    session: Session, *, first_day: date, last_day: date, limit: int = MAX_LIMIT
) -> list[dict[str, Any]]:
    """How many alerts were open at the end of each UTC day: high or critical, and all."""
    return fetch_day_series(session, _OPEN_BY_DAY, first_day, last_day, limit)
