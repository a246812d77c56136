"""A small business history written only through the real services, for audit and role tests.

One merchant's day is settled with payouts; the payout bounces once and is paid on the second
attempt; a refund passes its SLA, is escalated, approved and executed; a journal is posted by
a checker; a quiet accounting period is closed. Every step leaves the audit rows the
completeness rules of ``ops_domain.audit.completeness`` expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, text

from ops_domain.accounting.journals import (
    JournalLineInput,
    approve_journal_approval,
    create_journal,
    submit_journal,
)
from ops_domain.accounting.periods import manage_accounting_period
from ops_domain.config import Settings
from ops_domain.disputes.escalation import escalate_refund_disputes
from ops_domain.disputes.refunds import approve_refund, execute_refund, request_refund
from ops_domain.payouts.service import fail_payout, resubmit_payout, send_payout, settle_payout
from ops_domain.settlement_automation import automate_settlements
from tests.support.factories import Factory

DAY = date(2026, 11, 20)
NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)
STAFF = {
    "olga": "operation",
    "fiona": "finance",
    "tom": "treasury",
    "rita": "risk",
    "ada": "admin",
    "cora": "customer_service",
}


@dataclass(frozen=True)
class History:
    merchant_id: int
    settlement_id: int
    payout_id: int
    refund_id: int
    journal_id: int


def hire_staff(factory: Factory) -> None:
    for username, role in STAFF.items():
        factory.user(username, role)


def write_history(engine: Engine, settings: Settings, factory: Factory) -> History:
    """Users must exist (``hire_staff``, run as the owner); everything else goes through the
    services, so ``engine`` may be the application role's."""
    merchant_id = factory.merchant("M-HISTORY")
    factory.events_bulk([merchant_id], 4, day=DAY)
    automate_settlements(
        engine,
        settings,
        actor_username="olga",
        period_start=DAY,
        period_end=DAY,
        create_payouts=True,
        now=NOON + timedelta(days=1),
    )
    payout_id, settlement_id, event_id = _payout_settlement_event(engine, merchant_id)
    send_payout(engine, settings, payout_id=payout_id, actor_username="rita", note="released")
    fail_payout(
        engine, settings, payout_id=payout_id, actor_username="ada", note="bounced", reason="R01"
    )
    resubmit_payout(
        engine, settings, payout_id=payout_id, actor_username="tom", note="fixed account"
    )
    send_payout(engine, settings, payout_id=payout_id, actor_username="rita", note="released again")
    settle_payout(
        engine, settings, payout_id=payout_id, actor_username="ada", note="bank confirmed"
    )

    refund = request_refund(
        engine,
        settings,
        actor_username="cora",
        source_event_id=event_id,
        amount="5.00",
        reason="customer dispute",
        customer_ref="CUST-7",
        now=NOON,
    )
    escalate_refund_disputes(
        engine, settings, actor_username="olga", now=NOON + timedelta(hours=49)
    )
    approve_refund(engine, refund_id=refund["id"], actor_username="rita", note="valid")
    execute_refund(engine, refund_id=refund["id"], actor_username="tom", note="paid back")

    factory.account("1000-CASH", "asset")
    factory.account("4000-FEES", "revenue")
    entry = create_journal(
        engine,
        settings,
        actor_username="fiona",
        entry_date=DAY,
        currency="USD",
        description="fees of the day",
        lines=[
            JournalLineInput.parse(s) for s in ("1000-CASH:debit:1.20", "4000-FEES:credit:1.20")
        ],
    )
    approval = submit_journal(engine, entry_id=entry["id"], actor_username="fiona")
    approve_journal_approval(
        engine, approval_id=approval["id"], actor_username="rita", note="matches the fee report"
    )
    manage_accounting_period(
        engine,
        settings,
        actor_username="fiona",
        period_start=date(2026, 9, 1),
        period_end=date(2026, 9, 30),
        currency="USD",
        action="close",
    )
    return History(merchant_id, settlement_id, payout_id, refund["id"], entry["id"])


def _payout_settlement_event(engine: Engine, merchant_id: int) -> tuple[int, int, int]:
    with engine.begin() as conn:
        row = conn.execute(
            text(
                """
                SELECT p.id AS payout_id, s.id AS settlement_id, min(e.id) AS event_id
                  FROM payouts p JOIN settlements s ON s.id = p.settlement_id
                  JOIN cashflow_events e ON e.settlement_id = s.id
                 WHERE s.merchant_id = :m GROUP BY p.id, s.id
                """
            ),
            {"m": merchant_id},
        ).one()
    return row.payout_id, row.settlement_id, row.event_id
