"""The release gate under the scheduler: red on the demo's blockers, green after the runbook."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine, text

from scripts import demo_operator
from scripts.airflow_rest import RunOutcome
from tests.runtime.conftest import TriggeredRun
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


def test_the_gate_fails_on_the_demo_blockers_and_passes_after_the_runbook(
    demo_back_office: date,
    in_platform_env: None,
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
