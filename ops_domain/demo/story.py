"""The story merchants' own events and payout outcomes: small, fixed figures the demo walks
through (a settlement over the auto-post limit, a negative net, a failed payout, a late event).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from ops_domain.demo.cast import (
    CAFE,
    CURRENCY_OF,
    FROZEN,
    GROCER,
    INACTIVE,
    PAYFAIL,
    REFUNDS,
    SUSPENDED,
    TOKO,
)
from ops_domain.demo.plan import DemoPlan
from ops_domain.demo.rows import insert_rows
from ops_domain.merchants.models import CashflowEvent


@dataclass(frozen=True)
class StoryEvent:
    ref: str
    merchant: str
    day: int  # offset from the business date
    at: str  # HH:MM UTC
    direction: str
    amount: str
    fee: str = "0.00"
    flow_type: str = "c2b"
    late: bool = False  # arrives after its day was settled


def _sale(ref: str, merchant: str, when: tuple[int, str], amount: str, fee: str) -> StoryEvent:
    return StoryEvent(ref, merchant, *when, "credit", amount, fee)


def _refund(ref: str, merchant: str, when: tuple[int, str], amount: str) -> StoryEvent:
    return StoryEvent(ref, merchant, *when, "debit", amount, flow_type="b2c")


STORY_EVENTS = (
    # Sentosa Grocers: settled history, then a window over the 10,000.00 auto-post limit.
    _sale("GROCER-H3-1", GROCER, (-3, "10:15"), "1480.00", "28.12"),
    _sale("GROCER-H3-2", GROCER, (-3, "13:40"), "2215.40", "42.09"),
    _refund("GROCER-H3-3", GROCER, (-3, "17:05"), "64.00"),
    _sale("GROCER-W1-1", GROCER, (-1, "09:20"), "640.00", "12.16"),
    _sale("GROCER-W1-2", GROCER, (-1, "14:55"), "415.75", "7.90"),
    _refund("GROCER-W1-3", GROCER, (-1, "18:30"), "120.00"),
    _sale("GROCER-W0-1", GROCER, (0, "08:05"), "3250.00", "61.75"),
    _sale("GROCER-W0-2", GROCER, (0, "11:45"), "2980.50", "56.63"),
    _sale("GROCER-W0-3", GROCER, (0, "15:10"), "4120.00", "78.28"),
    _sale("GROCER-W0-4", GROCER, (0, "19:25"), "1875.25", "35.63"),
    # Harbor Electronics: payouts frozen, so its window settlement's payout is held.
    _sale("FROZEN-H4-1", FROZEN, (-4, "12:00"), "380.00", "7.22"),
    _sale("FROZEN-W1-1", FROZEN, (-1, "10:30"), "420.00", "7.98"),
    _sale("FROZEN-W1-2", FROZEN, (-1, "16:45"), "310.00", "5.89"),
    _sale("FROZEN-W0-1", FROZEN, (0, "13:15"), "275.50", "5.23"),
    # Lumen Travel: the payout of its D-2 settlement failed and must be resubmitted.
    _sale("PAYFAIL-H5-1", PAYFAIL, (-5, "11:00"), "510.00", "9.69"),
    _sale("PAYFAIL-H2-1", PAYFAIL, (-2, "09:40"), "1200.00", "22.80"),
    _sale("PAYFAIL-H2-2", PAYFAIL, (-2, "15:20"), "850.00", "16.15"),
    _refund("PAYFAIL-H2-3", PAYFAIL, (-2, "20:10"), "75.00"),
    _sale("PAYFAIL-W0-1", PAYFAIL, (0, "10:05"), "300.00", "5.70"),
    # Quickpay Kiosk is suspended: its unsettled events are skipped by the settlement job.
    _sale("SUSPENDED-W0-1", SUSPENDED, (0, "09:00"), "95.00", "1.81"),
    _sale("SUSPENDED-W0-2", SUSPENDED, (0, "17:30"), "60.00", "1.14"),
    # Atelier Nord: refunds exceed sales, in history (D-3) and again in the window.
    _sale("REFUNDS-H6-1", REFUNDS, (-6, "12:30"), "220.00", "4.18"),
    _sale("REFUNDS-H3-1", REFUNDS, (-3, "10:00"), "40.00", "0.76"),
    _refund("REFUNDS-H3-2", REFUNDS, (-3, "16:00"), "95.00"),
    _sale("REFUNDS-W1-1", REFUNDS, (-1, "11:10"), "180.00", "3.42"),
    _refund("REFUNDS-W0-1", REFUNDS, (0, "09:45"), "260.00"),
    _refund("REFUNDS-W0-2", REFUNDS, (0, "14:20"), "145.50"),
    _sale("REFUNDS-W0-3", REFUNDS, (0, "18:00"), "90.00", "1.71"),
    # Cafe Lumiere: payout of D-2 in flight; one D-2 sale arrived after D-2 was settled.
    _sale("CAFE-H2-1", CAFE, (-2, "08:30"), "86.40", "1.64"),
    _sale("CAFE-H2-2", CAFE, (-2, "12:10"), "132.00", "2.51"),
    StoryEvent("CAFE-H2-LATE", CAFE, -2, "23:58", "credit", "42.00", "0.80", late=True),
    _sale("CAFE-W1-1", CAFE, (-1, "09:05"), "64.20", "1.22"),
    _sale("CAFE-W0-1", CAFE, (0, "12:40"), "118.90", "2.26"),
    # Old Town Books is inactive: skipped like the suspended merchant.
    _sale("INACTIVE-W1-1", INACTIVE, (-1, "15:00"), "55.00", "1.05"),
    # Toko Makmur: rupiah amounts, so every settlement is above the (currency-blind) limit.
    _sale("TOKO-H7-1", TOKO, (-7, "10:00"), "530000.00", "10070.00"),
    _sale("TOKO-H2-1", TOKO, (-2, "09:15"), "1250000.00", "23750.00"),
    _sale("TOKO-H2-2", TOKO, (-2, "16:50"), "845000.00", "16055.00"),
    _sale("TOKO-W0-1", TOKO, (0, "10:20"), "2400000.00", "45600.00"),
    _sale("TOKO-W0-2", TOKO, (0, "19:35"), "615000.00", "11685.00"),
)

# (merchant, day offset, payout status) of history payouts that are not settled yet.
PAYOUT_OUTCOMES = ((PAYFAIL, -2, "failed"), (CAFE, -2, "sent"), (TOKO, -2, "pending"))


def payout_outcomes(plan: DemoPlan) -> list[dict[str, object]]:
    return [
        {"code": code, "day": plan.day(offset), "status": status}
        for code, offset, status in PAYOUT_OUTCOMES
    ]


def insert_story_events(
    session: Session, plan: DemoPlan, merchants: dict[str, int], *, late: bool
) -> dict[str, tuple[int, int, str]]:
    """Insert the on-time story events (``late=False``) or the late ones;
    ref -> (event id, merchant id, currency)."""
    chosen = [event for event in STORY_EVENTS if event.late == late]
    rows = []
    for event in chosen:
        hour, minute = (int(part) for part in event.at.split(":"))
        moment = plan.at(event.day, hour, minute)
        amount, fee = Decimal(event.amount), Decimal(event.fee)
        rows.append(
            {
                "merchant_id": merchants[event.merchant],
                "flow_type": event.flow_type,
                "direction": event.direction,
                "amount": amount,
                "fee_amount": fee,
                "net_amount": amount - fee,
                "currency": CURRENCY_OF[event.merchant],
                "occurred_at": moment,
                "external_ref": f"DEMO-{event.ref}",
                "created_at": moment,
            }
        )
    ids = insert_rows(session, CashflowEvent, rows)
    return {
        event.ref: (event_id, merchants[event.merchant], CURRENCY_OF[event.merchant])
        for event, event_id in zip(chosen, ids, strict=True)
    }
