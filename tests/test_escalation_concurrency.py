"""Overlapping escalation runs (threads and processes) escalate each item once, alert once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from ops_domain.cases.escalation import escalate_operation_cases
from ops_domain.config import PROJECT_ROOT, Settings
from ops_domain.disputes.escalation import escalate_refund_disputes
from ops_domain.jobs import JobResult
from ops_domain.work_queue.escalation import escalate_ops_work_queue
from tests.support.factories import Factory

pytestmark = pytest.mark.reliability

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OVERDUE = NOW - timedelta(hours=1)
ITEMS = 40


@pytest.fixture
def cs(factory: Factory) -> int:
    factory.user("ops", "operation")
    factory.user("risky", "risk")
    return factory.user("cs", "customer_service")


def run_together(*jobs: Callable[[], JobResult]) -> list[JobResult]:
    """Start every job at the same instant, each in its own thread; re-raise any failure."""
    start = threading.Barrier(len(jobs))
    results: list[JobResult | BaseException] = [RuntimeError("not run")] * len(jobs)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = jobs[index]()
        except BaseException as exc:  # surfaced below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for outcome in results:
        if isinstance(outcome, BaseException):
            raise outcome
    return results  # type: ignore[return-value]


def audit_targets(engine: Engine, action: str) -> list[str]:
    with engine.begin() as conn:
        return list(
            conn.execute(
                text("SELECT target_id FROM audit_log WHERE action = :a"), {"a": action}
            ).scalars()
        )


def test_two_refund_runs_at_once_escalate_each_refund_and_case_once(
    engine: Engine, settings: Settings, factory: Factory, cs: int
) -> None:
    event = factory.event(factory.merchant(), "10000.00")
    shared = factory.case(cs, case_type="refund")
    for n in range(ITEMS):
        case = shared if n % 4 == 0 else factory.case(cs, case_type="refund")
        factory.refund(cs, event, "1.00", case_id=case, sla_due_at=OVERDUE)
    small = replace(settings, batch_size=3)

    results = run_together(
        lambda: escalate_refund_disputes(engine, small, actor_username="ops", now=NOW),
        lambda: escalate_refund_disputes(engine, small, actor_username="risky", now=NOW),
    )

    cases = 1 + ITEMS - ITEMS // 4
    assert sum(r.counts["refunds_escalated"] for r in results) == ITEMS
    assert sum(r.counts["cases_escalated"] for r in results) == cases
    refunds = audit_targets(engine, "refund.escalate")
    assert len(refunds) == len(set(refunds)) == ITEMS
    escalated_cases = audit_targets(engine, "case.escalate")
    assert len(escalated_cases) == len(set(escalated_cases)) == cases
    assert factory.count("case_notes") == ITEMS
    assert factory.count("refund_requests", "escalated_at IS NULL") == 0


def test_two_case_runs_at_once_escalate_each_case_once_and_duplicate_no_alert(
    engine: Engine, settings: Settings, factory: Factory, cs: int
) -> None:
    for n in range(ITEMS):
        factory.case(cs, priority=("low", "critical")[n % 2], sla_due_at=OVERDUE)
    small = replace(settings, batch_size=3)

    results = run_together(
        lambda: escalate_operation_cases(engine, small, actor_username="ops", now=NOW),
        lambda: escalate_operation_cases(engine, small, actor_username="risky", now=NOW),
    )

    assert sum(r.counts["cases_escalated"] for r in results) == ITEMS
    assert sum(r.counts["alerts_raised"] for r in results) == ITEMS
    assert factory.count("alerts") == ITEMS
    assert factory.count("alerts", "severity = 'high'") == ITEMS // 2
    escalated = audit_targets(engine, "case.escalate")
    assert len(escalated) == len(set(escalated)) == ITEMS
    assert factory.count("case_notes") == ITEMS


def test_refund_and_case_runs_at_once_escalate_a_shared_case_once(
    engine: Engine, settings: Settings, factory: Factory, cs: int
) -> None:
    event = factory.event(factory.merchant(), "10000.00")
    for _ in range(ITEMS):
        case = factory.case(cs, case_type="refund", sla_due_at=OVERDUE)
        factory.refund(cs, event, "1.00", case_id=case, sla_due_at=OVERDUE)
    small = replace(settings, batch_size=4)

    refunds, cases = run_together(
        lambda: escalate_refund_disputes(engine, small, actor_username="ops", now=NOW),
        lambda: escalate_operation_cases(engine, small, actor_username="risky", now=NOW),
    )

    assert refunds.counts["refunds_escalated"] == ITEMS
    assert refunds.counts["cases_escalated"] + cases.counts["cases_escalated"] == ITEMS
    escalated = audit_targets(engine, "case.escalate")
    assert len(escalated) == len(set(escalated)) == ITEMS
    assert factory.count("alerts") == cases.counts["cases_escalated"]


def test_two_work_queue_runs_at_once_raise_each_alert_once(
    engine: Engine, settings: Settings, factory: Factory, cs: int
) -> None:
    fin = factory.user("fin", "finance")
    for _ in range(ITEMS // 2):
        factory.recon_break(fin, created_at=NOW - timedelta(hours=13))
        factory.journal_approval(fin, requested_at=NOW - timedelta(hours=9))
    small = replace(settings, batch_size=3)

    results = run_together(
        lambda: escalate_ops_work_queue(engine, small, actor_username="ops", now=NOW),
        lambda: escalate_ops_work_queue(engine, small, actor_username="risky", now=NOW),
    )

    assert [r.counts["overdue_reconciliation_breaks"] for r in results] == [ITEMS // 2] * 2
    assert sum(r.counts["alerts_raised"] for r in results) == ITEMS
    assert factory.count("alerts") == ITEMS
    raised = audit_targets(engine, "alert.raise")
    assert len(raised) == len(set(raised)) == ITEMS


def test_two_processes_escalating_cases_at_once_escalate_each_case_once(
    engine: Engine, factory: Factory, cs: int, cli_env: dict[str, str]
) -> None:
    for _ in range(ITEMS):
        factory.case(cs, priority="high", sla_due_at=OVERDUE)
    env = {**cli_env, "OPS_BATCH_SIZE": "2"}
    argv = [sys.executable, "-m", "ops_domain", "escalate_operation_cases", "--json"]
    argv += ["--actor-username"]  # overdue now as well: a real run takes the real clock

    processes = [
        subprocess.Popen(
            [*argv, actor], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        for actor in ("ops", "risky")
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0]
    counts = [json.loads(output)["counts"] for output in outputs]
    assert sum(c["cases_escalated"] for c in counts) == ITEMS
    assert sum(c["alerts_raised"] for c in counts) == ITEMS
    assert factory.count("alerts") == ITEMS
    escalated = audit_targets(engine, "case.escalate")
    assert len(escalated) == len(set(escalated)) == ITEMS
