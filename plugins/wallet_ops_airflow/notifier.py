"""When a task fails for good: log it and open an ops alert, one per DAG task until closed.

A run refused because of its input (``RunRefused``) that a person triggered opens no alert:
the person who triggered it reads the reason, and nothing is broken. The same refusal of a
scheduled run does, since nobody else would notice it.

Used as a task-level ``on_failure_callback`` (DAG-level callbacks are unreliable in Airflow
3.1-3.3), so it fires once the task has no retries left. The alert is ``medium``: a failed
job needs a look, but must not count as an open high alert that blocks the release gate.
Recording is best effort: a notifier that raises would hide the original failure.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseNotifier

from ops_domain.alerts.service import AlertSpec, raise_alerts
from ops_domain.db import transaction
from ops_domain.rbac.actors import load_actor
from wallet_ops_airflow.identity import is_scheduler_run
from wallet_ops_airflow.jobs import ops_engine, settings
from wallet_ops_airflow.refusal import RunRefused

log = logging.getLogger(__name__)

ALERT_TYPE = "airflow_task_failed"
ALERT_SEVERITY = "medium"


def is_incident(context: Any) -> bool:
    """Every failure but the refusal of a run a person triggered."""
    return not isinstance(context.get("exception"), RunRefused) or is_scheduler_run(context)


def failure_alert(context: Any) -> AlertSpec:
    ti = context["ti"]
    exception = context.get("exception")
    reason = str(exception).splitlines()[0][:300] if exception else "no exception recorded"
    return AlertSpec(
        alert_type=ALERT_TYPE,
        severity=ALERT_SEVERITY,
        target_type="airflow_task",
        target_id=f"{ti.dag_id}.{ti.task_id}",
        title=f"Airflow task {ti.dag_id}.{ti.task_id} failed",
        message=f"run {ti.run_id}, try {ti.try_number}: {reason}",
    )


class OpsAlertNotifier(BaseNotifier):
    """Records ``airflow_task_failed`` alerts (deduplicated per DAG and task) and logs."""

    def notify(self, context: Any) -> None:
        spec = failure_alert(context)
        if not is_incident(context):
            log.info("%s: %s (a refused input: no ops alert)", spec.title, spec.message)
            return
        log.error("%s: %s", spec.title, spec.message)
        try:
            with ops_engine(context) as engine, transaction(engine) as session:
                actor = load_actor(session, settings().service_actor)
                opened = raise_alerts(session, [spec], actor_id=actor.id)
        except Exception:
            log.exception("could not record the ops alert for %s", spec.target_id)
            return
        if not opened:
            log.info("an open %s alert for %s already exists", ALERT_TYPE, spec.target_id)


notify_ops_of_failure = OpsAlertNotifier()
