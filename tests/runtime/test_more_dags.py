"""The emergency actions and the hourly and monthly governance jobs under the real scheduler:
manual runs act as the login that triggered them, scheduled runs as the service account, each
with its business effect in the ops database; a bad request is refused in one line and
changes nothing. Runs are triggered together and waited for together."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, text

from scripts.airflow_logins import AIRFLOW_ADMIN
from scripts.airflow_rest import AirflowClient, RunOutcome
from tests.runtime.conftest import TriggeredRun, first_scheduled_run

SERVICE_ACCOUNT = "svc_airflow"
MERCHANT = "DEMO-EUR-CAFE"
SCHEDULED = ("ops_work_queue_escalation", "case_sla_escalation", "accounting_period_governance")


def rows(ops: Engine, sql: str, **params: Any) -> list[tuple]:
    with ops.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def acting(ops: Engine, run_id: str) -> set[tuple[str, str]]:
    """(user, channel) of every audit row the run wrote."""
    return set(
        rows(
            ops,
            "SELECT DISTINCT u.username, a.channel FROM audit_log a"
            " JOIN users u ON u.id = a.actor_id WHERE a.principal_ref = :run",
            run=run_id,
        )
    )


def job_key(run: RunOutcome) -> str:
    return f"{run.dag_id}/{run.run_id}/%"


def job_of(ops: Engine, run: RunOutcome) -> tuple:
    """(job, actor, outcome, counts, id) of the run's one job run."""
    [job] = rows(
        ops,
        "SELECT j.job_name, u.username, j.outcome, j.counts, j.id FROM job_runs j"
        " JOIN users u ON u.id = j.actor_id WHERE j.idempotency_key LIKE :key",
        key=job_key(run),
    )
    return job


def unsettled(ops: Engine, window: dict[str, str]) -> list[tuple]:
    """(merchant, events) of active merchants with unsettled events inside the window."""
    return rows(
        ops,
        "SELECT m.code, count(*) FROM cashflow_events e JOIN merchants m ON m.id = e.merchant_id"
        " WHERE e.settlement_id IS NULL AND m.status = 'active'"
        " AND e.occurred_at >= CAST(:start AS date)"
        " AND e.occurred_at < CAST(:end AS date) + 1 GROUP BY m.code",
        start=window["window_start"],
        end=window["window_end"],
    )


def task_failure_alerts(ops: Engine) -> int:
    return rows(ops, "SELECT count(*) FROM alerts WHERE alert_type = 'airflow_task_failed'")[0][0]


def assert_refused(
    client: AirflowClient, run: RunOutcome, task_id: str, reason: str, ops: Engine
) -> None:
    """Failed at ``task_id`` in one line naming ``reason``; nothing written for the run."""
    assert (run.state, run.failed_tasks()) == ("failed", [task_id])
    log = client.task_log(run.dag_id, run.run_id, task_id)
    assert f"refused: {reason}" in log
    assert "Traceback" not in log
    assert acting(ops, run.run_id) == set()
    assert rows(
        ops, "SELECT count(*) FROM job_runs WHERE idempotency_key LIKE :k", k=job_key(run)
    ) == [(0,)]


def assert_service_job_counted(ops: Engine, run: RunOutcome, counter: str, changed: str) -> None:
    """The run's one job succeeded as the service account, changed something, and its
    ``counter`` is the count of what it changed (``changed``: a SELECT count(*))."""
    _, actor, outcome, counts, _ = job_of(ops, run)
    assert (actor, outcome) == (SERVICE_ACCOUNT, "succeeded")
    assert counts[counter] > 0
    assert rows(ops, changed) == [(counts[counter],)]


