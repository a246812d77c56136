"""The books: a chart of accounts per currency, posted and draft journals, a pending approval,
and accounting periods (previous and current month open: the demo's period-close run closes
the previous month, which has ended).

Entries are created as drafts and posted afterwards, so the database's own posting rules
(balanced, one currency, not in a closed period) vouch for every posted entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from ops_domain.accounting.accounts import STANDARD_CHART
from ops_domain.accounting.models import (
    Account,
    AccountingPeriod,
    JournalApproval,
    JournalEntry,
    JournalLine,
)
from ops_domain.demo.plan import DEMO_CURRENCIES, DemoPlan
from ops_domain.demo.rows import insert_rows

UNIT = {"USD": Decimal(1), "EUR": Decimal(1), "IDR": Decimal(15000)}


@dataclass(frozen=True)
class DemoEntry:
    key: str
    currency: str  # "*": one entry per demo currency, amount scaled to the currency
    dated: str  # "prev_end" | "month_start" | "D"
    description: str
    debit: str  # account codes
    credit: str
    amount: str
    status: str  # what the entry ends as
    approval: tuple[str, str] | None = None  # (kind, status)
    reverses: str | None = None  # key of the entry this one reverses


ENTRIES = (
    DemoEntry(
        "fees",
        "*",
        "prev_end",
        "Fee revenue for the month",
        "1200",
        "4000",
        "1845.60",
        "posted",
        ("post", "approved"),
    ),
    DemoEntry(
        "payouts",
        "*",
        "month_start",
        "Merchant payouts released",
        "2000",
        "1000",
        "12480.00",
        "posted",
        ("post", "approved"),
    ),
    DemoEntry(
        "charges",
        "USD",
        "month_start",
        "Bank charges booked twice",
        "5000",
        "1000",
        "36.00",
        "posted",
        ("post", "approved"),
    ),
    DemoEntry(
        "reversal",
        "USD",
        "month_start",
        "Reversal: bank charges booked twice",
        "1000",
        "5000",
        "36.00",
        "posted",
        ("reversal", "approved"),
        reverses="charges",
    ),
    DemoEntry(
        "accrual",
        "USD",
        "D",
        "Accrued chargeback losses",
        "5100",
        "2100",
        "310.00",
        "draft",
        ("post", "pending"),
    ),
    DemoEntry(
        "reclass", "EUR", "D", "Reclass settlement clearing", "1200", "2000", "41.20", "draft"
    ),
    DemoEntry("voided", "IDR", "D", "Duplicate fee accrual", "1200", "4000", "150000.00", "void"),
)


def insert_ledger(session: Session, plan: DemoPlan, users: dict[str, int]) -> None:
    accounts = _insert_accounts(session)
    _insert_periods(session, plan)
    drafted = _insert_entries(session, plan, users, accounts)
    _finalise(session, plan, users, drafted)


def _insert_accounts(session: Session) -> dict[tuple[str, str], int]:
    keys = [(code, currency) for currency in DEMO_CURRENCIES for code, _, _ in STANDARD_CHART]
    names = {code: (name, kind) for code, name, kind in STANDARD_CHART}
    ids = insert_rows(
        session,
        Account,
        [
            {
                "code": code,
                "name": names[code][0],
                "account_type": names[code][1],
                "currency": currency,
            }
            for code, currency in keys
        ],
    )
    return dict(zip(keys, ids, strict=True))


def _insert_periods(session: Session, plan: DemoPlan) -> None:
    previous_start, previous_end = plan.previous_month
    insert_rows(
        session,
        AccountingPeriod,
        [
            {
                "currency": currency,
                "period_start": start,
                "period_end": end,
                "created_at": datetime.combine(start, time(0, 5), tzinfo=UTC),
            }
            for currency in DEMO_CURRENCIES
            for start, end in ((previous_start, previous_end), (plan.month_start, plan.month_end))
        ],
    )


def _entry_date(plan: DemoPlan, dated: str) -> date:
    return {
        "prev_end": plan.previous_month[1],
        "month_start": plan.month_start,
        "D": plan.business_date,
    }[dated]


def _made_at(plan: DemoPlan, dated: str) -> datetime:
    return datetime.combine(_entry_date(plan, dated), time(9), tzinfo=UTC)


Drafted = tuple[DemoEntry, str, int]  # entry spec, currency, entry id


def _insert_entries(
    session: Session,
    plan: DemoPlan,
    users: dict[str, int],
    accounts: dict[tuple[str, str], int],
) -> list[Drafted]:
    """Draft every entry with its two lines; a reversal names its original at creation
    (the header is immutable afterwards)."""
    drafted: list[Drafted] = []
    ids: dict[tuple[str, str], int] = {}
    for spec in ENTRIES:
        for currency in DEMO_CURRENCIES if spec.currency == "*" else (spec.currency,):
            entry_id = insert_rows(
                session,
                JournalEntry,
                [
                    {
                        "entry_date": _entry_date(plan, spec.dated),
                        "currency": currency,
                        "description": spec.description,
                        "maker_id": users["alice"],
                        "reversal_of": ids[(spec.reverses, currency)] if spec.reverses else None,
                        "created_at": _made_at(plan, spec.dated),
                    }
                ],
            )[0]
            ids[(spec.key, currency)] = entry_id
            drafted.append((spec, currency, entry_id))
    lines = []
    for spec, currency, entry_id in drafted:
        amount = Decimal(spec.amount) * (UNIT[currency] if spec.currency == "*" else 1)
        lines += [
            {
                "entry_id": entry_id,
                "account_id": accounts[(spec.debit, currency)],
                "debit": amount,
                "credit": None,
                "memo": spec.description,
            },
            {
                "entry_id": entry_id,
                "account_id": accounts[(spec.credit, currency)],
                "debit": None,
                "credit": amount,
                "memo": spec.description,
            },
        ]
    session.execute(insert(JournalLine), lines)
    return drafted


def _finalise(
    session: Session, plan: DemoPlan, users: dict[str, int], drafted: list[Drafted]
) -> None:
    """Approvals as requested; then post or void each entry as its spec says."""
    approvals = []
    for spec, _, entry_id in drafted:
        if spec.approval is None:
            continue
        kind, status = spec.approval
        requested = _made_at(plan, spec.dated) + timedelta(minutes=5)
        decided = status != "pending"
        approvals.append(
            {
                "entry_id": entry_id,
                "kind": kind,
                "status": status,
                "requested_by": users["alice"],
                "requested_at": requested,
                "decided_by": users["rita"] if decided else None,
                "note": "checked against the bank statement" if decided else None,
                "decided_at": requested + timedelta(hours=2) if decided else None,
            }
        )
    insert_rows(session, JournalApproval, approvals)
    for spec, _, entry_id in drafted:
        if spec.status == "posted":
            session.execute(
                text(
                    "UPDATE journal_entries SET status = 'posted', posted_by = :by,"
                    " posted_at = :at WHERE id = :id"
                ),
                {
                    "by": users["rita"],
                    "at": _made_at(plan, spec.dated) + timedelta(hours=2),
                    "id": entry_id,
                },
            )
        elif spec.status == "void":
            session.execute(
                text(
                    "UPDATE journal_entries SET status = 'void', void_note = :note WHERE id = :id"
                ),
                {"note": "duplicate of an earlier accrual", "id": entry_id},
            )
