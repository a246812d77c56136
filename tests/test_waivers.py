"""Approved exceptions: who may request and decide a waiver, and what is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from ops_domain.config import Settings
from ops_domain.errors import (
    ActorNotAllowed,
    IllegalTransition,
    InvalidInput,
    MakerCheckerViolation,
    NotFound,
)
from ops_domain.readiness.waivers import (
    approve_waiver,
    reject_waiver,
    request_waiver,
)
from tests.support.factories import DEFAULT_TIME, Factory

NOW = DEFAULT_TIME
RELEASE = "2026.11.20-1"


@pytest.fixture
def refund_id(factory: Factory) -> int:
    maker = factory.user("ops_maker", "operation")
    factory.user("risk_checker", "risk")
    return factory.refund(maker, factory.event(factory.merchant(), "80.00"), "20.00")


def ask(engine: Engine, **overrides):
    request = {
        "actor_username": "ops_maker",
        "counter": "pending_refunds",
        "reason": "refund agreed with the customer, paid next cycle",
        "expires_at": NOW + timedelta(days=2),
        "release_id": RELEASE,
        "max_count": 1,
        "now": NOW,
        "max_days": Settings().waiver_max_days,
    }
    request.update(overrides)
    return request_waiver(engine, **request)


def test_request_then_approve_records_both_people_and_audits_each_step(
    engine: Engine, factory: Factory, refund_id: int
) -> None:
    requested = ask(engine, item_ids=[refund_id], max_count=None)
    approved = approve_waiver(
        engine, waiver_id=requested.id, actor_username="risk_checker", note="ok for 1 day", now=NOW
    )

    assert (requested.status, requested.requested_by, requested.item_ids) == (
        "pending",
        "ops_maker",
        [refund_id],
    )
    assert (approved.status, approved.approved_by, approved.decision_note) == (
        "approved",
        "risk_checker",
        "ok for 1 day",
    )
    assert approved.decided_at == NOW
    assert factory.audit_actions("waiver.") == ["waiver.request", "waiver.approve"]


def test_requester_cannot_approve_their_own_waiver(engine: Engine, factory: Factory) -> None:
    factory.user("admin_both", "admin")
    factory.user("risk_checker", "risk")
    factory.refund(
        factory.user("cs", "customer_service"), factory.event(factory.merchant(), "9.00"), "5.00"
    )
    requested = ask(engine, actor_username="admin_both")
    before = factory.table_checksums()

    with pytest.raises(MakerCheckerViolation, match="is the maker"):
        approve_waiver(engine, waiver_id=requested.id, actor_username="admin_both", note="mine")

    after = factory.table_checksums()
    assert {t for t in before if before[t] != after[t]} == {"audit_log"}
    assert factory.audit_actions("waiver.") == ["waiver.request", "waiver.approve_refused"]
    assert factory.count("readiness_waivers", "status = 'pending'") == 1


def test_a_maker_without_a_checker_role_cannot_decide(
    engine: Engine, factory: Factory, refund_id: int
) -> None:
    factory.user("finance_maker", "finance")
    requested = ask(engine)

    with pytest.raises(ActorNotAllowed, match="admin, risk, super_admin"):
        approve_waiver(engine, waiver_id=requested.id, actor_username="finance_maker", note="x")
    with pytest.raises(ActorNotAllowed):
        reject_waiver(engine, waiver_id=requested.id, actor_username="finance_maker", note="x")
    assert factory.count("readiness_waivers", "status = 'pending'") == 1


@pytest.mark.usefixtures("refund_id")
def test_waiving_items_that_do_not_exist_is_refused(engine: Engine, factory: Factory) -> None:
    before = factory.table_checksums()

    with pytest.raises(InvalidInput, match="item\\(s\\) 999 do not exist"):
        ask(engine, item_ids=[999], max_count=None)

    assert factory.table_checksums() == before


def test_waiving_an_item_that_no_longer_blocks_is_refused(
    engine: Engine, factory: Factory, refund_id: int
) -> None:
    approved_refund = factory.refund(
        factory.user("cs", "customer_service"),
        factory.event(factory.merchant(), "30.00"),
        "5.00",
        status="approved",
    )

    with pytest.raises(InvalidInput, match=f"item\\(s\\) {approved_refund} do not exist"):
        ask(engine, item_ids=[refund_id, approved_refund], max_count=None)
    with pytest.raises(InvalidInput, match="failed_payouts"):
        ask(engine, counter="failed_payouts", item_ids=[refund_id], max_count=None)
    assert factory.count("readiness_waivers") == 0


@pytest.mark.usefixtures("refund_id")
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"expires_at": NOW}, "not in the future"),
        ({"expires_at": NOW - timedelta(hours=1)}, "not in the future"),
        ({"item_ids": [1], "max_count": 2}, "exactly one"),
        ({"max_count": None}, "exactly one"),
        ({"max_count": 0}, "must be positive"),
        ({"reason": "  "}, "needs a reason"),
        ({"release_id": ""}, "release id"),
        ({"counter": "open_cases"}, "not a readiness counter"),
    ],
)
def test_malformed_requests_are_refused_before_anything_is_written(
    engine: Engine, factory: Factory, overrides: dict, message: str
) -> None:
    before = factory.table_checksums()

    with pytest.raises(InvalidInput, match=message):
        ask(engine, **overrides)

    assert factory.table_checksums() == before


@pytest.mark.usefixtures("refund_id")
def test_an_expired_waiver_cannot_be_approved(engine: Engine) -> None:
    requested = ask(engine, expires_at=NOW + timedelta(hours=1))

    with pytest.raises(InvalidInput, match="expired"):
        approve_waiver(
            engine,
            waiver_id=requested.id,
            actor_username="risk_checker",
            note="late",
            now=NOW + timedelta(hours=2),
        )


@pytest.mark.usefixtures("refund_id")
def test_a_decision_needs_a_note_and_is_final(engine: Engine, factory: Factory) -> None:
    requested = ask(engine)

    with pytest.raises(MakerCheckerViolation, match="needs a note"):
        approve_waiver(engine, waiver_id=requested.id, actor_username="risk_checker", note=" ")
    rejected = reject_waiver(
        engine, waiver_id=requested.id, actor_username="risk_checker", note="fix it first"
    )
    assert (rejected.status, rejected.approved_by) == ("rejected", None)
    with pytest.raises(IllegalTransition, match="rejected -> approved"):
        approve_waiver(engine, waiver_id=requested.id, actor_username="risk_checker", note="ok")
    with pytest.raises(NotFound):
        approve_waiver(engine, waiver_id=424242, actor_username="risk_checker", note="ok")
    assert factory.audit_actions("waiver.") == [
        "waiver.request",
        "waiver.approve_refused",
        "waiver.reject",
    ]


def test_cli_requests_and_approves_a_waiver(cli, factory: Factory, refund_id: int) -> None:
    code, out, err = cli(
        "waivers",
        "request",
        "--counter",
        "pending_refunds",
        "--item-id",
        str(refund_id),
        "--reason",
        "agreed with customer",
        "--expires-at",
        (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        "--release-id",
        RELEASE,
        "--actor-username",
        "ops_maker",
        "--json",
    )
    assert (code, err) == (0, "")
    waiver = json.loads(out)
    assert (waiver["status"], waiver["item_ids"]) == ("pending", [refund_id])

    approve = ("waivers", "approve", "--waiver-id", str(waiver["id"]), "--note", "accepted")
    code, out, err = cli(*approve, "--actor-username", "ops_maker")
    assert code == 2
    assert "may not run waivers approve" in err

    code, out, _ = cli(*approve, "--actor-username", "risk_checker")
    assert code == 0
    assert f"waiver #{waiver['id']} on pending_refunds (items {refund_id})" in out
    assert "approved, decided by risk_checker" in out
    with factory.engine.begin() as conn:
        assert conn.execute(text("SELECT status FROM readiness_waivers")).scalar_one() == "approved"


def test_a_count_waiver_may_cover_at_most_the_items_blocking_now(
    engine: Engine, factory: Factory, refund_id: int
) -> None:
    before = factory.table_checksums()

    with pytest.raises(InvalidInput) as refused:
        ask(engine, max_count=2)
    with pytest.raises(InvalidInput, match="max count 1 exceeds the 0 item\\(s\\) blocking"):
        ask(engine, counter="failed_payouts", max_count=1)

    assert str(refused.value) == (
        "max count 2 exceeds the 1 item(s) blocking pending_refunds now:"
        " a count waiver covers at most the items currently blocking"
    )
    assert factory.table_checksums() == before
    assert ask(engine, max_count=1).max_count == 1


def test_a_count_waiver_larger_than_the_blockers_left_cannot_be_approved(
    engine: Engine, factory: Factory, refund_id: int
) -> None:
    requested = ask(engine, max_count=1)
    with engine.begin() as conn:
        conn.execute(text("UPDATE refund_requests SET status = 'rejected'"))
    before = factory.table_checksums()

    with pytest.raises(InvalidInput, match="max count 1 exceeds the 0 item\\(s\\)"):
        approve_waiver(
            engine, waiver_id=requested.id, actor_username="risk_checker", note="ok", now=NOW
        )

    assert factory.table_checksums() == before
    assert factory.count("readiness_waivers", "status = 'pending'") == 1


@pytest.mark.usefixtures("refund_id")
def test_a_waiver_expires_at_most_the_configured_number_of_days_ahead(
    engine: Engine, factory: Factory
) -> None:
    before = factory.table_checksums()
    too_late = NOW + timedelta(days=14, seconds=1)

    with pytest.raises(InvalidInput) as refused:
        ask(engine, expires_at=too_late)
    three = Settings.from_env({"OPS_WAIVER_MAX_DAYS": "3"}).waiver_max_days
    with pytest.raises(InvalidInput, match="more than 3 day\\(s\\) ahead"):
        ask(engine, expires_at=NOW + timedelta(days=4), max_days=three)

    assert str(refused.value) == (
        f"expires_at {too_late.isoformat()} is more than 14 day(s) ahead (OPS_WAIVER_MAX_DAYS):"
        f" a waiver expires by {(NOW + timedelta(days=14)).isoformat()} at the latest"
    )
    assert factory.table_checksums() == before
    assert ask(engine, expires_at=NOW + timedelta(days=3), max_days=three).expires_at == (
        NOW + timedelta(days=3)
    )
    assert ask(engine, expires_at=NOW + timedelta(days=14)).status == "pending"


@pytest.mark.parametrize("raw", ["abc", "0", "366", "-1", "1.5"])
def test_a_malformed_waiver_day_limit_is_refused_by_name(raw: str) -> None:
    with pytest.raises(InvalidInput, match="OPS_WAIVER_MAX_DAYS must be a whole number of days"):
        Settings.from_env({"OPS_WAIVER_MAX_DAYS": raw})
    assert Settings.from_env({}).waiver_max_days == 14


def test_cli_refuses_a_blanket_count_waiver_and_a_far_expiry_with_exit_2(
    cli, factory: Factory, refund_id: int
) -> None:
    request = (
        *("waivers", "request", "--counter", "pending_refunds", "--reason", "r"),
        *("--release-id", RELEASE, "--actor-username", "ops_maker"),
    )
    before = factory.table_checksums()

    soon = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    blanket = cli(*request, "--max-count", "100", "--expires-at", soon)
    far = cli(*request, "--max-count", "1", "--expires-at", "2099-01-01")

    assert blanket[:2] == (2, "")
    assert "max count 100 exceeds the 1 item(s) blocking pending_refunds now" in blanket[2]
    assert far[:2] == (2, "")
    assert "is more than 14 day(s) ahead (OPS_WAIVER_MAX_DAYS)" in far[2]
    assert factory.table_checksums() == before


def test_the_cli_holds_a_waiver_to_the_configured_day_limit(
    cli, factory: Factory, refund_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_WAIVER_MAX_DAYS", "3")
    four_days = (datetime.now(UTC) + timedelta(days=4)).isoformat()

    code, _, err = cli(
        *("waivers", "request", "--counter", "pending_refunds", "--reason", "r"),
        *("--release-id", RELEASE, "--actor-username", "ops_maker"),
        *("--max-count", "1", "--expires-at", four_days),
    )

    assert code == 2
    assert "is more than 3 day(s) ahead (OPS_WAIVER_MAX_DAYS)" in err


def test_cli_refuses_a_request_with_both_scopes(cli, refund_id: int) -> None:
    code, _, err = cli(
        "waivers",
        "request",
        "--counter",
        "pending_refunds",
        "--item-id",
        str(refund_id),
        "--max-count",
        "2",
        "--reason",
        "r",
        "--expires-at",
        "2099-01-01",
        "--release-id",
        RELEASE,
        "--actor-username",
        "ops_maker",
    )
    assert code == 2
    assert "not allowed with argument" in err
