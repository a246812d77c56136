"""The refund and chargeback lists operators read to find what to decide (read-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.disputes.models import CHARGEBACK_STATES, REFUND_STATES
from ops_domain.listing import DEFAULT_LIMIT, fetch_list, require_filter

# Overdue is the escalation job's rule: still pending after its SLA due time.
_REFUNDS = text(
    """
    SELECT r.id, r.refund_no, r.case_id, c.case_no, m.code AS merchant_code, r.customer_ref,
           r.amount, r.currency, r.status, maker.username AS maker, checker.username AS checker,
           r.sla_due_at, (r.status = 'pending' AND r.sla_due_at < :now) AS overdue,
           r.escalated_at, r.decided_at, r.created_at
      FROM refund_requests r
      JOIN merchants m ON m.id = r.merchant_id
      JOIN users maker ON maker.id = r.maker_id
      LEFT JOIN users checker ON checker.id = r.checker_id
      LEFT JOIN cases c ON c.id = r.case_id
     WHERE (CAST(:status AS text) IS NULL OR r.status = :status)
       AND (NOT :overdue OR (r.status = 'pending' AND r.sla_due_at < :now))
     ORDER BY CASE WHEN :overdue THEN r.sla_due_at END, r.id DESC
     LIMIT :limit
    """
)

_CHARGEBACKS = text(
    """
    SELECT cb.id, cb.chargeback_no, cb.case_id, c.case_no, m.code AS merchant_code,
           cb.network_reason_code, cb.amount, cb.currency, cb.status, cb.due_at,
           cb.last_transition_at, cb.created_at
      FROM chargebacks cb
      JOIN merchants m ON m.id = cb.merchant_id
      LEFT JOIN cases c ON c.id = cb.case_id
     WHERE (CAST(:status AS text) IS NULL OR cb.status = :status)
     ORDER BY cb.id DESC
     LIMIT :limit
    """
)


def list_refunds(
    session: Session,
    *,
    now: datetime,
    status: str | None = None,
    overdue: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Refund requests, newest first; ``overdue`` keeps pending ones past their SLA at ``now``,
    the most overdue first."""
    params = {
        "status": require_filter(status, REFUND_STATES.states, "status"),
        "overdue": overdue,
        "now": now,
    }
    return fetch_list(session, _REFUNDS, params, limit)


def list_chargebacks(
    session: Session, *, status: str | None = None, limit: int = DEFAULT_LIMIT
) -> list[dict[str, Any]]:
    """Chargebacks, newest first, optionally of one status."""
    params = {"status": require_filter(status, CHARGEBACK_STATES.states, "status")}
    return fetch_list(session, _CHARGEBACKS, params, limit)
