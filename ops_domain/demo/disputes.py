"""Customer-facing work: cases (with and without SLA), refund requests, chargebacks.

Three refunds are pending (two overdue, one fresh); the other refund, case and chargeback
states are there once each so every transition has a starting point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ops_domain.cases.models import Case, CaseAssignment, CaseNote
from ops_domain.demo.cast import (
    CAFE,
    CURRENCY_OF,
    FROZEN,
    GROCER,
    PAYFAIL,
    REFUNDS,
    SUSPENDED,
    TOKO,
)
from ops_domain.demo.plan import DemoPlan
from ops_domain.demo.rows import insert_rows
from ops_domain.disputes.models import Chargeback, RefundRequest


@dataclass(frozen=True)
class DisputeIds:
    """Rows other parts of the story point at (alerts name them as targets)."""

    stuck_chargeback: int
    closed_case: int


# key: (type, priority, status, title, merchant, created (day, hour), SLA (day, hour) or None,
#       teams, creator)
CASES = {
    "C1": (
        "dispute",
        "high",
        "open",
        "Customer disputes a double charge",
        GROCER,
        (-2, 10),
        (0, 8),
        ("risk", "customer_service"),
        "carl",
    ),
    "C2": (
        "refund",
        "medium",
        "escalated",
        "Refund for a cancelled cafe order",
        CAFE,
        (-2, 15),
        (-1, 12),
        ("customer_service", "operation"),
        "carl",
    ),
    "C3": (
        "refund",
        "low",
        "open",
        "Refund for a returned accessory",
        FROZEN,
        (0, 20),
        (3, 12),
        ("customer_service",),
        "carl",
    ),
    "C4": (
        "complaint",
        "medium",
        "in_progress",
        "Traveller never received e-ticket",
        PAYFAIL,
        (-3, 9),
        None,
        ("operation",),
        "carl",
    ),
    "C5": (
        "complaint",
        "low",
        "open",
        "Kiosk receipt printed twice",
        SUSPENDED,
        (0, 23),
        None,
        ("customer_service",),
        "carl",
    ),
    "C6": (
        "incident",
        "critical",
        "escalated",
        "Payout rail timeouts",
        None,
        (-1, 8),
        (-1, 9),
        ("risk", "operation"),
        "oscar",
    ),
    "C7": (
        "complaint",
        "high",
        "resolved",
        "Wrong merchant name on statement",
        GROCER,
        (-6, 11),
        (-5, 11),
        ("customer_service",),
        "carl",
    ),
    "C8": (
        "dispute",
        "medium",
        "closed",
        "Disputed top-up",
        TOKO,
        (-7, 14),
        (-5, 14),
        ("risk",),
        "carl",
    ),
    "C9": (
        "dispute",
        "high",
        "in_progress",
        "Chargeback: goods not received",
        REFUNDS,
        (-1, 10),
        (2, 18),
        ("risk", "customer_service"),
        "carl",
    ),
}

CASE_NOTES = (
    ("C2", "rita", (0, 16), "Refund SLA breached; escalated to operations."),
    ("C6", "oscar", (-1, 8), "Bridge call opened with the payout partner."),
    ("C6", "rita", (-1, 9), "Partner confirms degraded service; escalated."),
    ("C7", "carl", (-5, 10), "Descriptor corrected with the acquirer; resolved."),
    ("C8", "rita", (-5, 13), "Top-up confirmed by the bank; closed."),
)

# key: (case, source event, amount, status, created (day, hour), checker, escalated (day, hour))
REFUNDS_REQUESTED = {
    "R1": ("C1", "GROCER-W1-1", "80.00", "pending", (-2, 10), None, None),
    "R2": ("C2", "CAFE-H2-2", "132.00", "pending", (-2, 15), None, (0, 16)),
    "R3": ("C3", "FROZEN-W0-1", "50.00", "pending", (0, 20), None, None),
    "R4": ("C4", "PAYFAIL-H5-1", "510.00", "approved", (-4, 9), "rita", None),
    "R5": ("C7", "GROCER-H3-1", "200.00", "executed", (-3, 18), "adam", None),
    "R6": ("C7", "GROCER-H3-2", "2215.40", "rejected", (-3, 19), "rita", None),
    "R7": (None, "REFUNDS-H6-1", "220.00", "failed", (-6, 15), "rita", None),
}

# (merchant, reason code, amount, status, due (day, hour), case, last transition day)
CHARGEBACKS = (
    (GROCER, "13.1", "149.99", "open", (9, 18), None, None),
    (PAYFAIL, "10.4", "310.00", "open", (-1, 18), "C4", -12),
    (REFUNDS, "13.1", "88.00", "represented", (6, 18), "C9", -2),
    (FROZEN, "4853", "520.00", "pre_arbitration", (5, 18), None, -3),
    (GROCER, "12.6.1", "45.00", "won", (-2, 18), "C7", -4),
    (CAFE, "13.3", "23.50", "lost", (-3, 18), None, -5),
    (TOKO, "10.4", "350000.00", "closed", (-4, 18), "C8", -5),
)


def insert_disputes(
    session: Session,
    plan: DemoPlan,
    *,
    users: dict[str, int],
    roles: dict[str, int],
    merchants: dict[str, int],
    events: dict[str, tuple[int, int, str]],
    refund_sla_hours: int,
) -> DisputeIds:
    """Cases with their teams and notes, refunds linked to cases, chargebacks."""
    cases = _insert_cases(session, plan, users, roles, merchants)
    _insert_refunds(
        session, plan, users=users, cases=cases, events=events, sla_hours=refund_sla_hours
    )
    chargebacks = insert_rows(
        session,
        Chargeback,
        [
            {
                "case_id": cases[case] if case else None,
                "merchant_id": merchants[merchant],
                "network_reason_code": reason,
                "amount": Decimal(amount),
                "currency": CURRENCY_OF[merchant],
                "due_at": plan.at(*due),
                "status": status,
                "last_transition_at": plan.at(moved, 12) if moved is not None else None,
                "created_at": plan.at(-14, 12),
            }
            for merchant, reason, amount, status, due, case, moved in CHARGEBACKS
        ],
    )
    return DisputeIds(stuck_chargeback=chargebacks[1], closed_case=cases["C7"])


def _insert_cases(
    session: Session,
    plan: DemoPlan,
    users: dict[str, int],
    roles: dict[str, int],
    merchants: dict[str, int],
) -> dict[str, int]:
    rows = []
    for kind, priority, status, title, merchant, created, sla, _, creator in CASES.values():
        rows.append(
            {
                "case_type": kind,
                "priority": priority,
                "status": status,
                "title": title,
                "merchant_id": merchants[merchant] if merchant else None,
                "sla_due_at": plan.at(*sla) if sla else None,
                "created_by": users[creator],
                "created_at": plan.at(*created),
                "updated_at": None if status == "open" else plan.at(*created) + timedelta(hours=1),
            }
        )
    ids = dict(zip(CASES, insert_rows(session, Case, rows), strict=True))
    session.execute(
        insert(CaseAssignment),
        [
            {"case_id": ids[key], "role_id": roles[team], "created_at": plan.at(*spec[5])}
            for key, spec in CASES.items()
            for team in spec[7]
        ],
    )
    insert_rows(
        session,
        CaseNote,
        [
            {
                "case_id": ids[case],
                "author_id": users[author],
                "body": body,
                "created_at": plan.at(*when),
            }
            for case, author, when, body in CASE_NOTES
        ],
    )
    return ids


def _insert_refunds(
    session: Session,
    plan: DemoPlan,
    *,
    users: dict[str, int],
    cases: dict[str, int],
    events: dict[str, tuple[int, int, str]],
    sla_hours: int,
) -> None:
    rows = []
    for n, spec in enumerate(REFUNDS_REQUESTED.values(), start=1):
        case, source, amount, status, created, checker, escalated = spec
        event_id, merchant_id, currency = events[source]
        requested: datetime = plan.at(*created)
        decided = status != "pending"
        rows.append(
            {
                "case_id": cases[case] if case else None,
                "merchant_id": merchant_id,
                "customer_ref": f"CUST-{704100 + n}",
                "source_event_id": event_id,
                "amount": Decimal(amount),
                "currency": currency,
                "reason": "customer dispute",
                "status": status,
                "maker_id": users["carl"],
                "checker_id": users[checker] if checker else None,
                "checker_note": f"{status} after review" if decided else None,
                "sla_due_at": requested + timedelta(hours=sla_hours),
                "escalated_at": plan.at(*escalated) if escalated else None,
                "escalation_reason": "refund SLA breached" if escalated else None,
                "decided_at": requested + timedelta(hours=6) if decided else None,
                "created_at": requested,
            }
        )
    insert_rows(session, RefundRequest, rows)
