"""The settlements list operators read to find what to approve or pay (read-only)."""

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
    require_filter,
)
from ops_domain.settlements.models import SETTLEMENT_STATES

_SETTLEMENTS = text(
    """
    SELECT s.id, s.settlement_no, m.code AS merchant_code, s.currency, s.period_start,
           s.period_end, s.sequence, s.gross_amount, s.fee_amount, s.net_amount, s.event_count,
           s.status, s.approval_source, maker.username AS maker, approver.username AS approved_by,
           s.posted_at, s.paid_at, s.created_at
      FROM settlements s
      JOIN merchants m ON m.id = s.merchant_id
      JOIN users maker ON maker.id = s.maker_id
      LEFT JOIN users approver ON approver.id = s.approver_id
     WHERE (CAST(:status AS text) IS NULL OR s.status = :status)
       AND (CAST(:merchant_code AS text) IS NULL OR m.code = :merchant_code)
       AND (CAST(:currency AS text) IS NULL OR s.currency = :currency)
     ORDER BY s.id DESC
     LIMIT :limit
    """
)


def list_settlements(
    session: Session,
    *,
    status: str | None = None,
    merchant_code: str | None = None,
    currency: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Settlements, newest first, optionally of one status, merchant and currency."""
    params = {
        "status": require_filter(status, SETTLEMENT_STATES.states, "status"),
        "merchant_code": merchant_code,
        "currency": currency,
    }
    return fetch_list(session, _SETTLEMENTS, params, limit)


# A settlement's volume belongs to the last business day of its window.
_SETTLED_BY_DAY = text(
    """
    SELECT s.period_end AS day, s.currency, count(*) AS settlements,
           sum(s.event_count) AS events, sum(s.gross_amount) AS gross_amount,
           sum(s.net_amount) AS net_amount
      FROM settlements s
     WHERE s.period_end BETWEEN :first_day AND :last_day
     GROUP BY s.period_end, s.currency
     ORDER BY s.period_end, s.currency
     LIMIT :limit
    """
)


def list_settled_by_day(
    session: Session, *, first_day: date, last_day: date, limit: int = MAX_LIMIT
) -> list[dict[str, Any]]:
    """Settled volume per business day and currency (settlements, events, gross, net)."""
    return fetch_day_series(session, _SETTLED_BY_DAY, first_day, last_day, limit)
