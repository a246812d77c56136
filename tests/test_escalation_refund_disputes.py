"""escalate_refund_disputes: overdue pending refunds are escalated once, with their cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from ops_domain.config import Settings
from ops_domain.disputes.escalation import escalate_refund_disputes
from ops_domain.errors import ActorNotAllowed
from tests.support.factories import Factory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OVERDUE = NOW - timedelta(hours=1)
NOT_YET_DUE = NOW + timedelta(hours=1)


@pytest.fixture
def people(factory: Factory) -> dict[str, int]:
    return {"ops": factory.user("ops", "operation"), "cs": factory.user("cs", "customer_service")}


@pytest.fixture
def event(factory: Factory) -> int:
    return factory.event(factory.merchant("SHOP"), "500.00")


def actions_since_setup(factory: Factory) -> list[str]:
    return [action for action in factory.audit_actions() if not action.startswith("user.")]


def refund_row(engine: Engine, refund_id: int) -> dict:
    with engine.begin() as conn:
        return dict(
            conn.execute(text("SELECT * FROM refund_requests WHERE id = :id"), {"id": refund_id})
            .mappings()
            .one()
        )


def case_status(engine: Engine, case_id: int) -> str:
    with engine.begin() as conn:
        return conn.execute(
            text("SELECT status FROM cases WHERE id = :id"), {"id": case_id}
        ).scalar_one()


def case_notes(engine: Engine, case_id: int) -> list[tuple[str, bool]]:
    with engine.begin() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text("SELECT body, is_internal FROM case_notes WHERE case_id = :id ORDER BY id"),
                {"id": case_id},
            )
        ]


def test_overdue_pending_refund_is_stamped_and_its_case_escalated_with_an_internal_note(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    case = factory.case(people["cs"], case_type="refund", status="in_progress")
    overdue = factory.refund(people["cs"], event, "40.00", case_id=case, sla_due_at=OVERDUE)

    result = escalate_refund_disputes(engine, settings, actor_username="ops", now=NOW)

    assert result.counts == {"refunds_escalated": 1, "cases_escalated": 1, "case_notes_added": 1}
    refund = refund_row(engine, overdue)
    assert refund["status"] == "pending"
    assert refund["escalated_at"] == NOW
    assert refund["escalation_reason"] == "pending past its SLA (due 2026-11-23T08:00:00Z)"
    assert case_status(engine, case) == "escalated"
    assert case_notes(engine, case) == [
        (
            f"Refund {refund['refund_no']} (40.00 USD) escalated:"
            " pending past its SLA (due 2026-11-23T08:00:00Z).",
            True,
        )
    ]
    assert result.items["cases"][0]["previous_status"] == "in_progress"
    assert actions_since_setup(factory) == [
        "refund.escalate",
        "case.escalate",
        "case.note",
        "job.escalate_refund_disputes.succeeded",
    ]


def test_escalation_audit_rows_record_actor_before_after_and_the_run(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    case = factory.case(people["cs"], case_type="refund", status="open")
    overdue = factory.refund(people["cs"], event, "40.00", case_id=case, sla_due_at=OVERDUE)

    result = escalate_refund_disputes(engine, settings, actor_username="ops", now=NOW)

    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT action, actor_id, target_type, target_id, before, after, details"
                " FROM audit_log WHERE action IN ('refund.escalate', 'case.escalate')"
                " ORDER BY id"
            )
        ).all()
    ops = people["ops"]
    assert [tuple(row) for row in rows] == [
        (
            "refund.escalate",
            ops,
            "refund_request",
            str(overdue),
            {"escalated_at": None},
            {
                "escalated_at": "2026-11-23T09:00:00+00:00",
                "escalation_reason": "pending past its SLA (due 2026-11-23T08:00:00Z)",
            },
            {"job_run_id": result.job_run_id},
        ),
        (
            "case.escalate",
            ops,
            "case",
            str(case),
            {"status": "open"},
            {"status": "escalated"},
            {"reason": "refund dispute past its SLA"},
        ),
    ]


def test_refunds_not_due_not_pending_or_already_escalated_are_left_alone(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    not_due = factory.refund(people["cs"], event, "10.00", sla_due_at=NOT_YET_DUE)
    due_exactly_now = factory.refund(people["cs"], event, "10.00", sla_due_at=NOW)
    approved = factory.refund(people["cs"], event, "10.00", status="approved", sla_due_at=OVERDUE)
    rejected = factory.refund(people["cs"], event, "10.00", status="rejected", sla_due_at=OVERDUE)
    before = factory.table_checksums()

    result = escalate_refund_disputes(engine, settings, actor_username="ops", now=NOW)

    assert result.counts == {"refunds_escalated": 0, "cases_escalated": 0, "case_notes_added": 0}
    for refund_id in (not_due, due_exactly_now, approved, rejected):
        assert refund_row(engine, refund_id)["escalated_at"] is None
    after = factory.table_checksums()
    assert {t for t in before if before[t] != after[t]} == {"job_runs", "audit_log"}
    assert actions_since_setup(factory) == ["job.escalate_refund_disputes.succeeded"]


def test_rerun_never_escalates_a_refund_twice(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    case = factory.case(people["cs"], case_type="refund")
    refund = factory.refund(people["cs"], event, "25.00", case_id=case, sla_due_at=OVERDUE)
    escalate_refund_disputes(engine, settings, actor_username="ops", now=NOW)

    later = NOW + timedelta(days=3)
    rerun = escalate_refund_disputes(engine, settings, actor_username="ops", now=later)

    assert rerun.counts == {"refunds_escalated": 0, "cases_escalated": 0, "case_notes_added": 0}
    assert refund_row(engine, refund)["escalated_at"] == NOW
    assert factory.audit_actions("refund.escalate") == ["refund.escalate"]
    assert len(case_notes(engine, case)) == 1


def test_the_case_moves_only_from_open_or_in_progress_but_is_always_noted(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    resolved = factory.case(people["cs"], case_type="refund", status="resolved")
    escalated = factory.case(people["cs"], case_type="refund", status="escalated")
    factory.refund(people["cs"], event, "10.00", case_id=resolved, sla_due_at=OVERDUE)
    factory.refund(people["cs"], event, "10.00", case_id=escalated, sla_due_at=OVERDUE)

    result = escalate_refund_disputes(engine, settings, actor_username="ops", now=NOW)

    assert result.counts == {"refunds_escalated": 2, "cases_escalated": 0, "case_notes_added": 2}
    assert case_status(engine, resolved) == "resolved"
    assert case_status(engine, escalated) == "escalated"
    assert len(case_notes(engine, resolved)) == len(case_notes(engine, escalated)) == 1
    assert factory.audit_actions("case.escalate") == []


def test_two_overdue_refunds_of_one_case_escalate_the_case_once_and_note_each(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    case = factory.case(people["cs"], case_type="refund")
    factory.refund(people["cs"], event, "10.00", case_id=case, sla_due_at=OVERDUE)
    factory.refund(people["cs"], event, "15.00", case_id=case, sla_due_at=OVERDUE)
    refund_without_case = factory.refund(people["cs"], event, "5.00", sla_due_at=OVERDUE)

    result = escalate_refund_disputes(engine, settings, actor_username="ops", now=NOW)

    assert result.counts == {"refunds_escalated": 3, "cases_escalated": 1, "case_notes_added": 2}
    assert factory.audit_actions("case.escalate") == ["case.escalate"]
    assert len(case_notes(engine, case)) == 2
    assert refund_row(engine, refund_without_case)["escalated_at"] == NOW


def test_now_pins_the_clock_that_decides_what_is_overdue(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    due = datetime(2026, 11, 22, 18, 30, tzinfo=UTC)
    refund = factory.refund(people["cs"], event, "10.00", sla_due_at=due)

    early = escalate_refund_disputes(engine, settings, actor_username="ops", now=due)
    late = escalate_refund_disputes(
        engine, settings, actor_username="ops", now=due + timedelta(seconds=1)
    )

    assert (early.counts["refunds_escalated"], late.counts["refunds_escalated"]) == (0, 1)
    assert refund_row(engine, refund)["escalated_at"] == due + timedelta(seconds=1)


def test_every_overdue_refund_is_escalated_across_several_batches(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    for hours in range(1, 8):
        case = factory.case(people["cs"], case_type="refund")
        factory.refund(
            people["cs"], event, "1.00", case_id=case, sla_due_at=NOW - timedelta(hours=hours)
        )

    result = escalate_refund_disputes(
        engine, replace(settings, batch_size=3), actor_username="ops", now=NOW
    )

    assert result.counts == {"refunds_escalated": 7, "cases_escalated": 7, "case_notes_added": 7}
    assert factory.count("refund_requests", "escalated_at IS NULL") == 0
    assert factory.count("cases", "status = 'escalated'") == 7
    first_batch = {r["sla_due_at"] for r in result.items["refunds"][:3]}
    oldest_first = sorted(r["sla_due_at"] for r in result.items["refunds"])[:3]
    assert first_batch == set(oldest_first)


def test_dry_run_reports_the_real_run_and_writes_only_its_job_run(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    for _ in range(3):
        case = factory.case(people["cs"], case_type="refund")
        factory.refund(people["cs"], event, "2.00", case_id=case, sla_due_at=OVERDUE)
    before = factory.table_checksums()
    small = replace(settings, batch_size=2)

    dry = escalate_refund_disputes(engine, small, actor_username="ops", now=NOW, dry_run=True)
    after_dry = factory.table_checksums()
    real = escalate_refund_disputes(engine, small, actor_username="ops", now=NOW)

    assert dry.dry_run is True
    assert (
        dry.counts
        == real.counts
        == {
            "refunds_escalated": 3,
            "cases_escalated": 3,
            "case_notes_added": 3,
        }
    )
    strip = {"refunds": {"escalated_at"}, "cases": set()}
    for kind, ignored in strip.items():
        assert [
            {k: v for k, v in item.items() if k not in ignored} for item in dry.items[kind]
        ] == [{k: v for k, v in item.items() if k not in ignored} for item in real.items[kind]]
    assert {t for t in before if before[t] != after_dry[t]} == {"job_runs"}
    assert factory.count("job_runs", "dry_run AND outcome = 'succeeded'") == 1


def test_an_actor_without_an_escalation_role_is_refused_before_anything_changes(
    engine: Engine, settings: Settings, factory: Factory, people: dict[str, int], event: int
) -> None:
    factory.refund(people["cs"], event, "10.00", sla_due_at=OVERDUE)
    before = factory.table_checksums()

    with pytest.raises(ActorNotAllowed, match="admin, operation, risk, super_admin"):
        escalate_refund_disputes(engine, settings, actor_username="cs", now=NOW)

    assert factory.table_checksums() == before
