"""What the control room watches: alerts, reconciliation breaks, settlement exceptions and
payout freezes. Open counts are kept to two or three per readiness counter."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.alerts.models import Alert
from ops_domain.demo.cast import CAFE, FROZEN, GROCER, PAYFAIL, REFUNDS
from ops_domain.demo.plan import DemoPlan
from ops_domain.demo.rows import insert_rows
from ops_domain.payouts.models import PayoutFreeze
from ops_domain.reconciliation.models import (
    BreakResolution,
    ReconciliationBreak,
    ReconciliationRun,
)
from ops_domain.settlements.models import SettlementException

_SETTLED_TOTALS = text(
    """
    SELECT coalesce(sum(net_amount), 0), coalesce(sum(event_count), 0)
      FROM settlements WHERE currency = :currency AND period_start = :day AND period_end = :day
    """
)
_SETTLEMENT_AND_PAYOUT = text(
    """
    SELECT s.id, p.id FROM settlements AS s LEFT JOIN payouts AS p ON p.settlement_id = s.id
     WHERE s.merchant_id = :merchant AND s.period_start = :day AND s.sequence = 1
    """
)

# run key: (currency, day offset, external minus internal total, external minus internal count)
RUNS = {
    "USD-2": ("USD", -2, "-225.00", -1),
    "EUR-2": ("EUR", -2, "41.20", 1),
    "USD-5": ("USD", -5, "0.00", 0),
}
# (run, category, status, merchant, difference, note)
BREAKS = (
    ("USD-2", "amount_mismatch", "open", GROCER, "150.00", "statement shows 150.00 less"),
    ("EUR-2", "timing_cutoff", "open", CAFE, "41.20", "sale at 23:58 settled next day"),
    ("USD-2", "missing_external", "in_review", PAYFAIL, "75.00", "refund missing on statement"),
    ("USD-5", "duplicate", "resolved", GROCER, "18.40", "statement line duplicated"),
)


def insert_oversight(
    session: Session,
    plan: DemoPlan,
    *,
    users: dict[str, int],
    merchants: dict[str, int],
    stuck_chargeback: int,
    closed_case: int,
) -> None:
    failed_settlement, failed_payout = _settlement_and_payout(session, plan, merchants[PAYFAIL], -2)
    negative_settlement, _ = _settlement_and_payout(session, plan, merchants[REFUNDS], -3)
    _, repaid_payout = _settlement_and_payout(session, plan, merchants[GROCER], -3)
    _insert_reconciliation(session, plan, users, merchants)
    insert_rows(
        session,
        SettlementException,
        [
            {
                "settlement_id": failed_settlement,
                "payout_id": failed_payout,
                "reason_code": "payout_failed",
                "severity": "medium",
                "status": "open",
                "created_at": plan.at(-1, 16, 10),
            },
            {
                "settlement_id": negative_settlement,
                "payout_id": None,
                "reason_code": "negative_net",
                "severity": "medium",
                "status": "resolved",
                "note": "merchant topped up the shortfall",
                "created_at": plan.at(-2, 2, 5),
                "updated_at": plan.at(-2, 11),
            },
        ],
    )
    insert_rows(
        session,
        PayoutFreeze,
        [
            {
                "scope": "merchant",
                "merchant_id": merchants[FROZEN],
                "set_by": users["rita"],
                "reason": "KYC review: beneficiary name mismatch",
                "set_at": plan.at(-2, 14),
            },
            {
                "scope": "global",
                "merchant_id": None,
                "set_by": users["oscar"],
                "reason": "bank holiday cut-over",
                "set_at": plan.at(-20, 8),
                "lifted_by": users["adam"],
                "lifted_at": plan.at(-20, 10),
                "lift_note": "cut-over completed",
            },
        ],
    )
    alerts = (
        ("payout_failed", "high", "open", "payout", failed_payout, PAYFAIL, (-1, 16)),
        ("reconciliation_break_spike", "critical", "open", "currency", "USD", None, (-1, 6)),
        (
            "chargeback_overdue",
            "high",
            "in_review",
            "chargeback",
            stuck_chargeback,
            PAYFAIL,
            (0, 18),
        ),
        ("merchant_velocity", "medium", "open", "merchant", merchants[GROCER], GROCER, (0, 19)),
        ("payout_failed", "high", "closed", "payout", repaid_payout, GROCER, (-2, 9)),
        ("case_sla_breach", "critical", "closed", "case", closed_case, GROCER, (-5, 12)),
    )
    rows = []
    for kind, severity, status, target_type, target, merchant, raised in alerts:
        closed = status == "closed"
        rows.append(
            {
                "alert_type": kind,
                "severity": severity,
                "status": status,
                "title": f"{kind.replace('_', ' ')}: {target_type} {target}",
                "merchant_id": merchants[merchant] if merchant else None,
                "case_id": closed_case if target_type == "case" else None,
                "target_type": target_type,
                "target_id": str(target),
                "dedupe_key": f"{kind}:{target_type}:{target}",
                "created_at": plan.at(*raised),
                "updated_at": plan.at(*raised) + timedelta(hours=1) if status != "open" else None,
                "closed_by": users["rita"] if closed else None,
                "closed_at": plan.at(*raised) + timedelta(hours=1) if closed else None,
            }
        )
    insert_rows(session, Alert, rows)


def _settlement_and_payout(
    session: Session, plan: DemoPlan, merchant_id: int, offset: int
) -> tuple[int, int | None]:
    settlement, payout = session.execute(
        _SETTLEMENT_AND_PAYOUT, {"merchant": merchant_id, "day": plan.day(offset)}
    ).one()
    return settlement, payout


def _insert_reconciliation(
    session: Session, plan: DemoPlan, users: dict[str, int], merchants: dict[str, int]
) -> None:
    run_rows = []
    for currency, offset, amount_gap, count_gap in RUNS.values():
        day = plan.day(offset)
        internal, count = session.execute(_SETTLED_TOTALS, {"currency": currency, "day": day}).one()
        run_rows.append(
            {
                "currency": currency,
                "window_start": day,
                "window_end": day,
                "internal_total": internal,
                "external_total": internal + Decimal(amount_gap),
                "internal_count": count,
                "external_count": count + count_gap,
                "statement_source": f"acquirer-statement-{currency}-{day.isoformat()}.csv",
                "created_by": users["oscar"],
                "created_at": plan.at(offset + 1, 6),
            }
        )
    runs = dict(zip(RUNS, insert_rows(session, ReconciliationRun, run_rows), strict=True))
    break_rows = []
    for run, category, status, merchant, difference, note in BREAKS:
        currency, offset, _, _ = RUNS[run]
        created = plan.at(offset + 1, 6)
        break_rows.append(
            {
                "run_id": runs[run],
                "category": category,
                "status": status,
                "currency": currency,
                "merchant_id": merchants[merchant],
                "business_date": plan.day(offset),
                "difference": Decimal(difference),
                "details": {"note": note},
                "created_at": created,
                "updated_at": created + timedelta(hours=5) if status != "open" else None,
            }
        )
    breaks = insert_rows(session, ReconciliationBreak, break_rows)
    in_review, resolved = breaks[2], breaks[3]
    insert_rows(
        session,
        BreakResolution,
        [
            {
                "break_id": in_review,
                "status": "pending",
                "maker_id": users["oscar"],
                "resolution_note": "refund booked after the statement cut-off",
                "created_at": plan.at(-1, 11),
            },
            {
                "break_id": resolved,
                "status": "approved",
                "maker_id": users["oscar"],
                "resolution_note": "duplicate statement line, confirmed by the acquirer",
                "checker_id": users["rita"],
                "checker_note": "confirmed with acquirer ticket",
                "created_at": plan.at(-4, 10),
                "decided_at": plan.at(-4, 14),
            },
        ],
    )
