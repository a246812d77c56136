"""The release gate under the scheduler: red on the demo's blockers, green after the runbook;
the green gate wakes the rollback watch (as the service account), which stays quiet; then every
rollback trigger's cause, typed as people would, makes the on-call's watch recommend the
rollback (once, however often it runs again), and a login records the rollback."""

from __future__ import annotations

import contextlib
import io
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from ops_domain.cli.main import main as ops_main
from ops_domain.config import RollbackPolicy
from ops_domain.rollback.registry import TRIGGER_NAMES
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


def audited(ops: Engine, run_id: str) -> Counter[tuple[str, str, str]]:
    """(action, user, channel) of every audit row the run wrote, counted."""
    with ops.connect() as conn:
        found = conn.execute(
            text(
                "SELECT a.action, u.username, a.channel FROM audit_log a"
                " JOIN users u ON u.id = a.actor_id WHERE a.principal_ref = :run"
            ),
            {"run": run_id},
        )
        return Counter(tuple(row) for row in found)


def acting(ops: Engine, run_id: str) -> set[tuple[str, str]]:
    """(user, channel) of every audit row the run wrote."""
    return {(user, channel) for _, user, channel in audited(ops, run_id)}


def failed_task_alerts(ops: Engine) -> list[str]:
    """The DAG tasks the failure notifier opened an alert for."""
    with ops.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT target_id FROM alerts WHERE alert_type = 'airflow_task_failed'"
                    " ORDER BY id"
                )
            ).scalars()
        )


def release_state(ops: Engine, release_id: str) -> str:
    with ops.connect() as conn:
        return conn.execute(
            text("SELECT status FROM releases WHERE release_id = :r"), {"r": release_id}
        ).scalar_one()


def rollback_alerts(ops: Engine, release_id: str) -> dict[str, tuple[str, str]]:
    """trigger -> (severity, status) of the release's rollback_trigger alerts (one per trigger:
    a second alert for the same trigger would fail the dict's length check)."""
    with ops.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT split_part(a.target_id, ':', 2), a.severity, a.status FROM alerts a"
                " JOIN releases r ON a.target_id LIKE r.id || ':%'"
                " WHERE a.alert_type = 'rollback_trigger' AND r.release_id = :r"
            ),
            {"r": release_id},
        ).all()
    found = {trigger: (severity, status) for trigger, severity, status in rows}
    assert len(found) == len(rows), rows
    return found


# one open critical alert per trigger, once all of them fire
EVERY_TRIGGER_ALERTED = dict.fromkeys(TRIGGER_NAMES, ("critical", "open"))
# rollback_watch's cron (*/10) in seconds, and the time from the first cause typed to the
# on-call's watch running (a cron run then waits: max_active_runs=1), with room to spare
CRON_PERIOD_SECONDS = 600
BREAKING_SECONDS = 15.0
# a chargeback opened while the release is broken goes past due this soon after
CHARGEBACK_DUE_SECONDS = 2.0


