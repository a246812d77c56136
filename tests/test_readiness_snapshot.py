"""The readiness counters and how approved, unexpired waivers lift them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, create_engine, text

from ops_domain.config import DEFAULT_WAIVER_MAX_DAYS
from ops_domain.db import transaction
from ops_domain.disputes.refunds import approve_refund
from ops_domain.readiness.models import READINESS_COUNTERS
from ops_domain.readiness.snapshot import (
    SNAPSHOT_SQL,
    GateEvidence,
    ReadinessSnapshot,
    take_snapshot,
)
from ops_domain.readiness.waivers import approve_waiver, reject_waiver, request_waiver
from tests.support.checks import run_registered
from tests.support.factories import DEFAULT_TIME, Factory

NOW = DEFAULT_TIME
RELEASE = "2026.11.20-1"


@pytest.fixture
def people(factory: Factory) -> dict[str, int]:
    return {
        "maker": factory.user("ops_maker", "operation"),
        "checker": factory.user("risk_checker", "risk"),
    }


def snapshot_of(
    engine: Engine, *, release_id: str = RELEASE, environment: str = "production", at=NOW
) -> ReadinessSnapshot:
    with transaction(engine) as session:
        return take_snapshot(session, release_id=release_id, environment=environment, now=at)


def approved_waiver(engine: Engine, counter: str, *, expires_in=timedelta(days=1), **scope) -> int:
    waiver = request_waiver(
        engine,
        max_days=DEFAULT_WAIVER_MAX_DAYS,
        actor_username="ops_maker",
        counter=counter,
        reason="known issue, fixed in the next release",
        expires_at=NOW + expires_in,
        release_id=scope.pop("release_id", RELEASE),
        environment=scope.pop("environment", "production"),
        now=NOW,
        **scope,
    )
    approve_waiver(
        engine, waiver_id=waiver.id, actor_username="risk_checker", note="accepted", now=NOW
    )
    return waiver.id


def pending_refunds(factory: Factory, maker: int, count: int) -> list[int]:
    merchant = factory.merchant()
    return [factory.refund(maker, factory.event(merchant, "100.00"), "10.00") for _ in range(count)]


def test_counters_count_only_items_that_block_a_release(
    engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    maker = people["maker"]
    pending_refunds(factory, maker, 2)
    merchant = factory.merchant()
    factory.refund(maker, factory.event(merchant, "50.00"), "5.00", status="approved")
    factory.failed_payout(maker)
    factory.recon_break(maker, status="open")
    factory.recon_break(maker, status="in_review")
    factory.recon_break(maker, status="resolved")
    factory.alert("a", severity="high", status="open", target_id="1")
    factory.alert("b", severity="critical", status="in_review", target_id="2")
    factory.alert("c", severity="medium", status="open", target_id="3")
    factory.alert("d", severity="high", status="closed", target_id="4")

    snapshot = snapshot_of(engine)

    assert snapshot.counted() == {
        "pending_refunds": 2,
        "failed_payouts": 1,
        "open_recon_breaks": 2,
        "open_high_alerts": 2,
    }
    assert snapshot.blocking_counts() == snapshot.counted()
    check = snapshot.as_check()
    assert check.status == "fail"
    assert check.details["failed_counters"] == list(snapshot.counted())


def test_empty_database_passes_with_every_counter_at_zero(engine: Engine) -> None:
    check = run_registered("readiness_snapshot", engine)

    assert check.status == "pass"
    assert check.details["counted"] == dict.fromkeys(check.details["counted"], 0)


def test_item_waiver_lifts_exactly_the_items_it_names(
    engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    first, second, third = pending_refunds(factory, people["maker"], 3)
    waiver_id = approved_waiver(engine, "pending_refunds", item_ids=[first, third])

    snapshot = snapshot_of(engine)

    state = snapshot.counters["pending_refunds"]
    assert (state.total, state.waived_items, state.blocking) == (3, [first, third], 1)
    assert [c.status for c in snapshot.counter_checks()] == ["fail", "pass", "pass", "pass"]
    [applied] = snapshot.applied_waivers()
    assert (applied["id"], applied["items_waived"], applied["approved_by"]) == (
        waiver_id,
        [first, third],
        "risk_checker",
    )

    approved_waiver(engine, "pending_refunds", item_ids=[second])
    assert snapshot_of(engine).as_check().status == "waived"


def test_expired_waiver_lifts_nothing(
    engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    refunds = pending_refunds(factory, people["maker"], 2)
    approved_waiver(engine, "pending_refunds", item_ids=refunds, expires_in=timedelta(hours=1))

    assert (
        snapshot_of(engine, at=NOW + timedelta(minutes=59)).blocking_counts()["pending_refunds"]
        == 0
    )
    later = snapshot_of(engine, at=NOW + timedelta(hours=1))

    assert later.blocking_counts()["pending_refunds"] == 2
    assert later.counters["pending_refunds"].waived_items == []
    assert later.applied_waivers() == []
    assert later.as_check().status == "fail"


def test_pending_rejected_and_other_release_waivers_never_apply(
    engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    [refund] = pending_refunds(factory, people["maker"], 1)
    scope = {
        "actor_username": "ops_maker",
        "counter": "pending_refunds",
        "reason": "customer agreed",
        "expires_at": NOW + timedelta(days=1),
        "item_ids": [refund],
        "now": NOW,
        "max_days": DEFAULT_WAIVER_MAX_DAYS,
    }
    request_waiver(engine, release_id=RELEASE, **scope)
    rejected = request_waiver(engine, release_id=RELEASE, **scope)
    reject_waiver(engine, waiver_id=rejected.id, actor_username="risk_checker", note="no", now=NOW)
    approved_waiver(engine, "pending_refunds", item_ids=[refund], release_id="another-release")

    snapshot = snapshot_of(engine)

    assert snapshot.blocking_counts()["pending_refunds"] == 1
    assert snapshot.applied_waivers() == []
    assert (
        snapshot_of(engine, release_id="another-release").blocking_counts()["pending_refunds"] == 0
    )


def test_count_waiver_allows_up_to_its_count_and_no_more(
    engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    factory.alert("a", target_id="1")
    factory.alert("b", target_id="2")
    waiver_id = approved_waiver(engine, "open_high_alerts", max_count=2)

    within = snapshot_of(engine)
    assert within.counters["open_high_alerts"].as_check().status == "waived"
    assert [(w["id"], w["count_waived"]) for w in within.applied_waivers()] == [(waiver_id, 2)]

    factory.alert("c", target_id="3")
    beyond = snapshot_of(engine)

    assert beyond.blocking_counts()["open_high_alerts"] == 3
    assert beyond.counters["open_high_alerts"].as_check().status == "fail"
    assert beyond.applied_waivers() == []


def test_many_items_with_an_item_and_a_count_waiver_count_every_item_once(
    engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    refunds = pending_refunds(factory, people["maker"], 40)
    merchant = factory.merchant()
    factory.refund(people["maker"], factory.event(merchant, "50.00"), "5.00", status="approved")
    unwaived = snapshot_of(engine).counters["pending_refunds"]
    assert (unwaived.total, unwaived.waived_items, unwaived.remaining) == (40, [], 40)

    named = [refunds[39], refunds[0], refunds[17]]
    item_waiver = approved_waiver(engine, "pending_refunds", item_ids=named)
    count_waiver = approved_waiver(engine, "pending_refunds", max_count=37)
    waived = snapshot_of(engine)

    state = waived.counters["pending_refunds"]
    assert (state.total, state.waived_items, state.remaining) == (40, sorted(named), 37)
    assert (state.allowance, state.blocking, state.as_check().status) == (37, 0, "waived")
    assert [
        (w["id"], w.get("items_waived"), w.get("count_waived")) for w in waived.applied_waivers()
    ] == [(item_waiver, sorted(named), None), (count_waiver, None, 37)]

    pending_refunds(factory, people["maker"], 1)
    beyond = snapshot_of(engine).counters["pending_refunds"]
    assert (beyond.total, beyond.remaining, beyond.blocking) == (41, 38, 38)
    assert beyond.as_check().status == "fail"


def test_unreachable_database_is_an_error_never_a_pass() -> None:
    unreachable = create_engine(
        "postgresql+psycopg2://ops@127.0.0.1:1/ops", connect_args={"connect_timeout": 2}
    )

    check = run_registered("readiness_snapshot", unreachable)

    assert check.status == "error"
    assert check.name == "readiness_snapshot"
    assert "DatabaseUnavailable" in check.summary


def test_the_one_snapshot_query_can_use_each_counters_partial_index(engine: Engine) -> None:
    with engine.begin() as conn:
        # Open low-severity alerts sit in the active-dedupe partial index, not in the open-high
        # one: with statistics that say so, the choice between two empty indexes is no tie.
        conn.execute(
            text(
                "INSERT INTO alerts (alert_type, severity, status, title, target_type, target_id,"
                " dedupe_key) SELECT 'manual', 'low', 'open', 'noise', 'merchant', n::text,"
                " 'noise:' || n FROM generate_series(1, 2000) AS n"
            )
        )
        conn.execute(text("ANALYZE alerts"))
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            conn.execute(
                text(f"EXPLAIN {SNAPSHOT_SQL}"),
                {
                    "release_id": RELEASE,
                    "environment": "production",
                    "now": NOW,
                    "counters": list(READINESS_COUNTERS),
                },
            ).scalars()
        )

    for index in (
        "ix_refund_requests_pending_sla",
        "ix_payouts_open",
        "ix_reconciliation_breaks_unresolved",
        "ix_alerts_open_high",
    ):
        assert f"Scan on {index}" in plan or f"Scan using {index} on" in plan


def test_a_waiver_applies_only_to_the_environment_it_names(
    engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    [refund] = pending_refunds(factory, people["maker"], 1)
    approved_waiver(engine, "pending_refunds", item_ids=[refund], environment="staging")

    assert snapshot_of(engine, environment="staging").blocking_counts()["pending_refunds"] == 0
    assert snapshot_of(engine).blocking_counts()["pending_refunds"] == 1


def test_a_count_waiver_covers_only_the_items_blocking_when_it_was_approved(
    engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    [covered] = pending_refunds(factory, people["maker"], 1)
    waiver_id = approved_waiver(engine, "pending_refunds", max_count=1)
    assert snapshot_of(engine).blocking_counts()["pending_refunds"] == 0

    approve_refund(engine, refund_id=covered, actor_username="risk_checker", note="paid")
    [newcomer] = pending_refunds(factory, people["maker"], 1)
    later = snapshot_of(engine)

    assert later.blocking_counts()["pending_refunds"] == 1
    assert later.applied_waivers() == []
    with engine.begin() as conn:
        coverage = conn.execute(
            text("SELECT covered_item_ids FROM readiness_waivers WHERE id = :id"), {"id": waiver_id}
        ).scalar_one()
    assert coverage == [covered]
    assert newcomer not in coverage


def test_the_gate_evidence_is_what_the_snapshot_check_measured(
    engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    """One typed path: the evidence read back from the check's (XCom-serialised) result is
    the evidence the snapshot measured."""
    from ops_domain.checks import CheckResult

    pending_refunds(factory, people["maker"], 2)
    approved_waiver(engine, "pending_refunds", max_count=2)
    snapshot = snapshot_of(engine)
    published = CheckResult(**snapshot.as_check().to_dict())
    checks = [CheckResult("migrations", "pass", "head", {"blocking": {"ignored": 9}}), published]

    evidence, measured = GateEvidence.of(checks), snapshot.evidence()
    assert (evidence.blocking, evidence.counted) == (measured.blocking, measured.counted)
    assert (evidence.failed_counters, evidence.waived_counters) == ([], ["pending_refunds"])
    assert [w["id"] for w in evidence.waivers] == [w["id"] for w in measured.waivers] != []
    assert evidence.stored_counters() == {**measured.blocking, "counted": measured.counted}
    assert GateEvidence.of(checks[:1]) == GateEvidence()
    assert GateEvidence.of([CheckResult("readiness_snapshot", "error", "lost", {})]).waivers == []
