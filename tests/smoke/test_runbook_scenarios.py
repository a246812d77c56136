"""The original back office's runbook smoke scenarios that belong to this platform, ported:
each goes through the service functions the CLI and the DAGs call."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from ops_domain.cases.service import transition_case
from ops_domain.config import Settings
from ops_domain.disputes.chargebacks import open_chargeback, transition_chargeback
from ops_domain.errors import InvalidInput, MakerCheckerViolation
from ops_domain.payouts.service import send_payout
from ops_domain.reconciliation.breaks import approve_resolution, propose_resolution
from ops_domain.reconciliation.runs import reconcile
from ops_domain.reconciliation.statements import ExternalStatement
from ops_domain.settlement_automation import automate_settlements
from tests.support.factories import DEFAULT_DAY, DEFAULT_TIME, Factory

pytestmark = [pytest.mark.smoke, pytest.mark.usefixtures("staff")]

NOW = DEFAULT_TIME + timedelta(days=1)


@pytest.fixture
def staff(factory: Factory) -> dict[str, int]:
    return {
        "ops": factory.user("ops_runner", "operation"),
        "accountant": factory.user("accountant", "finance"),
        "risk": factory.user("risk_checker", "risk"),
        "admin": factory.user("platform_admin", "admin"),
    }


def settle_day(engine: Engine, settings: Settings, actor: str = "ops_runner") -> dict:
    result = automate_settlements(
        engine,
        settings,
        actor_username=actor,
        period_start=DEFAULT_DAY,
        period_end=DEFAULT_DAY,
        create_payouts=True,
        now=NOW,
    )
    return result.to_dict()


def one(engine: Engine, sql: str, **params: object) -> dict:
    with engine.begin() as conn:
        return dict(conn.execute(text(sql), params).mappings().one())


def test_an_event_of_100_with_its_fee_of_100_bps_plus_1_settles_net_98(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    fee = (Decimal("100.00") * 100 / 10_000 + Decimal("1.00")).quantize(Decimal("0.01"))
    merchant = factory.merchant()
    factory.event(merchant, "100.00", fee=fee)

    settle_day(engine, settings)

    settlement = one(engine, "SELECT * FROM settlements WHERE merchant_id = :m", m=merchant)
    assert (fee, settlement["fee_amount"], settlement["net_amount"]) == (
        Decimal("2.00"),
        Decimal("2.00"),
        Decimal("98.00"),
    )


def test_a_settlement_run_by_an_operator_over_two_events(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    merchant = factory.merchant()
    factory.event(merchant, "100.00", fee="2.00")
    factory.event(merchant, "40.00", fee="1.00")

    report = settle_day(engine, settings, actor="accountant")

    settlement = one(engine, "SELECT * FROM settlements WHERE merchant_id = :m", m=merchant)
    assert (
        settlement["gross_amount"],
        settlement["fee_amount"],
        settlement["net_amount"],
        settlement["event_count"],
    ) == (Decimal("140.00"), Decimal("3.00"), Decimal("137.00"), 2)
    assert report["counts"]["events_settled"] == 2


def test_the_same_user_is_refused_on_their_own_payout_decision(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    factory.event(factory.merchant(), "60.00")
    settle_day(engine, settings, actor="platform_admin")  # the admin makes the payout
    payout = one(engine, "SELECT id, status FROM payouts")

    with pytest.raises(MakerCheckerViolation, match="'platform_admin' is the maker"):
        send_payout(
            engine, settings, payout_id=payout["id"], actor_username="platform_admin", note="go"
        )

    assert one(engine, "SELECT status FROM payouts")["status"] == "pending"


def test_a_case_cannot_be_resolved_without_a_note(
    engine: Engine, factory: Factory, staff: dict[str, int]
) -> None:
    case = factory.case(staff["ops"], status="in_progress")

    with pytest.raises(InvalidInput, match="needs a note"):
        transition_case(engine, case_id=case, to_status="resolved", actor_username="ops_runner")
    resolved = transition_case(
        engine,
        case_id=case,
        to_status="resolved",
        actor_username="ops_runner",
        note="customer refunded",
    )

    assert resolved["status"] == "resolved"


def test_a_reconciliation_break_is_closed_by_a_maker_checker_resolution(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    factory.event(factory.merchant("RECON-SHOP"), "50.00")
    settle_day(engine, settings)
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
    with pytest.raises(MakerCheckerViolation):
        approve_resolution(
            engine, break_id=opened["id"], actor_username="platform_admin", note="mine"
        )
    approve_resolution(engine, break_id=opened["id"], actor_username="risk_checker", note="ok")

    assert opened["category"] == "amount_mismatch"
    assert one(
        engine, "SELECT status FROM reconciliation_breaks WHERE id = :id", id=opened["id"]
    ) == {"status": "resolved"}


def test_a_chargeback_is_opened_with_evidence_and_moved_through_its_states(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    factory.merchant("CB-SHOP")
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
    for status, note in (("represented", None), ("won", "network ruled for the merchant")):
        moved = transition_chargeback(
            engine,
            chargeback_id=opened["id"],
            to_status=status,
            actor_username="risk_checker",
            note=note,
            now=NOW,
        )
    closed = transition_chargeback(
        engine,
        chargeback_id=opened["id"],
        to_status="closed",
        actor_username="risk_checker",
        note="funds returned to the merchant",
        now=NOW,
    )

    assert (opened["status"], moved["status"], closed["status"]) == ("open", "won", "closed")
    with engine.begin() as conn:
        notes = list(
            conn.execute(
                text("SELECT body FROM case_notes WHERE case_id = :c ORDER BY id"),
                {"c": opened["case_id"]},
            ).scalars()
        )
    assert notes == [f"evidence: {piece}" for piece in evidence]
