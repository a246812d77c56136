"""Dispute refunds: the cap by source event, the SLA, the case, and maker-checker decisions."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from ops_domain.cases.service import open_case
from ops_domain.config import Settings
from ops_domain.disputes.refunds import (
    approve_refund,
    execute_refund,
    fail_refund,
    reject_refund,
    request_refund,
)
from ops_domain.errors import (
    ActorNotAllowed,
    DomainError,
    IllegalTransition,
    InvalidInput,
    MakerCheckerViolation,
    NotFound,
)
from tests.support.factories import Factory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def people(factory: Factory) -> dict[str, int]:
    return {
        "cs": factory.user("cs", "customer_service"),
        "risky": factory.user("risky", "risk"),
        "boss": factory.user("boss", "admin"),
        "cash": factory.user("cash", "treasury"),
        "ops": factory.user("ops", "operation"),
        "seller": factory.user("seller", "sales"),
    }


@pytest.fixture
def shop(factory: Factory) -> int:
    return factory.merchant("SHOP")


@pytest.fixture
def event(factory: Factory, shop: int) -> int:
    return factory.event(shop, "100.00", fee="3.00")


def request(engine: Engine, settings: Settings, event_id: int, amount: str, **extra) -> dict:
    values = {"actor_username": "cs", "reason": "not delivered", "customer_ref": "CUST-9"}
    return request_refund(
        engine, settings, source_event_id=event_id, amount=amount, now=NOW, **{**values, **extra}
    )


def row(engine: Engine, table: str, row_id: int) -> dict:
    with engine.begin() as conn:
        return dict(
            conn.execute(text(f"SELECT * FROM {table} WHERE id = :id"), {"id": row_id})
            .mappings()
            .one()
        )


def test_a_request_takes_the_event_currency_an_sla_and_opens_a_refund_case_for_two_teams(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], shop: int
) -> None:
    euro_event = factory.event(shop, "80.00", currency="EUR")

    refund = request(engine, replace(settings, refund_sla_hours=24), euro_event, "30.50")

    assert refund["status"] == "pending"
    assert (refund["amount"], refund["currency"]) == (Decimal("30.50"), "EUR")
    assert refund["sla_due_at"] == NOW + timedelta(hours=24)
    assert refund["maker_id"] == people["cs"]
    assert refund["refund_no"].startswith("REFUND-")
    case = row(engine, "cases", refund["case_id"])
    assert (case["case_type"], case["status"], case["merchant_id"]) == ("refund", "open", shop)
    assert case["sla_due_at"] == refund["sla_due_at"]
    with engine.begin() as conn:
        teams = conn.execute(
            text(
                "SELECT r.name FROM case_assignments a JOIN roles r ON r.id = a.role_id"
                " WHERE a.case_id = :id ORDER BY r.name"
            ),
            {"id": refund["case_id"]},
        ).scalars()
        assert list(teams) == ["customer_service", "risk"]
    assert factory.audit_actions("refund.") == ["refund.request"]
    assert factory.audit_actions("case.") == ["case.open"]


def test_a_request_can_join_an_existing_case_of_the_same_merchant(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    case = factory.case(people["cs"], case_type="dispute")

    refund = request(engine, settings, event, "10.00", case_id=case)

    assert refund["case_id"] == case
    assert factory.count("cases") == 1


def test_a_case_of_another_merchant_is_refused(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    other = open_case(
        engine, actor_username="cs", case_type="dispute", priority="low", title="other shop",
        teams=["customer_service"], merchant_id=factory.merchant("OTHER"),
    )  # fmt: skip
    before = factory.table_checksums()

    with pytest.raises(InvalidInput, match=f"case {other['case_no']} belongs to merchant #2"):
        request(engine, settings, event, "10.00", case_id=other["id"])

    assert factory.table_checksums() == before


def test_the_cap_is_the_event_amount_minus_refunds_not_rejected_or_failed(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    first = request(engine, settings, event, "60.00")
    before = factory.table_checksums()

    with pytest.raises(InvalidInput, match=r"exceeds what is left .* 40\.00 of 100\.00"):
        request(engine, settings, event, "40.01")
    assert factory.table_checksums() == before

    request(engine, settings, event, "40.00")
    with pytest.raises(InvalidInput, match=r"0\.00 of 100\.00"):
        request(engine, settings, event, "0.01")

    reject_refund(engine, refund_id=first["id"], actor_username="risky", note="duplicate claim")
    again = request(engine, settings, event, "60.00")
    assert again["status"] == "pending"


def test_a_failed_refund_makes_its_amount_refundable_again(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    refund = request(engine, settings, event, "100.00")
    approve_refund(engine, refund_id=refund["id"], actor_username="risky", note="valid")
    fail_refund(engine, refund_id=refund["id"], actor_username="cash", note="card expired")

    retry = request(engine, settings, event, "100.00")

    assert retry["amount"] == Decimal("100.00")


def test_concurrent_requests_never_refund_more_than_the_event(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def ask() -> None:
        start.wait()
        try:
            request(engine, settings, event, "15.00")
            outcomes.append("accepted")
        except InvalidInput:
            outcomes.append("refused")

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["accepted"] * 6 + ["refused"] * 2
    with engine.begin() as conn:
        total = conn.execute(
            text("SELECT sum(amount) FROM refund_requests WHERE source_event_id = :e"),
            {"e": event},
        ).scalar_one()
    assert total == Decimal("90.00")


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("0", InvalidInput),
        ("-5.00", InvalidInput),
        ("1.234", InvalidInput),
        ("ten", InvalidInput),
    ],
)
def test_a_bad_amount_is_refused_before_anything_changes(
    engine: Engine,
    settings: Settings,
    factory: Factory,
    people: dict[str, int],
    event: int,
    amount: str,
    error: type[DomainError],
) -> None:
    before = factory.table_checksums()

    with pytest.raises(error):
        request(engine, settings, event, amount)

    assert factory.table_checksums() == before


def test_only_an_existing_credit_event_in_an_enabled_currency_and_an_open_case_qualify(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], shop: int
) -> None:
    debit = factory.event(shop, "20.00", direction="debit")
    credit = factory.event(shop, "20.00")
    closed_case = factory.case(people["cs"], status="closed")
    disabled_currency = factory.event(shop, "20.00", currency="SGD")
    before = factory.table_checksums()

    with pytest.raises(NotFound, match="cashflow event 999"):
        request(engine, settings, 999, "1.00")
    with pytest.raises(InvalidInput, match="is a debit"):
        request(engine, settings, debit, "1.00")
    with pytest.raises(InvalidInput, match="is closed; open a new case"):
        request(engine, settings, credit, "1.00", case_id=closed_case)
    with pytest.raises(NotFound, match="case 4242"):
        request(engine, settings, credit, "1.00", case_id=4242)
    with pytest.raises(InvalidInput, match="currency SGD is not enabled"):
        request(engine, settings, disabled_currency, "1.00")
    with pytest.raises(ActorNotAllowed, match="customer_service"):
        request(engine, settings, credit, "1.00", actor_username="seller")

    assert factory.table_checksums() == before


def test_approve_needs_a_checker_who_is_not_the_maker_and_a_note(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    factory.user("risky_maker", "customer_service", "risk")
    refund = request(engine, settings, event, "20.00", actor_username="risky_maker")
    before = factory.table_checksums()

    with pytest.raises(MakerCheckerViolation, match="is the maker"):
        approve_refund(engine, refund_id=refund["id"], actor_username="risky_maker", note="ok")
    with pytest.raises(MakerCheckerViolation, match="needs a note"):
        approve_refund(engine, refund_id=refund["id"], actor_username="risky", note="  ")
    with pytest.raises(ActorNotAllowed, match="admin, risk, super_admin"):
        approve_refund(engine, refund_id=refund["id"], actor_username="ops", note="ok")
    assert factory.table_checksums() == before

    approved = approve_refund(
        engine, refund_id=refund["id"], actor_username="risky", note="receipt checked", now=NOW
    )

    assert approved["status"] == "approved"
    assert approved["checker_id"] == people["risky"]
    assert approved["checker_note"] == "receipt checked"
    assert approved["decided_at"] == NOW
    assert factory.audit_actions("refund.") == ["refund.request", "refund.approve"]
    assert factory.count(
        "case_notes", "case_id = :c AND body = :b", c=refund["case_id"],
        b=f"Refund {refund['refund_no']} approved: receipt checked",
    ) == 1  # fmt: skip


def test_execute_and_fail_follow_approval_and_are_not_done_by_the_maker(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    factory.user("fin", "finance")
    refund = request(engine, settings, event, "20.00", actor_username="fin")

    with pytest.raises(IllegalTransition, match="pending -> executed"):
        execute_refund(engine, refund_id=refund["id"], actor_username="cash", note="paid")
    approve_refund(engine, refund_id=refund["id"], actor_username="boss", note="fine")
    with pytest.raises(MakerCheckerViolation, match="'fin' is the maker"):
        execute_refund(engine, refund_id=refund["id"], actor_username="fin", note="paid")
    with pytest.raises(MakerCheckerViolation, match="needs a note"):
        execute_refund(engine, refund_id=refund["id"], actor_username="cash", note="")
    with pytest.raises(ActorNotAllowed, match="finance, super_admin, treasury"):
        execute_refund(engine, refund_id=refund["id"], actor_username="risky", note="paid")

    executed = execute_refund(engine, refund_id=refund["id"], actor_username="cash", note="wire 77")

    assert executed["status"] == "executed"
    assert executed["checker_note"] == "fine"
    with pytest.raises(IllegalTransition, match="executed -> failed"):
        fail_refund(engine, refund_id=refund["id"], actor_username="cash", note="bounced")
    assert factory.audit_actions("refund.") == [
        "refund.request",
        "refund.approve",
        "refund.execute",
    ]


def test_a_decided_refund_cannot_be_decided_again(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    refund = request(engine, settings, event, "20.00")
    reject_refund(engine, refund_id=refund["id"], actor_username="risky", note="fraud")

    with pytest.raises(IllegalTransition, match="rejected -> approved"):
        approve_refund(engine, refund_id=refund["id"], actor_username="boss", note="second look")
    with pytest.raises(NotFound, match="refund request 77"):
        approve_refund(engine, refund_id=77, actor_username="boss", note="x")

    assert row(engine, "refund_requests", refund["id"])["status"] == "rejected"
