"""The figures and states a release must not break: settlement to payout, refund approval,
closed periods, and the gate's waivers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from ops_domain.accounting.accounts import add_account
from ops_domain.accounting.journals import JournalLineInput, create_journal
from ops_domain.accounting.periods import manage_accounting_period
from ops_domain.audit.actions import JOURNAL_POST_REFUSED
from ops_domain.config import DEFAULT_WAIVER_MAX_DAYS, Settings
from ops_domain.disputes.refunds import approve_refund, request_refund
from ops_domain.errors import MakerCheckerViolation, PeriodClosed
from ops_domain.payouts.service import send_payout, settle_payout
from ops_domain.readiness.gate import release_readiness_gate
from ops_domain.readiness.waivers import approve_waiver, request_waiver
from ops_domain.smoke.builders import Builders
from ops_domain.smoke.business_day import NOW, settle_day
from ops_domain.smoke.expect import expect_equal, expect_refused
from ops_domain.smoke.staff import add_staff


def settlement_is_paid_out_and_settled(engine: Engine, settings: Settings) -> None:
    data = Builders(engine)
    add_staff(data, "svc_airflow", "risk_checker", "platform_admin")
    merchant = data.merchant()
    data.event(merchant, "100.00", fee="2.50")
    data.event(merchant, "50.00", fee="1.25")
    data.event(merchant, "20.00", fee="0.00", direction="debit")

    settle_day(engine, settings, "svc_airflow")
    settlement = data.row("SELECT * FROM settlements WHERE merchant_id = :m", m=merchant)
    payout = data.row("SELECT * FROM payouts WHERE settlement_id = :s", s=settlement["id"])
    expect_equal(
        (settlement["status"], settlement["net_amount"], settlement["event_count"]),
        ("posted", Decimal("126.25"), 3),
        "settlement (status, net, events)",
    )
    expect_equal((payout["status"], payout["amount"]), ("pending", Decimal("126.25")), "payout")

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

    expect_equal(settled.status, "settled", "payout status")
    expect_equal(
        data.row("SELECT status FROM settlements WHERE id = :s", s=settlement["id"]),
        {"status": "paid"},
        "settlement after its payout settled",
    )
    expect_equal(data.count("cashflow_events", "settlement_id IS NULL"), 0, "unsettled events")


def refund_needs_a_checker_other_than_its_maker(engine: Engine, settings: Settings) -> None:
    data = Builders(engine)
    add_staff(data, "platform_admin", "risk_checker")
    event = data.event(data.merchant(), "80.00")
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
    expect_equal((refund["status"], refund["amount"]), ("pending", Decimal("30.00")), "refund")

    with expect_refused(MakerCheckerViolation):
        approve_refund(
            engine, refund_id=refund["id"], actor_username="platform_admin", note="mine", now=NOW
        )
    approved = approve_refund(
        engine, refund_id=refund["id"], actor_username="risk_checker", note="verified", now=NOW
    )

    expect_equal(approved["status"], "approved", "refund after its checker")
    expect_equal(data.count("refund_requests", "status = 'pending'"), 0, "pending refunds")


def closed_period_refuses_an_entry_dated_in_it(engine: Engine, settings: Settings) -> None:
    data = Builders(engine)
    add_staff(data, "accountant")
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
    manage_accounting_period(
        engine,
        settings,
        actor_username="accountant",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        currency="USD",
        action="close",
        now=NOW,
    )
    before = data.table_checksums()

    with expect_refused(PeriodClosed, r"closed period 2026-10-01\.\.2026-10-31: date the"):
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

    after = data.table_checksums()
    expect_equal(
        {t: after[t] for t in after if t != "audit_log"},
        {t: before[t] for t in before if t != "audit_log"},
        "tables after the refused entry",
    )
    # the refusal is evidence in the audit log, and no entry was made
    expect_equal(data.audit_actions("journal."), [JOURNAL_POST_REFUSED], "journal audit")


def waiver_lifts_a_readiness_counter(engine: Engine, settings: Settings) -> None:
    data = Builders(engine)
    add_staff(data, "svc_airflow", "risk_checker")
    refund = data.refund(
        data.user("cs_maker", "customer_service"),
        data.event(data.merchant(), "40.00"),
        "15.00",
    )
    blocked = release_readiness_gate(engine, settings, release_id="smoke-1", now=NOW)
    expect_equal(
        (blocked.is_ready, blocked.counters["pending_refunds"]),
        (False, 1),
        "gate before the waiver (ready, pending refunds)",
    )

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
    lifted = release_readiness_gate(engine, settings, release_id="smoke-1", now=NOW).to_dict()

    expect_equal(
        (lifted["is_ready"], lifted["waived_checks"]),
        (True, ["pending_refunds"]),
        "gate after the waiver (ready, waived)",
    )
    expect_equal(data.count("release_snapshots"), 2, "release snapshots")


RELEASE_SCENARIOS = (
    settlement_is_paid_out_and_settled,
    refund_needs_a_checker_other_than_its_maker,
    closed_period_refuses_an_entry_dated_in_it,
    waiver_lifts_a_readiness_counter,
)
