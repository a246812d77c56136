"""End-to-end domain scenarios the release gate's smoke check runs against the target server.

Each scenario goes through the same service functions the CLI and the DAGs call, and checks
the figures and states a release must not break.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from ops_domain.accounting.accounts import add_account
from ops_domain.accounting.journals import JournalLineInput, create_journal
from ops_domain.accounting.periods import manage_accounting_period
from ops_domain.config import DEFAULT_WAIVER_MAX_DAYS, Settings
from ops_domain.disputes.refunds import approve_refund, request_refund
from ops_domain.errors import MakerCheckerViolation, PeriodClosed
from ops_domain.payouts.service import send_payout, settle_payout
from ops_domain.readiness.gate import release_readiness_gate
from ops_domain.readiness.waivers import approve_waiver, request_waiver
from ops_domain.settlement_automation import automate_settlements
from tests.support.factories import DEFAULT_DAY, DEFAULT_TIME, Factory

pytestmark = pytest.mark.smoke

NOW = DEFAULT_TIME + timedelta(days=1)


@pytest.fixture
def staff(factory: Factory) -> None:
    factory.user("svc_airflow", "operation")
    factory.user("cs_agent", "customer_service")
    factory.user("treasurer", "treasury")
    factory.user("accountant", "finance")
    factory.user("risk_checker", "risk")
    factory.user("platform_admin", "admin")


def row(engine: Engine, sql: str, **params: object) -> dict:
    with engine.begin() as conn:
        return dict(conn.execute(text(sql), params).mappings().one())


@pytest.mark.usefixtures("staff")
def test_settlement_is_paid_out_and_settled(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    merchant = factory.merchant()
    factory.event(merchant, "100.00", fee="2.50")
    factory.event(merchant, "50.00", fee="1.25")
    factory.event(merchant, "20.00", fee="0.00", direction="debit")

    automate_settlements(
        engine,
        settings,
        actor_username="svc_airflow",
        period_start=DEFAULT_DAY,
        period_end=DEFAULT_DAY,
        create_payouts=True,
        now=NOW,
    )
    settlement = row(engine, "SELECT * FROM settlements WHERE merchant_id = :m", m=merchant)
    payout = row(engine, "SELECT * FROM payouts WHERE settlement_id = :s", s=settlement["id"])
    assert (settlement["status"], settlement["net_amount"], settlement["event_count"]) == (
        "posted",
        Decimal("126.25"),
        3,
    )
    assert (payout["status"], payout["amount"]) == ("pending", Decimal("126.25"))

    send_payout(
        engine,
        settings,
        payout_id=payout["id"],
        actor_username="risk_checker",
        note="sent",
        now=NOW,
    )
    settled = settle_payout(
        engine,
        settings,
        payout_id=payout["id"],
        actor_username="platform_admin",
        note="arrived",
        now=NOW,
    )

    assert settled.status == "settled"
    assert row(engine, "SELECT status FROM settlements WHERE id = :s", s=settlement["id"]) == {
        "status": "paid"
    }
    assert factory.count("cashflow_events", "settlement_id IS NULL") == 0


@pytest.mark.usefixtures("staff")
def test_refund_needs_a_checker_other_than_its_maker(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    event = factory.event(factory.merchant(), "80.00")
    refund = request_refund(
        engine,
        settings,
        actor_username="platform_admin",
        source_event_id=event,
        amount="30.00",
        reason="item never arrived",
        customer_ref="CUST-42",
        now=NOW,
    )
    assert (refund["status"], refund["amount"]) == ("pending", Decimal("30.00"))

    with pytest.raises(MakerCheckerViolation):
        approve_refund(
            engine, refund_id=refund["id"], actor_username="platform_admin", note="mine", now=NOW
        )
    approved = approve_refund(
        engine, refund_id=refund["id"], actor_username="risk_checker", note="verified", now=NOW
    )

    assert approved["status"] == "approved"
    assert factory.count("refund_requests", "status = 'pending'") == 0


@pytest.mark.usefixtures("staff")
def test_closed_period_refuses_an_entry_dated_in_it(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    for code, kind in (("1000", "asset"), ("4000", "revenue")):
        add_account(
            engine,
            settings,
            actor_username="accountant",
            code=code,
            name=f"Account {code}",
            account_type=kind,
            currency="USD",
        )
    october = (date(2026, 10, 1), date(2026, 10, 31))
    manage_accounting_period(
        engine,
        settings,
        actor_username="accountant",
        period_start=october[0],
        period_end=october[1],
        currency="USD",
        action="close",
        now=NOW,
    )
    before = factory.table_checksums()

    with pytest.raises(PeriodClosed, match=r"closed period 2026-10-01\.\.2026-10-31: date the"):
        create_journal(
            engine,
            settings,
            actor_username="accountant",
            entry_date=date(2026, 10, 15),
            currency="USD",
            description="late October fee income",
            lines=[
                JournalLineInput("1000", debit=Decimal("12.34")),
                JournalLineInput("4000", credit=Decimal("12.34")),
            ],
        )

    after = factory.table_checksums()
    assert {t: after[t] for t in after if t != "audit_log"} == {
        t: before[t] for t in before if t != "audit_log"
    }
    assert factory.audit_actions("journal.") == ["journal.post_refused"]  # evidence, no entry


@pytest.mark.usefixtures("staff")
def test_waiver_lifts_a_readiness_counter(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    refund = factory.refund(
        factory.user("cs_maker", "customer_service"),
        factory.event(factory.merchant(), "40.00"),
        "15.00",
    )
    blocked = release_readiness_gate(engine, settings, release_id="smoke-1", now=NOW)
    assert (blocked.is_ready, blocked.counters["pending_refunds"]) == (False, 1)

    waiver = request_waiver(
        engine,
        max_days=DEFAULT_WAIVER_MAX_DAYS,
        actor_username="svc_airflow",
        counter="pending_refunds",
        item_ids=[refund],
        reason="customer confirmed, refunded after the release",
        expires_at=NOW + timedelta(hours=4),
        release_id="smoke-1",
        now=NOW,
    )
    approve_waiver(
        engine, waiver_id=waiver.id, actor_username="risk_checker", note="accepted", now=NOW
    )
    lifted = release_readiness_gate(engine, settings, release_id="smoke-1", now=NOW)

    assert lifted.to_dict()["is_ready"] is True
    assert lifted.to_dict()["waived_checks"] == ["pending_refunds"]
    assert factory.count("release_snapshots") == 2
