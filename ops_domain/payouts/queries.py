"""The payout and payout-freeze lists operators read to find what to send or lift (read-only)."""

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
from ops_domain.payouts.models import PAYOUT_STATES

_PAYOUTS = text(
    """
    SELECT p.id, p.payout_reference, s.id AS settlement_id, s.settlement_no,
           m.code AS merchant_code, p.amount, p.currency, p.channel, p.status, p.attempt,
           maker.username AS maker, checker.username AS last_checker, p.failure_reason,
           p.sent_at, p.settled_at, p.failed_at, p.created_at
      FROM payouts p
      JOIN settlements s ON s.id = p.settlement_id
      JOIN merchants m ON m.id = p.merchant_id
      JOIN users maker ON maker.id = p.maker_id
      LEFT JOIN users checker ON checker.id = p.last_checker_id
     WHERE (CAST(:status AS text) IS NULL OR p.status = :status)
     ORDER BY p.id DESC
     LIMIT :limit
    """
)

_FREEZES = text(
    """
    SELECT f.id, f.scope, m.code AS merchant_code, f.reason, setter.username AS set_by, f.set_at,
           lifter.username AS lifted_by, f.lifted_at, f.lift_note, f.lifted_at IS NULL AS active
      FROM payout_freezes f
      JOIN users setter ON setter.id = f.set_by
      LEFT JOIN users lifter ON lifter.id = f.lifted_by
      LEFT JOIN merchants m ON m.id = f.merchant_id
     WHERE (CAST(:active AS boolean) IS NULL OR (f.lifted_at IS NULL) = :active)
     ORDER BY f.id DESC
     LIMIT :limit
    """
)


def list_payouts(
    session: Session, *, status: str | None = None, limit: int = DEFAULT_LIMIT
) -> list[dict[str, Any]]:
    """Payouts, newest first, optionally of one status, with their settlement."""
    params = {"status": require_filter(status, PAYOUT_STATES.states, "status")}
    return fetch_list(session, _PAYOUTS, params, limit)


def list_freezes(
    session: Session, *, active: bool | None = None, limit: int = DEFAULT_LIMIT
) -> list[dict[str, Any]]:
    """Payout freezes, newest first; ``active=True`` keeps those not lifted yet."""
    return fetch_list(session, _FREEZES, {"active": active}, limit)


_TOTALS = text(
    """
    SELECT status, currency, count(*) AS payouts, sum(amount) AS amount
      FROM payouts
     GROUP BY status, currency
     ORDER BY status, currency
     LIMIT :limit
    """
)


def list_payout_totals(session: Session, *, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """How many payouts, and how much, in each status and currency."""
    return fetch_list(session, _TOTALS, {}, limit)


_PAYOUTS_BY_DAY = text(
    """
    SELECT CAST(p.created_at AT TIME ZONE 'UTC' AS date) AS day, p.status, p.currency,
           count(*) AS payouts, sum(p.amount) AS amount
      FROM payouts p
     WHERE p.created_at >= CAST(:first_day AS date)
       AND p.created_at < CAST(:last_day AS date) + 1
     GROUP BY 1, p.status, p.currency
     ORDER BY 1, p.status, p.currency
     LIMIT :limit
    """
)


def list_payouts_by_day(
    session: Session, *, first_day: date, last_day: date, limit: int = MAX_LIMIT
) -> list[dict[str, Any]]:
    """Payouts created per UTC day, by their status now and currency."""
    return fetch_day_series(session, _PAYOUTS_BY_DAY, first_day, last_day, limit)