def test_emergency_actions_act_as_their_logins_and_a_contradictory_window_is_refused(
    demo_back_office: date,
    trigger: Callable[..., TriggeredRun],
    wait: Callable[..., RunOutcome],
    client: Callable[[str], AirflowClient],
    ops: Engine,
) -> None:
    day = demo_back_office
    window = {"window_start": (day - timedelta(days=2)).isoformat(), "window_end": day.isoformat()}
    backwards = {"window_start": day.isoformat(), "window_end": (day - timedelta(1)).isoformat()}
    title = "card processor latency drill"
    triggered = [
        trigger("emergency_open_incident", {"title": title}, as_login="rita"),
        trigger(
            "emergency_targeted_reconciliation",
            {
                "window_start": day.isoformat(),
                "window_end": day.isoformat(),
                "merchant_code": MERCHANT,
                "statement_totals": [f"{MERCHANT}:{day.isoformat()}:1.00:1"],
            },
            as_login="oscar",
        ),
        trigger("emergency_backfill_settlements", window, as_login="oscar"),
        trigger("emergency_backfill_settlements", backwards, as_login="oscar"),
    ]
    incident, reconciled, backfilled, refused = [wait(run) for run in triggered]

    for run in (incident, reconciled, backfilled):
        assert run.state == "success", (run.dag_id, run.failed_tasks())
    for run, login in zip(triggered[:3], ("rita", "oscar", "oscar"), strict=True):
        assert acting(ops, run.run_id) == {(login, "airflow")}, run.dag_id
    assert rows(
        ops,
        "SELECT c.case_type, c.priority, u.username FROM cases c"
        " JOIN users u ON u.id = c.created_by WHERE c.title = :t",
        t=title,
    ) == [("incident", "critical", "rita")]
    assert rows(
        ops,
        "SELECT m.code, r.window_start, r.window_end, r.external_total, u.username"
        " FROM reconciliation_runs r JOIN merchants m ON m.id = r.merchant_id"
        " JOIN users u ON u.id = r.created_by WHERE r.created_at >= now() - interval '1 hour'",
    ) == [(MERCHANT, day, day, 1, "oscar")]
    job, actor, outcome, counts, job_id = job_of(ops, backfilled)
    assert (job, actor, outcome) == ("automate_settlements", "oscar", "succeeded")
    settled = rows(
        ops,
        "SELECT min(period_start), max(period_end), count(*) FROM settlements"
        " WHERE job_run_id = :job",
        job=job_id,
    )
    assert settled == [
        (date.fromisoformat(window["window_start"]), day, counts["settlements_created"])
    ]
    assert counts["settlements_posted"] > 0
    assert unsettled(ops, window) == []  # every active merchant's event in the window
    assert_refused(
        client("oscar"), refused, "act", f"window_end {backwards['window_end']} is before", ops
    )
    assert task_failure_alerts(ops) == 0


def test_scheduled_governance_jobs_act_as_the_service_account_and_a_manual_run_names_its_period(
    demo_back_office: date,
    trigger: Callable[..., TriggeredRun],
    wait: Callable[..., RunOutcome],
    client: Callable[[str], AirflowClient],
    ops: Engine,
) -> None:
    admin = client(AIRFLOW_ADMIN)
    unnamed = trigger("accounting_period_governance", {}, as_login="alice")
    for dag_id in SCHEDULED:
        admin.unpause(dag_id)
    try:
        work_queue, cases, periods = [first_scheduled_run(admin, dag_id) for dag_id in SCHEDULED]
        refused = wait(unnamed)
    finally:
        for dag_id in SCHEDULED:
            admin.pause(dag_id)

    for run in (work_queue, cases, periods):
        assert run.state == "success", (run.dag_id, run.failed_tasks())
        assert (run.run_type, run.triggering_user) == ("scheduled", None)
        assert acting(ops, run.run_id) == {(SERVICE_ACCOUNT, "scheduler")}, run.dag_id

    assert_service_job_counted(
        ops,
        work_queue,
        "alerts_raised",
        "SELECT count(*) FROM alerts WHERE alert_type IN"
        " ('journal_approval_sla', 'settlement_exception_sla', 'reconciliation_break_sla')",
    )
    assert_service_job_counted(
        ops,
        cases,
        "cases_escalated",
        "SELECT count(*) FROM cases c JOIN alerts a ON a.alert_type = 'case_sla_breach'"
        " AND a.target_id = c.id::text WHERE c.status = 'escalated'",
    )
    overdue_left = "status IN ('open', 'in_progress') AND sla_due_at < now()"
    assert rows(ops, f"SELECT count(*) FROM cases WHERE {overdue_left}") == [(0,)]

    # the month the scheduler chose: the run's data interval (not today's date: before 02:00
    # on the 1st the month that just ended is not due yet)
    interval = admin.get(f"/api/v2/dags/{periods.dag_id}/dagRuns/{periods.run_id}")
    month_end = date.fromisoformat(interval["data_interval_end"][:10]) - timedelta(days=1)
    closed_by = rows(
        ops,
        "SELECT u.username FROM accounting_periods p JOIN users u ON u.id = p.closed_by"
        " WHERE p.status = 'closed' AND p.period_start = :start AND p.period_end = :end",
        start=month_end.replace(day=1),
        end=month_end,
    )
    applied = [task for task in periods.tasks if task.startswith("apply")]
    assert closed_by == [(SERVICE_ACCOUNT,)] * len(applied) != []

    assert refused.triggering_user == "alice"
    assert_refused(
        client("alice"), refused, "plan_periods", "InvalidInput: manual runs must give", ops
    )
    assert task_failure_alerts(ops) == 0
