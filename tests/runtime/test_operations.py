"""Operations under the scheduler: a scheduled DAG runs by itself as the service account, an
emergency freeze is set and lifted by later runs, a transient database error is retried and
a domain refusal is not."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ops_domain.embedded import embedded_server_url
from scripts.airflow_logins import AIRFLOW_ADMIN
from scripts.airflow_platform import Platform
from scripts.airflow_rest import AirflowClient, RunOutcome
from tests.runtime.conftest import TriggeredRun, first_scheduled_run

WAIT_SECONDS = 180.0


def test_a_scheduled_dag_creates_and_completes_its_own_run_as_the_service_account(
    demo_back_office: date, client: Callable[[str], AirflowClient], ops: Engine
) -> None:
    admin = client(AIRFLOW_ADMIN)
    admin.unpause("refund_dispute_escalation")
    try:
        run = first_scheduled_run(admin, "refund_dispute_escalation")
    finally:
        admin.pause("refund_dispute_escalation")

    assert run.state == "success", run.failed_tasks()
    assert (run.run_type, run.triggering_user) == ("scheduled", None)
    with ops.connect() as conn:
        job = conn.execute(
            text(
                "SELECT u.username, j.outcome, j.counts, (j.parameters ->> 'now')::timestamptz"
                " AS now FROM job_runs j JOIN users u ON u.id = j.actor_id"
                " WHERE j.idempotency_key LIKE :key"
            ),
            {"key": f"refund_dispute_escalation/{run.run_id}/%"},
        ).one()
        overdue_left = conn.execute(
            text(
                "SELECT count(*) FROM refund_requests WHERE status = 'pending'"
                " AND sla_due_at < :now AND escalated_at IS NULL"
            ),
            {"now": job.now},
        ).scalar_one()
        stamped = conn.execute(
            text("SELECT count(*) FROM refund_requests WHERE escalated_at = :now"),
            {"now": job.now},
        ).scalar_one()
    assert (job.username, job.outcome) == ("svc_airflow", "succeeded")
    assert overdue_left == 0
    assert stamped == job.counts["refunds_escalated"] > 0


def global_freezes(ops: Engine, reason: str) -> list[tuple[int, str, str | None]]:
    """(id, set by, lifted by) of the global freezes set for ``reason``."""
    with ops.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT f.id, s.username AS set_by, l.username AS lifted_by FROM payout_freezes f"
                " JOIN users s ON s.id = f.set_by LEFT JOIN users l ON l.id = f.lifted_by"
                " WHERE f.scope = 'global' AND f.reason = :reason ORDER BY f.id"
            ),
            {"reason": reason},
        )
        return [tuple(row) for row in rows]


def test_an_emergency_freeze_is_set_by_one_run_and_lifted_by_a_later_one(
    demo_back_office: date,
    trigger: Callable[..., TriggeredRun],
    wait: Callable[..., RunOutcome],
    ops: Engine,
) -> None:
    freeze = {"reason": "incident drill"}

    frozen = wait(trigger("emergency_freeze_payouts", freeze, as_login="oscar"))

    assert frozen.state == "success", frozen.failed_tasks()
    [(freeze_id, set_by, lifted_by)] = global_freezes(ops, freeze["reason"])
    assert (set_by, lifted_by) == ("oscar", None)

    lift = {"freeze_id": freeze_id, "note": "incident closed"}
    lifted = wait(trigger("emergency_lift_payout_freeze", lift, as_login="rita"))

    assert lifted.state == "success", lifted.failed_tasks()
    assert (frozen.triggering_user, lifted.triggering_user) == ("oscar", "rita")
    assert global_freezes(ops, freeze["reason"]) == [(freeze_id, "oscar", "rita")]


@pytest.fixture
def ops_login_refused(platform: Platform) -> Iterator[Callable[[bool], None]]:
    """Refuse (or allow again) every new connection of the tasks' login (the ``ops_db``
    connection's): a database outage as the tasks see it. Always allowed again at the end."""
    admin = create_engine(
        embedded_server_url(Path(platform.env["OPS_VAR_DIR"])), isolation_level="AUTOCOMMIT"
    )
    role = make_url(platform.env["AIRFLOW_CONN_OPS_DB"]).username

    def refuse(refused: bool) -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER ROLE "{role}" CONNECTION LIMIT {0 if refused else -1}'))

    yield refuse
    refuse(False)
    admin.dispose()


def task_state(client: AirflowClient, run: TriggeredRun, task_id: str) -> str | None:
    path = f"/api/v2/dags/{run.dag_id}/dagRuns/{run.run_id}/taskInstances/{task_id}"
    return client.get(path)["state"]


def test_a_transient_database_error_is_retried_and_a_domain_refusal_is_not(
    demo_back_office: date,
    ops_login_refused: Callable[[bool], None],
    client: Callable[[str], AirflowClient],
    trigger: Callable[..., TriggeredRun],
    wait: Callable[..., RunOutcome],
    ops: Engine,
) -> None:
    freeze = {"reason": "retry drill"}
    ops_login_refused(True)
    run = trigger("emergency_freeze_payouts", freeze, as_login="oscar")
    deadline = time.monotonic() + WAIT_SECONDS
    while task_state(client("oscar"), run, "authorise_run") != "up_for_retry":
        assert time.monotonic() < deadline, "authorise_run was never up for retry"
        time.sleep(1.0)
    ops_login_refused(False)

    retried = wait(run)

    assert retried.state == "success", retried.failed_tasks()
    assert retried.tasks["authorise_run"].try_number == 2
    assert [set_by for _, set_by, _ in global_freezes(ops, freeze["reason"])] == ["oscar"]

    unknown = {"freeze_id": 999_999, "note": "no such freeze"}
    refused = wait(trigger("emergency_lift_payout_freeze", unknown, as_login="rita"))

    assert refused.state == "failed"
    assert refused.failed_tasks() == ["act"]
    assert refused.tasks["act"].try_number == 1  # retries=1, but a refusal is final
    assert [lifted for _, _, lifted in global_freezes(ops, freeze["reason"])] == [None]
