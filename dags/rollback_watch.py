"""
### Rollback watch

Every 10 minutes, and at once when the release gate updates the Asset
`release_readiness_passed`: compare the present with the snapshot of the most recent release
released within the last `window_hours` (default `OPS_ROLLBACK_WATCH_HOURS`, 24). After the
window, `find_release` skips and nothing is read or written.

The four triggers, since the release: (1) open reconciliation breaks rising above both
`OPS_ROLLBACK_BREAKS_ABS` and `OPS_ROLLBACK_BREAKS_REL` over the snapshot; (2) any payout
that moved to `failed` (from the audit trail, so a resubmitted one still counts); (3) a
refused chargeback transition, or a chargeback past `due_at` with no transition; (4) journal
postings refused by period-close controls above `OPS_ROLLBACK_POSTING_REFUSALS`.

A firing trigger raises one `critical` `rollback_trigger` alert per release and trigger,
marks the release `rollback_recommended`, freezes payouts globally when
`OPS_AUTO_FREEZE_ON_ROLLBACK=true`, and fails the `watch` task (its report is in the XCom
`watch_report`).

*Runbook*: a failed `watch` means a trigger fires: read the report, then act through the
emergency DAGs: `emergency_freeze_payouts`, `emergency_open_incident` (name the release and
the trigger), `emergency_record_rollback`. Schedule: Airflow 3.3's `AssetOrTimeSchedule`
combines the cron and the Asset in one DAG. A manual run acts as
the login that triggered it (operation, risk, admin, super_admin) and may name a `release_id`
and its `environment` (a release is watched per environment).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from wallet_ops_airflow.assets import RELEASE_READINESS_PASSED
from wallet_ops_airflow.defaults import task_defaults
from wallet_ops_airflow.jobs import authorise_run, ops_engine, run_service, settings
from wallet_ops_airflow.params import (
    count_param,
    dry_run_param,
    environment_param,
    release_id_param,
)
from wallet_ops_airflow.run_request import ReleaseRequest, RunRequest

from ops_domain.rollback.policy import EMERGENCY_PERMISSION

JOB = "rollback_watch"
REPORT_XCOM_KEY = "watch_report"


@dag(
    dag_id="rollback_watch",
    doc_md=__doc__,
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("*/10 * * * *", timezone="UTC"),
        assets=[RELEASE_READINESS_PASSED],
    ),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(),
    tags=["wallet-ops", "release", "rollback"],
    params={
        "dry_run": dry_run_param(),
        "release_id": release_id_param(
            "Watch this release (manual runs). Empty: the most recent release released within"
            " the window, in whichever environment.",
            required=False,
        ),
        "environment": environment_param("The environment of the named release id."),
        "window_hours": count_param(
            settings().rollback.watch_hours,
            title="Watch window (hours)",
            description="A release is watched this long after the gate released it.",
            maximum=24 * 30,
        ),
    },
)
def rollback_watch() -> None:
    request = task(task_id="authorise_run")(authorise_run)(permission=EMERGENCY_PERMISSION, job=JOB)

    @task
    def find_release(request: dict[str, Any]) -> dict[str, Any]:
        from ops_domain.rollback.releases import release_under_watch

        params = get_current_context()["params"]
        if params["release_id"] and params["release_id"].strip():
            return ReleaseRequest(params["release_id"].strip(), params["environment"]).to_xcom()
        with ops_engine() as engine:
            found = release_under_watch(
                engine,
                now=RunRequest.from_xcom(request).now,
                window_hours=params["window_hours"],
            )
        if found is None:
            raise AirflowSkipException(
                f"no release in the last {params['window_hours']} h: nothing to watch"
            )
        return ReleaseRequest(*found).to_xcom()

    @task
    def watch(request: dict[str, Any], release: dict[str, Any]) -> dict[str, Any]:
        from ops_domain.rollback.watch import rollback_watch

        watched, run = ReleaseRequest.from_xcom(release), RunRequest.from_xcom(request)
        release_id = watched.release_id
        report = run_service(
            rollback_watch,
            run,
            release_id=release_id,
            environment=watched.environment,
            now=run.now,
        )
        get_current_context()["ti"].xcom_push(key=REPORT_XCOM_KEY, value=report)
        firing = [t["name"] for t in report["triggers"] if t["status"] == "firing"]
        if firing:
            raise AirflowFailException(
                f"release {release_id}: rollback recommended, firing: {', '.join(firing)}"
            )
        return report

    watch(request, find_release(request))


rollback_watch()
