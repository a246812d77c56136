"""The release gate under the scheduler: red on the demo's blockers, green after the runbook;
the green gate wakes the rollback watch (as the service account) and a login records the
rollback."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, text

from scripts import demo_operator
from scripts.airflow_logins import AIRFLOW_ADMIN
from scripts.airflow_rest import AirflowClient, RunOutcome
from tests.runtime.conftest import TriggeredRun, first_scheduled_run
from tests.support.releases import CHECK_TASKS


def latest_verdict(ops: Engine, release_id: str) -> tuple[str, dict[str, str]]:
    with ops.connect() as conn:
        row = conn.execute(
            text(
                "SELECT verdict, checks FROM release_snapshots WHERE release_id = :r"
                " ORDER BY id DESC LIMIT 1"
            ),
            {"r": release_id},
        ).one()
    return row.verdict, {check["name"]: check["status"] for check in row.checks}


def timings(run: RunOutcome) -> str:
    return ", ".join(
        f"{task} {outcome.state} {outcome.duration or 0:.1f}s"
        for task, outcome in sorted(run.tasks.items())
    )


WATCH = "rollback_watch"


@pytest.fixture
def watching(client: Callable[[str], AirflowClient]) -> Iterator[AirflowClient]:
    """rollback_watch unpaused (an asset event queues runs only for an unpaused DAG); paused
    again at the end."""
    admin = client(AIRFLOW_ADMIN)
    admin.unpause(WATCH)
    try:
        yield admin
    finally:
        admin.pause(WATCH)


def first_asset_triggered_run(admin: AirflowClient, timeout: float = 180.0) -> RunOutcome:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in admin.runs(WATCH, run_type="asset_triggered"):
            return admin.wait(WATCH, run["dag_run_id"], timeout=deadline - time.monotonic())
        time.sleep(2.0)
    raise TimeoutError(f"no asset-triggered {WATCH} run within {timeout:.0f} s")


def acting(ops: Engine, run_id: str) -> set[tuple[str, str]]:
    """(user, channel) of every audit row the run wrote."""
    with ops.connect() as conn:
        found = conn.execute(
            text(
                "SELECT DISTINCT u.username, a.channel FROM audit_log a"
                " JOIN users u ON u.id = a.actor_id WHERE a.principal_ref = :run"
            ),
            {"run": run_id},
        )
        return {tuple(row) for row in found}


def failed_task_alerts(ops: Engine) -> int:
    with ops.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM alerts WHERE alert_type = 'airflow_task_failed'")
        ).scalar_one()


def release_state(ops: Engine, release_id: str) -> str:
    with ops.connect() as conn:
        return conn.execute(
            text("SELECT status FROM releases WHERE release_id = :r"), {"r": release_id}
        ).scalar_one()


def test_the_gate_fails_on_the_demo_blockers_and_passes_after_the_runbook(
    demo_back_office: date,
    in_platform_env: None,
    watching: AirflowClient,
    trigger: Callable[..., TriggeredRun],
    wait: Callable[..., RunOutcome],
    ops: Engine,
) -> None:
    release = f"{demo_back_office:%Y.%m.%d}-runtime"
    conf = {"release_id": release, "environment": "production"}

    failing = wait(trigger("release_readiness", conf, as_login="oscar"))
    print(f"failing run {failing.duration:.1f}s: {timings(failing)}")

    assert (failing.state, failing.triggering_user) == ("failed", "oscar")
    assert failing.failed_tasks() == ["business_state.readiness_snapshot", "release_gate"]
    assert {t for t, s in failing.states().items() if s == "success"} == {
        "authorise_run",
        *CHECK_TASKS - {"business_state.readiness_snapshot"},
    }
    verdict, checks = latest_verdict(ops, release)
    assert verdict == "not_ready"
    assert checks["db_isolation"] == "pass"  # the strict proof, inside a task process
    assert {name for name, status in checks.items() if status != "pass"} == {"readiness_snapshot"}

    operator = demo_operator.OperatorLog()
    for step in demo_operator.OPERATOR_STEPS:
        step(operator)
    demo_operator.waive_remaining_alerts(operator, release)

    passing = wait(trigger("release_readiness", conf, as_login="oscar"))
    print(f"passing run {passing.duration:.1f}s: {timings(passing)}")

    assert passing.state == "success", passing.failed_tasks()
    assert set(passing.states().values()) == {"success"}
    verdict, checks = latest_verdict(ops, release)
    assert verdict == "ready"
    assert checks["readiness_snapshot"] == "waived"
    assert set(checks.values()) - {"waived"} == {"pass"}

    # the cron run came on unpausing, before any release: it watched nothing, as the scheduler
    cron = first_scheduled_run(watching, WATCH)
    assert (cron.state, cron.run_type, cron.triggering_user) == ("success", "scheduled", None)
    assert acting(ops, cron.run_id) <= {("svc_airflow", "scheduler")}

    # the passed gate updated release_readiness_passed: the watch ran on it at once
    woken = first_asset_triggered_run(watching)
    assert woken.state == "success", woken.failed_tasks()
    assert (woken.run_type, woken.triggering_user) == ("asset_triggered", None)
    assert watching.xcom(WATCH, woken.run_id, "find_release")["release_id"] == release
    assert acting(ops, woken.run_id) == {("svc_airflow", "scheduler")}
    with ops.connect() as conn:
        watched = conn.execute(
            text(
                "SELECT u.username, j.outcome FROM job_runs j JOIN users u ON u.id = j.actor_id"
                " WHERE j.job_name = 'rollback_watch' AND j.idempotency_key LIKE :k"
            ),
            {"k": f"%/{woken.run_id}/%"},
        ).one()
    assert tuple(watched) == ("svc_airflow", "succeeded")
    assert release_state(ops, release) == "released"

    decision = {"release_id": release, "environment": "production", "reason": "drill"}
    runs = [
        trigger("emergency_record_rollback", decision, as_login="rita"),
        # never gated in staging: refused, though the same id was released in production
        trigger(
            "emergency_record_rollback", {**decision, "environment": "staging"}, as_login="rita"
        ),
    ]
    rolled_back, refused = [wait(run) for run in runs]

    assert rolled_back.state == "success", rolled_back.failed_tasks()
    assert (refused.state, refused.failed_tasks()) == ("failed", ["act"])
    log = watching.task_log("emergency_record_rollback", refused.run_id, "act")
    assert f"refused: NotFound: staging release {release!r}" in log
    assert "Traceback" not in log
    assert acting(ops, refused.run_id) == set()
    assert failed_task_alerts(ops) == 0
    assert acting(ops, rolled_back.run_id) == {("rita", "airflow")}
    assert release_state(ops, release) == "rolled_back"
