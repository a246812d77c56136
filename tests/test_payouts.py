"""Payout decisions and payout freezes: transitions, maker-checker, freezes, audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from ops_domain.config import Settings
from ops_domain.errors import (
    ActorNotAllowed,
    AlreadyFrozen,
    IllegalTransition,
    InvalidInput,
    MakerCheckerViolation,
    NotFound,
    PayoutFrozen,
)
from ops_domain.payouts.freezes import freeze_payouts, lift_payout_freeze
from ops_domain.payouts.service import (
    approve_payout,
    fail_payout,
    resubmit_payout,
    send_payout,
    settle_payout,
)
from ops_domain.settlement_automation import automate_settlements
from ops_domain.settlements.service import approve_settlement
from tests.support.factories import Factory

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


@pytest.fixture
def people(factory: Factory) -> None:
    factory.user("ops", "operation")
    factory.user("cash", "treasury")
    factory.user("boss", "admin")
    factory.user("risky", "risk")


def payout_for(engine: Engine, settings: Settings, factory: Factory, code: str = "SHOP") -> int:
    """A pending payout of 97.00 made by ``ops`` through the settlement job."""
    factory.event(factory.merchant(code), "100.00", fee="3.00")
    automate_settlements(engine, settings, actor_username="ops", now=NOW, create_payouts=True)
    with engine.begin() as conn:
        return conn.execute(
            text(
                "SELECT p.id FROM payouts p JOIN merchants m ON m.id = p.merchant_id"
                " WHERE m.code = :code"
            ),
            {"code": code},
        ).scalar_one()


def payout_row(engine: Engine, payout_id: int) -> dict:
    with engine.begin() as conn:
        return dict(
            conn.execute(
                text(
                    """
                    SELECT p.status, p.attempt, p.amount, p.failure_reason, s.status AS settlement,
                           p.channel, p.destination_account, m.channel AS merchant_channel,
                           m.destination_account AS merchant_account
                      FROM payouts p JOIN settlements s ON s.id = p.settlement_id
                      JOIN merchants m ON m.id = p.merchant_id
                     WHERE p.id = :id
                    """
                ),
                {"id": payout_id},
            )
            .mappings()
            .one()
        )


def test_a_payout_carries_the_settlement_net_and_the_merchant_destination(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    payout = payout_row(engine, payout_for(engine, settings, factory))
    assert payout["status"] == "pending"
    assert payout["amount"] == Decimal("97.00")
    assert (payout["channel"], payout["destination_account"]) == (
        payout["merchant_channel"],
        payout["merchant_account"],
    )


def test_payout_goes_pending_sent_settled_and_marks_its_settlement_paid(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    payout_id = payout_for(engine, settings, factory)

    sent = send_payout(
        engine, settings, payout_id=payout_id, actor_username="risky", note="batch 7"
    )
    settled = settle_payout(
        engine, settings, payout_id=payout_id, actor_username="boss", note="bank ok"
    )

    assert (sent.status, settled.status) == ("sent", "settled")
    assert payout_row(engine, payout_id)["settlement"] == "paid"
    assert factory.audit_actions("payout.") == ["payout.create", "payout.send", "payout.settle"]
    assert "settlement.pay" in factory.audit_actions("settlement.")
    with engine.begin() as conn:
        before, after = conn.execute(
            text("SELECT before, after FROM audit_log WHERE action = 'payout.settle'")
        ).one()
    assert (before["status"], after["status"]) == ("sent", "settled")


def test_a_settled_payout_can_never_move_again(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    payout_id = payout_for(engine, settings, factory)
    send_payout(engine, settings, payout_id=payout_id, actor_username="risky", note="go")
    settle_payout(engine, settings, payout_id=payout_id, actor_username="boss", note="arrived")

    for move in (send_payout, settle_payout, resubmit_payout):
        with pytest.raises(IllegalTransition, match="settled -> "):
            move(engine, settings, payout_id=payout_id, actor_username="boss", note="again")
    with pytest.raises(IllegalTransition, match="settled -> failed"):
        fail_payout(
            engine, settings, payout_id=payout_id, actor_username="boss", note="x", reason="late"
        )
    assert payout_row(engine, payout_id)["status"] == "settled"


def test_illegal_moves_name_the_states(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    payout_id = payout_for(engine, settings, factory)
    before = factory.table_checksums()

    with pytest.raises(IllegalTransition, match="payout: illegal transition pending -> settled"):
        settle_payout(engine, settings, payout_id=payout_id, actor_username="risky", note="skip")
    with pytest.raises(IllegalTransition, match="pending -> failed"):
        fail_payout(
            engine, settings, payout_id=payout_id, actor_username="risky", note="n", reason="r"
        )
    with pytest.raises(IllegalTransition, match="pending -> pending"):
        resubmit_payout(engine, settings, payout_id=payout_id, actor_username="cash", note="again")

    assert factory.table_checksums() == before


def test_failed_payout_is_resubmitted_with_a_higher_attempt_and_can_then_settle(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    payout_id = payout_for(engine, settings, factory)
    send_payout(engine, settings, payout_id=payout_id, actor_username="risky", note="go")
    failed = fail_payout(
        engine,
        settings,
        payout_id=payout_id,
        actor_username="boss",
        note="bounced",
        reason="closed acct",
    )
    assert (failed.status, failed.failure_reason) == ("failed", "closed acct")

    again = resubmit_payout(
        engine, settings, payout_id=payout_id, actor_username="cash", note="new acct"
    )
    assert (again.status, again.attempt) == ("pending", 2)
    send_payout(engine, settings, payout_id=payout_id, actor_username="risky", note="retry")
    fail_payout(
        engine, settings, payout_id=payout_id, actor_username="boss", note="again", reason="limit"
    )
    third = resubmit_payout(
        engine, settings, payout_id=payout_id, actor_username="boss", note="fixed"
    )
    assert third.attempt == 3
    send_payout(engine, settings, payout_id=payout_id, actor_username="boss", note="retry")
    settle_payout(engine, settings, payout_id=payout_id, actor_username="risky", note="arrived")

    assert payout_row(engine, payout_id)["settlement"] == "paid"
    assert factory.audit_actions("payout.resubmit") == ["payout.resubmit", "payout.resubmit"]


def test_the_payout_maker_never_decides_and_a_note_is_required(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    factory.event(factory.merchant("OWN"), "10.00")
    automate_settlements(engine, settings, actor_username="boss", now=NOW, create_payouts=True)
    with engine.begin() as conn:
        payout_id = conn.execute(text("SELECT id FROM payouts")).scalar_one()
    before = factory.table_checksums()

    with pytest.raises(MakerCheckerViolation, match="'boss' is the maker"):
        send_payout(engine, settings, payout_id=payout_id, actor_username="boss", note="mine")
    with pytest.raises(InvalidInput, match="needs a note"):
        send_payout(engine, settings, payout_id=payout_id, actor_username="risky", note="  ")
    with pytest.raises(ActorNotAllowed, match="admin, risk, super_admin"):
        send_payout(engine, settings, payout_id=payout_id, actor_username="ops", note="please")
    with pytest.raises(NotFound):
        send_payout(engine, settings, payout_id=payout_id + 99, actor_username="risky", note="?")

    assert factory.table_checksums() == before


def test_a_freeze_holds_payout_creation_and_lifting_it_lets_a_rerun_create_them(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    factory.event(factory.merchant("A"), "10.00")
    factory.event(factory.merchant("B"), "20.00")
    freeze = freeze_payouts(engine, actor_username="risky", reason="incident INC-9")

    held = automate_settlements(
        engine, settings, actor_username="ops", now=NOW, create_payouts=True
    )

    assert held.counts["settlements_posted"] == 2
    assert (held.counts["payouts_created"], held.counts["payouts_held"]) == (0, 2)
    assert {item["merchant_code"] for item in held.items["held_payouts"]} == {"A", "B"}
    assert held.items["held_payouts"][0]["freeze_id"] == freeze.id
    assert held.items["held_payouts"][0]["freeze_scope"] == "global"
    assert factory.count("payouts") == 0

    lift_payout_freeze(engine, freeze_id=freeze.id, actor_username="boss", note="resolved")
    released = automate_settlements(
        engine, settings, actor_username="ops", now=NOW, create_payouts=True
    )

    assert released.counts["settlements_created"] == 0
    assert (released.counts["payouts_created"], released.counts["payouts_held"]) == (0, 0)
    assert released.counts["payouts_swept"] == 2
    assert factory.count("payouts") == 2


def test_a_merchant_freeze_holds_only_that_merchant(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    factory.event(factory.merchant("CALM"), "10.00")
    factory.event(factory.merchant("HOT"), "20.00")
    freeze_payouts(engine, actor_username="ops", reason="chargeback spike", merchant_code="HOT")

    result = automate_settlements(
        engine, settings, actor_username="ops", now=NOW, create_payouts=True
    )

    assert result.items["payouts"][0]["merchant_code"] == "CALM"
    assert [item["merchant_code"] for item in result.items["held_payouts"]] == ["HOT"]
    assert result.items["held_payouts"][0]["freeze_scope"] == "merchant"


def test_a_freeze_refuses_send_and_settle_but_not_fail(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    pending = payout_for(engine, settings, factory, "P1")
    sent = payout_for(engine, settings, factory, "P2")
    send_payout(engine, settings, payout_id=sent, actor_username="boss", note="go")
    freeze = freeze_payouts(engine, actor_username="risky", reason="fraud ring", merchant_code="P1")
    with pytest.raises(PayoutFrozen, match=f"freeze #{freeze.id} \\(merchant\\).*fraud ring"):
        send_payout(engine, settings, payout_id=pending, actor_username="boss", note="go")
    settle_payout(engine, settings, payout_id=sent, actor_username="risky", note="other merchant")
    sent = payout_for(engine, settings, factory, "P3")
    send_payout(engine, settings, payout_id=sent, actor_username="boss", note="go")
    global_freeze = freeze_payouts(engine, actor_username="risky", reason="bank outage")

    with pytest.raises(PayoutFrozen, match=f"freeze #{global_freeze.id} \\(global\\)"):
        settle_payout(engine, settings, payout_id=sent, actor_username="risky", note="arrived")
    failed = fail_payout(
        engine, settings, payout_id=sent, actor_username="risky", note="n", reason="outage"
    )

    assert failed.status == "failed"
    assert payout_row(engine, pending)["status"] == "pending"


def test_a_second_freeze_of_a_frozen_scope_is_refused_naming_the_active_one(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    first = freeze_payouts(engine, actor_username="risky", reason="incident")
    before = factory.table_checksums()

    with pytest.raises(
        AlreadyFrozen, match=f"already frozen globally by freeze #{first.id} .*incident"
    ):
        freeze_payouts(engine, actor_username="ops", reason="same incident")
    watch_again = freeze_payouts(engine, actor_username="ops", reason="again", repeat_ok=True)

    assert first.newly_set
    assert factory.table_checksums() == before
    assert (watch_again.id, watch_again.newly_set, watch_again.reason) == (
        first.id,
        False,
        "incident",
    )


def test_only_another_checker_lifts_a_freeze_with_a_note(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    freeze = freeze_payouts(engine, actor_username="risky", reason="incident")
    before = factory.table_checksums()

    with pytest.raises(MakerCheckerViolation, match="'risky' is the maker"):
        lift_payout_freeze(engine, freeze_id=freeze.id, actor_username="risky", note="done")
    with pytest.raises(ActorNotAllowed, match="admin, risk, super_admin"):
        lift_payout_freeze(engine, freeze_id=freeze.id, actor_username="ops", note="done")
    with pytest.raises(MakerCheckerViolation, match="needs a note"):
        lift_payout_freeze(engine, freeze_id=freeze.id, actor_username="boss", note="")
    assert factory.table_checksums() == before

    lifted = lift_payout_freeze(engine, freeze_id=freeze.id, actor_username="boss", note="done")
    assert (lifted.lifted_by, lifted.set_by) == ("boss", "risky")
    with pytest.raises(IllegalTransition, match="lifted -> lifted"):
        lift_payout_freeze(engine, freeze_id=freeze.id, actor_username="boss", note="again")
    assert factory.audit_actions("payout.freeze") == ["payout.freeze", "payout.freeze_lift"]


def test_freeze_refuses_missing_reason_unknown_merchant_and_unauthorised_actor(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    factory.user("seller", "sales")
    before = factory.table_checksums()

    with pytest.raises(InvalidInput, match="reason"):
        freeze_payouts(engine, actor_username="risky", reason=" ")
    with pytest.raises(NotFound, match="NOPE"):
        freeze_payouts(engine, actor_username="risky", reason="x", merchant_code="NOPE")
    with pytest.raises(ActorNotAllowed):
        freeze_payouts(engine, actor_username="seller", reason="x")

    assert factory.table_checksums() == before


def big_payout(engine: Engine, settings: Settings, factory: Factory, amount: str) -> int:
    """A pending payout of ``amount`` USD made by ``ops`` (posted by a checker if over limit)."""
    factory.event(factory.merchant("BIG"), amount)
    automate_settlements(engine, settings, actor_username="ops", now=NOW, create_payouts=True)
    with engine.begin() as conn:
        drafts = list(
            conn.execute(text("SELECT id FROM settlements WHERE status = 'draft'")).scalars()
        )
    for settlement_id in drafts:
        approve_settlement(engine, settlement_id=settlement_id, actor_username="boss", note="ok")
    automate_settlements(engine, settings, actor_username="ops", now=NOW, create_payouts=True)
    with engine.begin() as conn:
        return conn.execute(text("SELECT id FROM payouts")).scalar_one()


def test_a_maker_role_alone_cannot_send_settle_or_fail_a_payout(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    payout_id = payout_for(engine, settings, factory)
    before = factory.table_checksums()

    with pytest.raises(ActorNotAllowed, match="admin, risk, super_admin"):
        send_payout(engine, settings, payout_id=payout_id, actor_username="cash", note="go")
    assert factory.table_checksums() == before


def test_the_sender_never_settles_or_fails_the_payout_it_sent(
    engine: Engine, settings: Settings, factory: Factory, people: None
) -> None:
    payout_id = payout_for(engine, settings, factory)
    send_payout(engine, settings, payout_id=payout_id, actor_username="risky", note="go")
    before = factory.table_checksums()

    with pytest.raises(MakerCheckerViolation, match="'risky' sent it"):
        settle_payout(engine, settings, payout_id=payout_id, actor_username="risky", note="ok")
    with pytest.raises(MakerCheckerViolation, match="'risky' sent it"):
        fail_payout(
            engine, settings, payout_id=payout_id, actor_username="risky", note="n", reason="r"
        )
    assert factory.table_checksums() == before

    settled = settle_payout(engine, settings, payout_id=payout_id, actor_username="boss", note="ok")
    assert settled.status == "settled"


def test_a_payout_above_the_currency_limit_needs_a_second_checker(
    engine: Engine, factory: Factory, people: None
) -> None:
    settings = Settings(
        enabled_currencies=frozenset({"USD"}),
        payout_second_approval_limits={"USD": Decimal("10000.00")},
    )
    factory.user("rick", "risk")
    payout_id = big_payout(engine, settings, factory, "12909.15")
    before = factory.table_checksums()

    with pytest.raises(
        MakerCheckerViolation, match=r"above the USD second-approval limit 10000\.00"
    ):
        send_payout(engine, settings, payout_id=payout_id, actor_username="risky", note="go")
    assert factory.table_checksums() == before

    approved = approve_payout(
        engine, settings, payout_id=payout_id, actor_username="risky", note="checked"
    )
    assert (approved.status, approved.approved_by) == ("pending", "risky")
    with pytest.raises(MakerCheckerViolation, match="'risky' gave the first approval"):
        send_payout(engine, settings, payout_id=payout_id, actor_username="risky", note="go")
    with pytest.raises(MakerCheckerViolation, match="already approved by 'risky'"):
        approve_payout(engine, settings, payout_id=payout_id, actor_username="rick", note="me too")

    sent = send_payout(engine, settings, payout_id=payout_id, actor_username="rick", note="go")
    assert (sent.status, sent.sent_by) == ("sent", "rick")
    assert factory.audit_actions("payout.") == ["payout.create", "payout.approve", "payout.send"]


def test_a_payout_at_the_limit_needs_one_checker_and_a_resubmission_needs_a_new_approval(
    engine: Engine, factory: Factory, people: None
) -> None:
    settings = Settings(
        enabled_currencies=frozenset({"USD"}), payout_second_approval_limit=Decimal("10000.00")
    )
    factory.user("rick", "risk")
    at_limit = big_payout(engine, settings, factory, "10000.00")
    send_payout(engine, settings, payout_id=at_limit, actor_username="risky", note="go")

    above = Settings(
        enabled_currencies=frozenset({"USD"}), payout_second_approval_limit=Decimal("9999.99")
    )
    fail_payout(engine, above, payout_id=at_limit, actor_username="boss", note="n", reason="R01")
    resubmit_payout(engine, above, payout_id=at_limit, actor_username="cash", note="fixed")
    approve_payout(engine, above, payout_id=at_limit, actor_username="rick", note="checked")
    send_payout(engine, above, payout_id=at_limit, actor_username="risky", note="again")
    fail_payout(engine, above, payout_id=at_limit, actor_username="boss", note="n", reason="R02")
    resubmit_payout(engine, above, payout_id=at_limit, actor_username="cash", note="fixed")

    with pytest.raises(MakerCheckerViolation, match="needs a first approval"):
        send_payout(engine, above, payout_id=at_limit, actor_username="risky", note="third")


def test_the_cli_approves_then_another_checker_sends_a_payout_above_the_limit(
    engine: Engine,
    settings: Settings,
    factory: Factory,
    people: None,
    cli: Callable[..., tuple[int, str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPS_PAYOUT_SECOND_APPROVAL_LIMITS", "USD:50.00")
    payout_id = str(payout_for(engine, settings, factory))

    refused = cli(
        "payouts", "send", "--payout-id", payout_id, "--actor-username", "risky", "--note", "go"
    )
    approved = cli(
        "payouts",
        "approve",
        "--payout-id",
        payout_id,
        "--actor-username",
        "boss",
        "--note",
        "checked",
        "--json",
    )
    sent = cli(
        "payouts", "send", "--payout-id", payout_id, "--actor-username", "risky", "--note", "go"
    )

    assert refused[0] == 2
    assert "97.00 USD is above the USD second-approval limit 50.00" in refused[2]
    assert approved[0] == 0
    assert '"approved_by": "boss"' in approved[1]
    assert sent[0] == 0
    assert "is sent (attempt 1, 97.00 USD)" in sent[1]