def clear_of_the_watch_schedule(admin: AirflowClient, timeout: float = 120.0) -> None:
    """No scheduled watch may read the triggers while the release is being broken: it would
    raise the alerts before the on-call's run does (as the service account, maybe for some
    triggers only). When the next cron point is due within ``BREAKING_SECONDS``, sleep past
    it; then wait until the last cron point's run exists and every scheduled run has ended."""
    due_in = CRON_PERIOD_SECONDS - time.time() % CRON_PERIOD_SECONDS
    if due_in < BREAKING_SECONDS:
        time.sleep(due_in + 1.0)  # past the point, whatever the rounding of the clocks
    last_point = datetime.fromtimestamp(
        time.time() // CRON_PERIOD_SECONDS * CRON_PERIOD_SECONDS, UTC
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = admin.runs(WATCH, run_type="scheduled")
        if any(datetime.fromisoformat(run["run_after"]) >= last_point for run in runs):
            for run in runs:
                admin.wait(WATCH, run["dag_run_id"], timeout=deadline - time.monotonic())
            return
        time.sleep(1.0)
    raise TimeoutError(f"no {WATCH} run for the cron point {last_point:%H:%M} within {timeout} s")


def refused_command(*argv: str) -> str:
    """An ops command a person types that the product refuses (exit 2): its one-line error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = ops_main(list(argv))
    assert code == 2, f"ops {' '.join(argv)} exited {code}: {err.getvalue()}"
    return err.getvalue().strip()


def break_the_release(ops_cli: Callable[..., Any], day: date) -> None:
    """The cause of every rollback trigger, each typed as the person who would cause it: the
    bank returns a sent payout, chargeback moves the workflow forbids (one more than
    tolerated) and a chargeback left to go past due, a posting dated in the month finance
    just closed, and a targeted reconciliation whose statement disagrees on more days than
    the break spike tolerates. Returns once the chargeback is past due."""
    policy = RollbackPolicy()
    sent = ops_cli("payouts", "list", "--status", "sent", "--actor-username", "tina")["items"]
    ops_cli(
        "payouts", "fail", "--payout-id", str(sent[0]["id"]), "--actor-username", "adam",
        "--reason", "beneficiary bank returned the transfer", "--note", "bank return file",
    )  # fmt: skip
    awaiting = ops_cli("chargebacks", "list", "--status", "open", "--actor-username", "rita")
    for _ in range(policy.chargeback_refusals + 1):
        assert "illegal transition" in refused_command(
            "chargebacks", "transition", "--chargeback-id", str(awaiting["items"][0]["id"]),
            "--to", "won", "--note", "network ruled for us", "--actor-username", "rita",
        )  # fmt: skip
    due = datetime.now(UTC) + timedelta(seconds=CHARGEBACK_DUE_SECONDS)
    ops_cli(
        "chargebacks", "open", "--merchant-code", "DEMO-USD-GROCER", "--reason-code", "4837",
        "--amount", "12.00", "--currency", "USD", "--due-at", due.isoformat(),
        "--evidence", "cardholder letter", "--actor-username", "rita",
    )  # fmt: skip
    last_month_end = day.replace(day=1) - timedelta(days=1)
    ops_cli(
        "manage_accounting_period", "--currency", "USD", "--action", "close",
        "--period-start", f"{last_month_end:%Y-%m-01}", "--period-end", str(last_month_end),
        "--actor-username", "alice",
    )  # fmt: skip
    assert "closed period" in refused_command(
        "journals", "create", "--entry-date", str(last_month_end), "--currency", "USD",
        "--description", "late fee correction", "--line", "1000:debit:10.00",
        "--line", "4000:credit:10.00", "--actor-username", "alice",
    )  # fmt: skip
    days = [day - timedelta(days=n) for n in range(policy.breaks_abs + 1)]
    totals = [flag for d in days for flag in ("--total", f"DEMO-USD-GROCER:{d}:1.00:1")]
    opened = ops_cli(
        "emergency", "targeted_reconciliation", "--merchant-code", "DEMO-USD-GROCER",
        "--window-start", str(min(days)), "--window-end", str(day), *totals,
        "--actor-username", "oscar",
    )  # fmt: skip
    assert len(opened["breaks"]) == len(days), opened["breaks_opened"]
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))


def test_the_gate_fails_on_the_demo_blockers_and_passes_after_the_runbook(
    demo_back_office: date,
    in_platform_env: None,
    ops_cli: Callable[..., Any],
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

    clock = time.monotonic()
    clear_of_the_watch_schedule(watching)
    waited, clock = time.monotonic() - clock, time.monotonic()
    break_the_release(ops_cli, demo_back_office)
    broken = time.monotonic() - clock
    firing = wait(trigger(WATCH, {}, as_login="rita"))
    recheck = wait(trigger(WATCH, {}, as_login="oscar"))
    print(
        f"cron cleared in {waited:.1f}s; release broken in {broken:.1f}s, both watches ended"
        f" {time.monotonic() - clock:.1f}s after the first cause"
    )
    print(f"firing watch {firing.duration:.1f}s: {timings(firing)}")
    print(f"recheck {recheck.duration:.1f}s: {timings(recheck)}")

    # the on-call's watch recommends the rollback: red in the grid, one critical alert per
    # trigger, the release marked, every row its own, the failure notifier's alert beside
    assert (firing.state, firing.failed_tasks(), firing.triggering_user) == (
        "failed",
        ["watch"],
        "rita",
    )
    report = watching.xcom(WATCH, firing.run_id, "watch", key="watch_report")
    assert (report["release_id"], report["verdict"], report["release_marked"]) == (
        release,
        "rollback_recommended",
        True,
    )
    fired = {t["name"]: t["figures"] for t in report["triggers"] if t["status"] == "firing"}
    assert list(fired) == list(TRIGGER_NAMES)
    stalled = fired["chargebacks_stalled"]
    assert (stalled["refused_transitions"], stalled["past_due_without_transition"]) == (
        RollbackPolicy().chargeback_refusals + 1,
        1,
    )
    log = watching.task_log(WATCH, firing.run_id, "watch")
    assert f"release {release}: rollback recommended, firing: {', '.join(TRIGGER_NAMES)}" in log
    assert rollback_alerts(ops, release) == EVERY_TRIGGER_ALERTED
    assert release_state(ops, release) == "rollback_recommended"
    assert audited(ops, firing.run_id) == {
        ("alert.raise", "rita", "airflow"): len(TRIGGER_NAMES),
        ("release.rollback_recommended", "rita", "airflow"): 1,
        ("job.rollback_watch.succeeded", "rita", "airflow"): 1,
        ("alert.raise", "svc_airflow", "airflow"): 1,
    }
    assert failed_task_alerts(ops) == [f"{WATCH}.watch"]

    # a second run finds the same triggers firing and adds nothing but its own run record
    assert (recheck.state, recheck.failed_tasks(), recheck.triggering_user) == (
        "failed",
        ["watch"],
        "oscar",
    )
    again = watching.xcom(WATCH, recheck.run_id, "watch", key="watch_report")
    assert (again["verdict"], again["alerts_raised"], again["release_marked"]) == (
        "rollback_recommended",
        [],
        False,
    )
    assert audited(ops, recheck.run_id) == {("job.rollback_watch.succeeded", "oscar", "airflow"): 1}
    assert rollback_alerts(ops, release) == EVERY_TRIGGER_ALERTED
    assert failed_task_alerts(ops) == [f"{WATCH}.watch"]

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
    assert failed_task_alerts(ops) == [f"{WATCH}.watch"]  # none for the refused rollback
    assert acting(ops, rolled_back.run_id) == {("rita", "airflow")}
    assert release_state(ops, release) == "rolled_back"
