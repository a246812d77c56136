"""The naive baseline: settlement as a typical ORM implementation writes it.

Merchant by merchant: load each unsettled event as an object, add the amounts up in Python,
add a settlement (flushed for its id) with its audit row, then save each event with its new
``settlement_id`` (one UPDATE per event, as ``obj.save()`` / a flush per object does), add the
payout of a posted positive settlement, and commit per merchant. The business result is the
same as ``automate_settlements`` (same totals, statuses and payouts), the cost is not. Kept
only to be measured against; never used by the platform.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import ops_domain.models  # noqa: F401 (every mapped table, for the foreign keys)
from ops_domain.audit.models import AuditLog
from ops_domain.clock import day_window, utc_now
from ops_domain.merchants.models import CashflowEvent, Merchant
from ops_domain.payouts.models import Payout
from ops_domain.settlements.models import Settlement

ZERO = Decimal("0")


def settle_naively(
    engine: Engine,
    *,
    merchant_ids: list[int],
    period_start: date,
    period_end: date,
    actor_id: int,
    auto_post_limit: Decimal,
) -> int:
    """Settle the window for ``merchant_ids`` object by object; return the events settled."""
    window_start, window_end = day_window(period_start, period_end)
    settled = 0
    with Session(engine) as session:
        merchants = session.scalars(
            select(Merchant)
            .where(Merchant.id.in_(merchant_ids), Merchant.status == "active")
            .order_by(Merchant.id)
        ).all()
        for merchant in merchants:
            events = session.scalars(
                select(CashflowEvent)
                .where(
                    CashflowEvent.merchant_id == merchant.id,
                    CashflowEvent.settlement_id.is_(None),
                    CashflowEvent.occurred_at >= window_start,
                    CashflowEvent.occurred_at < window_end,
                )
                .order_by(CashflowEvent.id)
            ).all()
            by_currency: dict[str, list[CashflowEvent]] = defaultdict(list)
            for event in events:
                by_currency[event.currency].append(event)
            for currency, currency_events in by_currency.items():
                _settle_one(
                    session,
                    merchant,
                    currency,
                    currency_events,
                    period=(period_start, period_end),
                    actor_id=actor_id,
                    auto_post_limit=auto_post_limit,
                )
            session.commit()
            settled += len(events)
    return settled


def _settle_one(
    session: Session,
    merchant: Merchant,
    currency: str,
    events: list[CashflowEvent],
    *,
    period: tuple[date, date],
    actor_id: int,
    auto_post_limit: Decimal,
) -> None:
    gross = fee = net = ZERO
    for event in events:
        sign = 1 if event.direction == "credit" else -1
        gross += sign * event.amount
        fee += sign * event.fee_amount
        net += sign * event.net_amount
    sequence = 1 + (
        session.scalar(
            select(func.max(Settlement.sequence)).where(
                Settlement.merchant_id == merchant.id,
                Settlement.currency == currency,
                Settlement.period_start == period[0],
                Settlement.period_end == period[1],
            )
        )
        or 0
    )
    posted = net <= auto_post_limit
    settlement = Settlement(
        merchant_id=merchant.id,
        currency=currency,
        period_start=period[0],
        period_end=period[1],
        sequence=sequence,
        gross_amount=gross,
        fee_amount=fee,
        net_amount=net,
        event_count=len(events),
        status="posted" if posted else "draft",
        maker_id=actor_id,
        approval_source="policy:auto_post" if posted else None,
        posted_at=utc_now() if posted else None,
    )
    session.add(settlement)
    session.flush()
    session.add(_audit(actor_id, "settlement.create", "settlement", settlement.id))
    for event in events:
        event.settlement_id = settlement.id
        session.flush()
    if posted and net > 0:
        payout = Payout(
            settlement_id=settlement.id,
            merchant_id=merchant.id,
            amount=net,
            currency=currency,
            channel=merchant.channel,
            destination_account=merchant.destination_account,
            status="pending",
            maker_id=actor_id,
        )
        session.add(payout)
        session.flush()
        session.add(_audit(actor_id, "payout.create", "payout", payout.id))


def _audit(actor_id: int, action: str, target_type: str, target_id: int) -> AuditLog:
    return AuditLog(
        action=action, actor_id=actor_id, target_type=target_type, target_id=str(target_id)
    )
