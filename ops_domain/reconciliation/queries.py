"""The reconciliation-break list operators read to find what to resolve (read-only)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.listing import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    fetch_day_series,
    fetch_list,
    open_at_end_of_each_day,
    require_filter,
)
from ops_domain.reconciliation.models import BREAK_STATES

# The pending resolution (id, maker) is what `recon-breaks approve|reject` needs.
_BREAKS = text(
    """
    SELECT b.id, b.break_no, r.run_no, b.category, b.status, b.currency,
           m.code AS merchant_code, b.business_date, b.difference,
           res.id AS resolution_id, maker.username AS resolution_maker, b.created_at
      FROM reconciliation_breaks b
      JOIN reconciliation_runs r ON r.id = b.run_id
      LEFT JOIN merchants m ON m.id = b.merchant_id
      LEFT JOIN LATERAL (SELECT x.id, x.maker_id FROM reconciliation_break_resolutions x
                          WHERE x.break_id = b.id AND x.status = 'pending'
                          ORDER BY x.id LIMIT 1) res ON true
      LEFT JOIN users maker ON maker.id = res.maker_id
     WHERE (CAST(:status AS text) IS NULL OR b.status = :status)
     ORDER BY b.id DESC
     LIMIT :limit
    """
)


def list_breaks(
    session: Session, *, status: str | None = None, limit: int = DEFAULT_LIMIT
) -> list[dict[str, Any]]:
    """Reconciliation breaks, newest first, with their pending resolution if any."""
    params = {"status": require_filter(status, BREAK_STATES.states, "status")}
    return fetch_list(session, _BREAKS, params, limit)


# A break is open at the end of a day from its creation until it is resolved (``updated_at``
# of a resolved break is its resolution: resolved is final). Counted as a running sum of the
# openings and resolutions per UTC day (one pass over the breaks, whatever the window).
_OPEN_BY_DAY = open_at_end_of_each_day(
    """
    SELECT CAST(b.created_at AT TIME ZONE 'UTC' AS date) AS day, 1 AS open_breaks
      FROM reconciliation_breaks b
     WHERE b.created_at < CAST(:last_day AS date) + 1
    UNION ALL
    SELECT CAST(b.updated_at AT TIME ZONE 'UTC' AS date), -1
      FROM reconciliation_breaks b
     WHERE b.status = 'resolved' AND b.updated_at < CAST(:last_day AS date) + 1
    """,
    ("open_breaks",),
)


def list_open_breaks_by_day(
    session: Session, *, first_day: date, last_day: date, limit: int = MAX_LIMIT
) -> list[dict[str, Any]]:
    """How many reconciliation breaks were open (or in review) at the end of each UTC day."""
    return fetch_day_series(session, _OPEN_BY_DAY, first_day, last_day, limit)
