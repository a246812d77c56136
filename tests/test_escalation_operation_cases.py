"""escalate_operation_cases: overdue open / in-progress cases are escalated once and alerted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from ops_domain.alerts.service import update_alert
from ops_domain.cases.escalation import escalate_operation_cases
from ops_domain.cases.service import transition_case
from ops_domain.config import Settings
from ops_domain.errors import InvalidInput
from tests.support.factories import Factory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OVERDUE = NOW - timedelta(minutes=5)


@pytest.fixture
def author(factory: Factory) -> int:
    factory.user("ops", "operation")
    factory.user("boss", "admin")
    return factory.user("cs", "customer_service")


def case_status(engine: Engine, case_id: int) -> str:
    with engine.begin() as conn:
        return conn.execute(
            text("SELECT status FROM cases WHERE id = :id"), {"id": case_id}
        ).scalar_one()


def alerts(engine: Engine) -> list[dict]:
    with engine.begin() as conn:
        return [
            dict(row)
            for row in conn.execute(
                text(
                    "SELECT id, alert_type, severity, status, target_type, target_id, case_id,"
                    " dedupe_key FROM alerts ORDER BY id"
                )
            ).mappings()
        ]


@pytest.mark.parametrize(
    ("priority", "severity"),
    [("low", "medium"), ("medium", "medium"), ("high", "high"), ("critical", "high")],
)
def test_breach_alert_severity_follows_case_priority(
    engine: Engine,
    settings: Settings,
    factory: Factory,
    author: int,
    priority: str,
    severity: str,
) -> None:
    case = factory.case(author, priority=priority, sla_due_at=OVERDUE)

    escalate_operation_cases(engine, settings, actor_username="ops", now=NOW)

    assert alerts(engine) == [
        {
            "id": 1,
            "alert_type": "case_sla_breach",
            "severity": severity,
            "status": "open",
            "target_type": "case",
            "target_id": str(case),
            "case_id": case,
            "dedupe_key": f"case_sla_breach:case:{case}",
        }
    ]


def test_overdue_open_and_in_progress_cases_are_escalated_noted_and_audited(
    engine: Engine, settings: Settings, factory: Factory, author: int
) -> None:
    opened = factory.case(author, sla_due_at=OVERDUE)
    working = factory.case(author, status="in_progress", sla_due_at=OVERDUE)
    untouched = {
        factory.case(author, sla_due_at=NOW + timedelta(minutes=1)): "open",
        factory.case(author, status="escalated", sla_due_at=OVERDUE): "escalated",
        factory.case(author, status="resolved", sla_due_at=OVERDUE): "resolved",
        factory.case(author, status="closed", sla_due_at=OVERDUE): "closed",
    }

    result = escalate_operation_cases(engine, settings, actor_username="ops", now=NOW)

    assert result.counts == {"cases_escalated": 2, "alerts_raised": 2}
    assert case_status(engine, opened) == case_status(engine, working) == "escalated"
    assert {case_id: case_status(engine, case_id) for case_id in untouched} == untouched
    assert sorted((c["id"], c["previous_status"]) for c in result.items["cases"]) == [
        (opened, "open"),
        (working, "in_progress"),
    ]
    assert factory.count("case_notes", "is_internal AND body LIKE 'Escalated: SLA due%'") == 2
    assert sorted(factory.audit_actions("case.")) == ["case.escalate"] * 2 + ["case.note"] * 2
    assert factory.audit_actions("alert.") == ["alert.raise"] * 2


def test_rerun_escalates_nothing_twice(
    engine: Engine, settings: Settings, factory: Factory, author: int
) -> None:
    factory.case(author, sla_due_at=OVERDUE)
    escalate_operation_cases(engine, settings, actor_username="ops", now=NOW)

    rerun = escalate_operation_cases(
        engine, settings, actor_username="ops", now=NOW + timedelta(days=1)
    )

    assert rerun.counts == {"cases_escalated": 0, "alerts_raised": 0}
    assert factory.count("case_notes") == 1
    assert factory.count("alerts") == 1


@pytest.mark.parametrize(
    ("fallback_hours", "escalated"),
    [(24, {"old"}), (0, {"old", "recent"}), (48, set()), (25.5, set())],
)
def test_a_case_without_sla_is_overdue_after_the_fallback_age(
    engine: Engine,
    settings: Settings,
    factory: Factory,
    author: int,
    fallback_hours: float,
    escalated: set[str],
) -> None:
    cases = {
        "old": factory.case(author, created_at=NOW - timedelta(hours=25)),
        "recent": factory.case(author, created_at=NOW - timedelta(hours=23)),
    }

    result = escalate_operation_cases(
        engine, settings, actor_username="ops", now=NOW, fallback_sla_hours=fallback_hours
    )

    assert result.counts["cases_escalated"] == len(escalated)
    assert {name for name, case in cases.items() if case_status(engine, case) == "escalated"} == (
        escalated
    )
    if escalated:
        assert factory.count("case_notes", "body LIKE 'Escalated: no SLA set%'") == len(escalated)


def test_the_alert_is_not_duplicated_while_open_and_is_raised_again_after_close(
    engine: Engine, settings: Settings, factory: Factory, author: int
) -> None:
    case = factory.case(author, priority="high", sla_due_at=OVERDUE)
    escalate_operation_cases(engine, settings, actor_username="ops", now=NOW)

    transition_case(engine, case_id=case, to_status="in_progress", actor_username="ops")
    second = escalate_operation_cases(engine, settings, actor_username="ops", now=NOW)
    (alert_id,) = (a["id"] for a in alerts(engine))
    update_alert(
        engine, alert_id=alert_id, to_status="closed", actor_username="boss", note="handled"
    )
    transition_case(engine, case_id=case, to_status="in_progress", actor_username="ops")
    third = escalate_operation_cases(engine, settings, actor_username="ops", now=NOW)

    assert second.counts == {"cases_escalated": 1, "alerts_raised": 0}
    assert third.counts == {"cases_escalated": 1, "alerts_raised": 1}
    assert [(a["status"], a["dedupe_key"]) for a in alerts(engine)] == [
        ("closed", f"case_sla_breach:case:{case}"),
        ("open", f"case_sla_breach:case:{case}"),
    ]


def test_every_overdue_case_is_escalated_across_several_batches(
    engine: Engine, settings: Settings, factory: Factory, author: int
) -> None:
    for _ in range(5):
        factory.case(author, sla_due_at=OVERDUE)

    result = escalate_operation_cases(
        engine, replace(settings, batch_size=2), actor_username="ops", now=NOW
    )

    assert result.counts == {"cases_escalated": 5, "alerts_raised": 5}
    assert factory.count("cases", "status = 'escalated'") == 5


def test_dry_run_reports_the_real_run_and_writes_only_its_job_run(
    engine: Engine, settings: Settings, factory: Factory, author: int
) -> None:
    for priority in ("low", "critical", "high"):
        factory.case(author, priority=priority, sla_due_at=OVERDUE)
    factory.case(author, created_at=NOW - timedelta(days=2))
    before = factory.table_checksums()
    small = replace(settings, batch_size=3)

    dry = escalate_operation_cases(engine, small, actor_username="ops", now=NOW, dry_run=True)
    after_dry = factory.table_checksums()
    real = escalate_operation_cases(engine, small, actor_username="ops", now=NOW)

    assert dry.counts == real.counts == {"cases_escalated": 4, "alerts_raised": 4}
    assert dry.items["cases"] == real.items["cases"]
    # alert ids come from a sequence, which a rolled-back dry run still advances
    assert [{**a, "id": None} for a in dry.items["alerts"]] == [
        {**a, "id": None} for a in real.items["alerts"]
    ]
    assert {t for t in before if before[t] != after_dry[t]} == {"job_runs"}


@pytest.mark.parametrize("hours", [-1, -0.5, float("nan"), float("inf")])
def test_a_bad_fallback_is_refused_before_anything_changes(
    engine: Engine, settings: Settings, factory: Factory, author: int, hours: float
) -> None:
    factory.case(author, sla_due_at=OVERDUE)
    before = factory.table_checksums()

    with pytest.raises(InvalidInput, match="fallback SLA hours must be a non-negative number"):
        escalate_operation_cases(
            engine, settings, actor_username="ops", now=NOW, fallback_sla_hours=hours
        )

    assert factory.table_checksums() == before
