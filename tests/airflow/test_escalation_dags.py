"""The escalation DAGs end to end: they escalate what is overdue as of the run, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from tests.airflow.support import run_dag
from tests.support.factories import Factory

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the logical date each run stands for


def rows(engine: Engine, sql: str) -> list[tuple]:
    with engine.begin() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def test_refund_escalation_escalates_overdue_refunds_once_as_of_the_run(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    factory.user("olga", "operation")
    agent = factory.user("cora", "customer_service")
    event = factory.event(factory.merchant("SHOP"), "500.00")
    case = factory.case(agent, case_type="refund", status="in_progress")
    overdue = factory.refund(
        agent, event, "40.00", case_id=case, sla_due_at=NOW - timedelta(hours=1)
    )
    factory.refund(agent, event, "10.00", sla_due_at=NOW + timedelta(minutes=1))
    first = run_dag("refund_dispute_escalation", login="olga", logical_date=NOW)
    second = run_dag(
        "refund_dispute_escalation", login="olga", logical_date=NOW + timedelta(minutes=15)
    )

    assert first.state == "success", first.tasks
    assert first.xcom("escalate_refund_disputes")["counts"] == {
        "refunds_escalated": 1,
        "cases_escalated": 1,
        "case_notes_added": 1,
    }
    assert second.state == "success", second.tasks
    assert second.xcom("escalate_refund_disputes")["counts"]["refunds_escalated"] == 1  # the other
    assert rows(engine, "SELECT id, escalated_at FROM refund_requests ORDER BY id") == [
        (overdue, NOW),
        (overdue + 1, NOW + timedelta(minutes=15)),
    ]
    assert rows(engine, f"SELECT status FROM cases WHERE id = {case}") == [("escalated",)]
    assert factory.audit_actions("refund.") == ["refund.escalate", "refund.escalate"]


def test_case_escalation_uses_the_fallback_sla_param_and_alerts_once_per_case(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    factory.user("rita", "risk")
    agent = factory.user("cora", "customer_service")
    stale = factory.case(agent, priority="critical", created_at=NOW - timedelta(hours=3))
    factory.case(agent, created_at=NOW - timedelta(hours=1))
    conf = {"fallback_sla_hours": 2}

    first = run_dag("case_sla_escalation", conf, login="rita", logical_date=NOW)
    second = run_dag(
        "case_sla_escalation", conf, login="rita", logical_date=NOW + timedelta(minutes=5)
    )

    assert (first.state, second.state) == ("success", "success")
    assert rows(engine, "SELECT id, status FROM cases ORDER BY id") == [
        (stale, "escalated"),
        (stale + 1, "open"),
    ]
    assert rows(engine, "SELECT alert_type, severity, target_id FROM alerts") == [
        ("case_sla_breach", "high", str(stale))
    ]
    assert second.xcom("escalate_operation_cases")["counts"].get("cases_escalated", 0) == 0


def test_work_queue_escalation_alerts_overdue_breaks_once(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    ops = factory.user("olga", "operation")
    in_review = factory.recon_break(ops, status="in_review", created_at=NOW - timedelta(hours=13))
    factory.recon_break(ops, created_at=NOW - timedelta(hours=11))
    first = run_dag("ops_work_queue_escalation", login="olga", logical_date=NOW)
    second = run_dag("ops_work_queue_escalation", login="olga", logical_date=NOW)

    assert (first.state, second.state) == ("success", "success")
    assert first.xcom("escalate_ops_work_queue")["counts"]["reconciliation_break_sla_raised"] == 1
    assert second.xcom("escalate_ops_work_queue")["counts"]["alerts_raised"] == 0
    assert rows(engine, "SELECT alert_type, severity, target_id FROM alerts") == [
        ("reconciliation_break_sla", "high", str(in_review))
    ]
