"""Who acts is who logged in, under the real scheduler and through the REST API only: runs act
as the login that triggered them, two-person decisions need two logins, refused logins change
nothing, and the audit trail names the logins and their runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from scripts.airflow_logins import AIRFLOW_ADMIN
from scripts.airflow_rest import AirflowClient, RestRefused, RunOutcome
from tests.runtime.conftest import TODAY, TriggeredRun

FREEZE, LIFT = "emergency_freeze_payouts", "emergency_lift_payout_freeze"
ESCALATION = "case_sla_escalation"


def rows(ops: Engine, sql: str, **params: Any) -> list[tuple]:
    with ops.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def task_failure_alerts(ops: Engine, dag_id: str) -> int:
    return rows(
        ops,
        "SELECT count(*) FROM alerts WHERE alert_type = 'airflow_task_failed'"
        " AND target_id LIKE :dag",
        dag=f"{dag_id}.%",
    )[0][0]


def test_a_maker_login_cannot_lift_its_own_freeze_a_checker_login_can_and_the_audit_names_both(
    demo_back_office: Any,
    trigger: Callable[..., TriggeredRun],
    wait: Callable[..., RunOutcome],
    client: Callable[[str], AirflowClient],
    ops: Engine,
) -> None:
    frozen = wait(trigger(FREEZE, {"reason": "two logins drill"}, as_login="rita"))
    assert frozen.state == "success", frozen.failed_tasks()
    freeze_id = client("rita").xcom(FREEZE, frozen.run_id, "act")["id"]
    lift = {"freeze_id": freeze_id, "note": "incident closed"}

    own = wait(trigger(LIFT, lift, as_login="rita"))
    checked = wait(trigger(LIFT, lift, as_login="adam"))

    assert (own.state, own.failed_tasks()) == ("failed", ["act"])
    log = client("rita").task_log(LIFT, own.run_id, "act")
    assert "refused: MakerCheckerViolation" in log
    assert "Traceback" not in log
    assert task_failure_alerts(ops, LIFT) == 0  # a refused decision is not an incident
    assert checked.state == "success", checked.failed_tasks()
    assert (frozen.triggering_user, own.triggering_user, checked.triggering_user) == (
        "rita",
        "rita",
        "adam",
    )
    trail = rows(
        ops,
        "SELECT a.action, u.username, a.channel, a.principal, a.principal_ref FROM audit_log a"
        " JOIN users u ON u.id = a.actor_id WHERE a.target_type = 'payout_freeze'"
        " AND a.target_id = :id AND a.action IN ('payout.freeze', 'payout.freeze_lift')"
        " ORDER BY a.id",
        id=str(freeze_id),
    )
    assert trail == [
        ("payout.freeze", "rita", "airflow", "rita", frozen.run_id),
        ("payout.freeze_lift", "adam", "airflow", "adam", checked.run_id),
    ]


def test_a_login_without_an_ops_user_is_refused_before_anything_changes(
    demo_back_office: Any,
    trigger: Callable[..., TriggeredRun],
    wait: Callable[..., RunOutcome],
    client: Callable[[str], AirflowClient],
    ops: Engine,
) -> None:
    reason = "nobody's freeze"

    run = wait(trigger(FREEZE, {"reason": reason}, as_login=AIRFLOW_ADMIN))

    assert run.state == "failed"
    assert run.states() == {"authorise_run": "failed", "act": "upstream_failed"}
    log = client(AIRFLOW_ADMIN).task_log(FREEZE, run.run_id, "authorise_run")
    assert "refused: the Airflow login 'admin' has no ops user" in log
    assert "Traceback" not in log
    assert rows(ops, "SELECT count(*) FROM payout_freezes WHERE reason = :r", r=reason) == [(0,)]
    assert rows(
        ops, "SELECT count(*) FROM audit_log WHERE principal_ref = :run", run=run.run_id
    ) == [(0,)]
    assert task_failure_alerts(ops, FREEZE) == 0


def backfill(client: AirflowClient, first: datetime, last: datetime) -> list[str]:
    """A backfill of the case escalation over ``first..last`` as this login; its run ids once
    every run ended and the backfill itself completed (a DAG takes one running backfill).

    The scheduler marks a backfill complete in a sweep every 30 s; once every run has ended
    the login closes it itself (the cancel endpoint: with no run left queued it only stamps
    ``completed_at``), so the next backfill need not wait for the sweep."""
    created = client.post(
        "/api/v2/backfills",
        {
            "dag_id": ESCALATION,
            "from_date": first.isoformat(),
            "to_date": last.isoformat(),
            "max_active_runs": 1,
        },
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        runs = client.runs(ESCALATION, run_type="backfill")
        mine = [r for r in runs if r["triggering_user_name"] == client.username]
        ended = mine and all(r["state"] in {"success", "failed"} for r in mine)
        if ended and complete(client, created["id"]):
            return [r["dag_run_id"] for r in mine]
        time.sleep(1.0)
    raise TimeoutError(f"the backfill of {ESCALATION} by {client.username} did not end")


def test_a_backfill_acts_as_the_login_that_created_it_checked_before_it_escalates(
    demo_back_office: Any, client: Callable[[str], AirflowClient], ops: Engine
) -> None:
    admin = client(AIRFLOW_ADMIN)
    yesterday = datetime.combine(TODAY - timedelta(days=1), datetime.min.time(), UTC)
    admin.unpause(ESCALATION)
    try:
        refused = backfill(client("sam"), yesterday.replace(hour=8), yesterday.replace(hour=9))
        allowed = backfill(client("oscar"), yesterday.replace(hour=11), yesterday.replace(hour=11))
    finally:
        admin.pause(ESCALATION)

    assert len(refused) == 2  # 08:00 and 09:00: every run of the backfill is checked
    for run_id in refused:
        outcome = client("sam").wait(ESCALATION, run_id)
        assert outcome.triggering_user == "sam"
        assert outcome.states()["authorise_run"] == "failed"
        log = client("sam").task_log(ESCALATION, run_id, "authorise_run")
        assert "refused: ActorNotAllowed: actor 'sam' may not run" in log
    keys = [f"{ESCALATION}/{run_id}/%" for run_id in refused]
    for key in keys:
        assert rows(ops, "SELECT count(*) FROM job_runs WHERE idempotency_key LIKE :k", k=key) == [
            (0,)
        ]
    assert rows(ops, "SELECT count(*) FROM audit_log WHERE principal = 'sam'") == [(0,)]
    assert task_failure_alerts(ops, ESCALATION) == 0
    [allowed_run] = allowed
    assert rows(
        ops,
        "SELECT u.username, a.channel, a.principal FROM job_runs j"
        " JOIN users u ON u.id = j.actor_id JOIN audit_log a ON a.target_type = 'job_run'"
        " AND a.target_id = j.id::text WHERE j.idempotency_key LIKE :k LIMIT 1",
        k=f"{ESCALATION}/{allowed_run}/%",
    ) == [("oscar", "airflow", "oscar")]


def complete(client: AirflowClient, backfill_id: int) -> bool:
    """Close a backfill whose runs have all ended; True once it is complete."""
    path = f"/api/v2/backfills/{backfill_id}"
    try:
        client.put(f"{path}/cancel")
    except RestRefused as refused:
        if refused.status != 409:  # 409: the scheduler's sweep completed it first
            raise
    return client.get(path)["completed_at"] is not None
