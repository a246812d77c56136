"""Sealing under the scheduler: the audit log is chained and its head published by the
``audit_sealing`` DAG on its own schedule, as the sealing login, with nobody running a job."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import Engine, create_engine, text

from ops_domain.audit.published import compare_with_published
from scripts.airflow_logins import AIRFLOW_ADMIN
from scripts.airflow_platform import Platform
from scripts.airflow_rest import AirflowClient, RunOutcome
from tests.runtime.conftest import TriggeredRun, first_scheduled_run

SEALING = "audit_sealing"


def unsealed_up_to(ops: Engine, last_id: int) -> int:
    with ops.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM audit_log a WHERE a.id <= :last"
                " AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id)"
            ),
            {"last": last_id},
        ).scalar_one()


def test_the_scheduler_seals_the_audit_log_and_publishes_the_head_outside_the_ops_database(
    demo_back_office: date,
    client: Callable[[str], AirflowClient],
    trigger: Callable[..., TriggeredRun],
    wait: Callable[..., RunOutcome],
    platform: Platform,
    ops: Engine,
) -> None:
    # the demo's trail is written by the seed, not by a job: nothing has sealed it yet
    with ops.connect() as conn:
        last_id = conn.execute(text("SELECT max(id) FROM audit_log")).scalar_one()
    assert unsealed_up_to(ops, last_id) > 0

    client(AIRFLOW_ADMIN).unpause(SEALING)
    scheduled = first_scheduled_run(client(AIRFLOW_ADMIN), SEALING)
    sealed_now = wait(trigger(SEALING, {}, as_login="oscar"))

    assert (scheduled.state, scheduled.run_type, scheduled.triggering_user) == (
        "success",
        "scheduled",
        None,
    )
    assert sealed_now.state == "success", sealed_now.failed_tasks()
    assert unsealed_up_to(ops, last_id) == 0
    export = create_engine(platform.env["OPS_AUDIT_DATABASE_URL"])
    try:
        comparison = compare_with_published(ops, export)
    finally:
        export.dispose()
    assert comparison.problem is None
    assert comparison.compared >= 1
    with ops.connect() as conn:
        covering_link = conn.execute(
            text("SELECT link_no FROM audit_chain WHERE audit_id = :id"), {"id": last_id}
        ).scalar_one()
    assert comparison.latest_link >= covering_link
