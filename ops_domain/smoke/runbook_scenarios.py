"""The original back office's runbook smoke scenarios that belong to this platform."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine, text

from ops_domain.cases.service import transition_case
from ops_domain.config import Settings
from ops_domain.disputes.chargebacks import open_chargeback, transition_chargeback
from ops_domain.errors import InvalidInput, MakerCheckerViolation
from ops_domain.payouts.service import send_payout
from ops_domain.reconciliation.breaks import approve_resolution, propose_resolution
from ops_domain.reconciliation.runs import reconcile
from ops_domain.reconciliation.statements import ExternalStatement
from ops_domain.smoke.builders import DEFAULT_DAY, Builders
from ops_domain.smoke.business_day import NOW, settle_day
from ops_domain.smoke.expect import expect_equal, expect_refused
from ops_domain.smoke.staff import add_staff


def an_event_of_100_with_its_fee_of_100_bps_plus_1_settles_net_98(
    engine: Engine, settings: Settings
) -> None:
    data = Builders(engine)
    add_staff(data, "ops_runner")
    fee = (Decimal("100.00") * 100 / 10_000 + Decimal("1.00")).quantize(Decimal("0.01"))
    merchant = data.merchant()
    data.event(merchant, "100.00", fee=fee)

    settle_day(engine, settings, "ops_runner")

    settlement = data.row("SELECT * FROM settlements WHERE merchant_id = :m", m=merchant)
    expect_equal(
        (fee, settlement["fee_amount"], settlement["net_amount"]),
        (Decimal("2.00"), Decimal("2.00"), Decimal("98.00")),
        "(fee, settled fee, settled net)",
    )


def a_settlement_run_by_an_operator_over_two_events(engine: Engine, settings: Settings) -> None:
    data = Builders(engine)
    add_staff(data, "accountant")
    merchant = data.merchant()
    data.event(merchant, "100.00", fee="2.00")
    data.event(merchant, "40.00", fee="1.00")

    report = settle_day(engine, settings, "accountant")

    settlement = data.row("SELECT * FROM settlements WHERE merchant_id = :m", m=merchant)
    expect_equal(
        (
            settlement["gross_amount"],
            settlement["fee_amount"],
            settlement["net_amount"],
            settlement["event_count"],
        ),
        (Decimal("140.00"), Decimal("3.00"), Decimal("137.00"), 2),
        "settlement (gross, fee, net, events)",
    )
    expect_equal(report["counts"]["events_settled"], 2, "events settled")


def the_same_user_is_refused_on_their_own_payout_decision(
    engine: Engine, settings: Settings
) -> None:
    data = Builders(engine)
    add_staff(data, "platform_admin")
    data.event(data.merchant(), "60.00")
    settle_day(engine, settings, "platform_admin")  # the admin makes the payout
    payout = data.row("SELECT id, status FROM payouts")

    with expect_refused(MakerCheckerViolation, "'platform_admin' is the maker"):
        send_payout(
            engine, settings, payout_id=payout["id"], actor_username="platform_admin", note="go"
        )

    expect_equal(data.row("SELECT status FROM payouts")["status"], "pending", "payout status")


def a_case_cannot_be_resolved_without_a_note(engine: Engine, settings: Settings) -> None:
    data = Builders(engine)
    case = data.case(add_staff(data, "ops_runner")["ops_runner"], status="in_progress")

    with expect_refused(InvalidInput, "needs a note"):
        transition_case(engine, case_id=case, to_status="resolved", actor_username="ops_runner")
    resolved = transition_case(
        engine,
        case_id=case,
        to_status="resolved",
        actor_username="ops_runner",
        note="customer refunded",
    )

    expect_equal(resolved["status"], "resolved", "case status")


def a_reconciliation_break_is_closed_by_a_maker_checker_resolution(
    engine: Engine, settings: Settings
) -> None:
    data = Builders(engine)
    add_staff(data, "ops_runner", "accountant", "platform_admin", "risk_checker")
    data.event(data.merchant("RECON-SHOP"), "50.00")
    settle_day(engine, settings, "ops_runner")
    statement = ExternalStatement.from_totals([f"RECON-SHOP:{DEFAULT_DAY}:45.00:1"])

    run = reconcile(
        engine,
        settings,
        actor_username="accountant",
        currency="USD",
        window_start=DEFAULT_DAY,
        window_end=DEFAULT_DAY,
        statement=statement,
        now=NOW,
    )
    (opened,) = run["breaks"]
    propose_resolution(
        engine, break_id=opened["id"], actor_username="platform_admin", note="bank fee netted"
    )
    with expect_refused(MakerCheckerViolation):
        approve_resolution(
            engine, break_id=opened["id"], actor_username="platform_admin", note="mine"
        )
    approve_resolution(engine, break_id=opened["id"], actor_username="risk_checker", note="ok")

    expect_equal(opened["category"], "amount_mismatch", "break category")
    expect_equal(
        data.row("SELECT status FROM reconciliation_breaks WHERE id = :id", id=opened["id"]),
        {"status": "resolved"},
        "break after its checker",
    )


def a_chargeback_is_opened_with_evidence_and_moved_through_its_states(
    engine: Engine, settings: Settings
) -> None:
    data = Builders(engine)
    add_staff(data, "risk_checker")
    data.merchant("CB-SHOP")
    evidence = ["delivery receipt DR-118 signed 2026-11-18", "customer chat transcript"]

    opened = open_chargeback(
        engine,
        settings,
        actor_username="risk_checker",
        merchant_code="CB-SHOP",
        reason_code="13.1",
        amount="25.00",
        currency="USD",
        due_at=NOW + timedelta(days=7),
        evidence=evidence,
        now=NOW,
    )
    statuses = [opened["status"]]
    for status, note in (
        ("represented", None),
        ("won", "network ruled for the merchant"),
        ("closed", "funds returned to the merchant"),
    ):
        moved = transition_chargeback(
            engine,
            chargeback_id=opened["id"],
            to_status=status,
            actor_username="risk_checker",
            note=note,
            now=NOW,
        )
        statuses.append(moved["status"])

    expect_equal(statuses, ["open", "represented", "won", "closed"], "chargeback states")
    with engine.begin() as conn:
        notes = list(
            conn.execute(
                text("SELECT body FROM case_notes WHERE case_id = :c ORDER BY id"),
                {"c": opened["case_id"]},
            ).scalars()
        )
    expect_equal(notes, [f"evidence: {piece}" for piece in evidence], "case notes")


RUNBOOK_SCENARIOS = (
    an_event_of_100_with_its_fee_of_100_bps_plus_1_settles_net_98,
    a_settlement_run_by_an_operator_over_two_events,
    the_same_user_is_refused_on_their_own_payout_decision,
    a_case_cannot_be_resolved_without_a_note,
    a_reconciliation_break_is_closed_by_a_maker_checker_resolution,
    a_chargeback_is_opened_with_evidence_and_moved_through_its_states,
)
