"""Release-readiness checks as tasks, and the gate that turns their results into a verdict.

``ReleaseCheckOperator`` runs one check of the runbook's registry (``RELEASE_CHECKS``) through
its entry (fail-closed), publishes its ``CheckResult`` as the XCom ``check_result`` and then
fails unless the check passed or was waived, so the grid shows every failing check in red and
none hides another. It is our own operator, so Great Expectations runs from it (decision
0005) like every other check. The gate task runs whatever its upstream outcome, reads every
published result (a check task that published nothing counts as ``error``) and hands them to
``record_release_verdict``, the one place that decides and stores the verdict.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import BaseOperator, get_current_context
from airflow.sdk.exceptions import AirflowFailException
from sqlalchemy import Engine

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.runbook.registry import RELEASE_CHECKS_BY_NAME
from wallet_ops_airflow.jobs import ops_engine, settings
from wallet_ops_airflow.refusal import domain_refusals_refuse_the_run, refuse
from wallet_ops_airflow.run_request import GateRequest

log = logging.getLogger(__name__)

CHECK_XCOM_KEY = "check_result"
AUTHORISE_TASK_ID = "authorise_run"


def evaluation(request: GateRequest, engine: Engine) -> Evaluation:
    """The run's evaluation: every check judges the database the ``ops_db`` connection
    reaches, at the run's instant."""
    return Evaluation(engine, settings(), request.release_id, request.environment, request.run.now)


class ReleaseCheckOperator(BaseOperator):
    """Runs one registered release check for the authorised run's release."""

    ui_color = "#e8f4ea"

    def __init__(self, *, check_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check_name = check_name

    def execute(self, context: Any) -> dict[str, Any]:
        check = RELEASE_CHECKS_BY_NAME[self.check_name]
        request = GateRequest.from_xcom(context["ti"].xcom_pull(task_ids=AUTHORISE_TASK_ID))
        with ops_engine(context) as engine:
            result = check.run(evaluation(request, engine))
        detail = "".join(f"\n  - {line}" for line in check.failure_lines(result))
        return publish_check(result, detail)


def publish_check(result: CheckResult, failure_detail: str = "") -> dict[str, Any]:
    """Push the result for the gate, log it, and fail the task unless it passed or was waived."""
    outcome = result.to_dict()
    get_current_context()["ti"].xcom_push(key=CHECK_XCOM_KEY, value=outcome)
    log.info("check %s: %s - %s", result.name, result.status.upper(), result.summary)
    if result.status == "error":  # could not evaluate: something is broken, an incident
        raise AirflowFailException(
            f"check {result.name} {result.status}: {result.summary}{failure_detail}"
        )
    if not result.passed:  # the check ran and found problems: the gate's answer, no incident
        raise refuse(f"check {result.name} {result.status}: {result.summary}", failure_detail)
    return outcome


def collected_checks(check_task_ids: dict[str, str]) -> list[CheckResult]:
    """Every check's published result; a silent check task is an ``error``, never a pass."""
    ti = get_current_context()["ti"]
    results = []
    for name, task_id in check_task_ids.items():
        published = ti.xcom_pull(task_ids=task_id, key=CHECK_XCOM_KEY)
        if published is None:
            results.append(CheckResult(name, "error", f"task {task_id} reported no result", {}))
        else:
            results.append(CheckResult(**published))
    return results


def release_gate_task(
    request: dict[str, Any] | None, check_task_ids: dict[str, str]
) -> dict[str, Any]:
    """Record the verdict over all checks; fail the run unless the release is ready."""
    from ops_domain.runbook.report import record_release_verdict

    if request is None:
        raise refuse("the run was not authorised: no verdict recorded")
    gate = GateRequest.from_xcom(request)
    checks = collected_checks(check_task_ids)
    with domain_refusals_refuse_the_run(), ops_engine() as engine:
        verdict = record_release_verdict(
            evaluation(gate, engine), actor_username=gate.run.actor_username, checks=checks
        ).verdict
    table = "\n".join(f"  {c.name:<20} {c.status:<7} {c.summary}" for c in checks)
    log.info(
        "release %s (%s): %s [snapshot #%s]\n%s",
        verdict.release_id,
        gate.environment,
        verdict.verdict.upper(),
        verdict.snapshot_id,
        table,
    )
    if not verdict.is_ready:
        raise refuse(
            f"release {verdict.release_id} is not ready ({verdict.verdict}):"
            f" failing checks: {', '.join(verdict.failed_checks)}"
        )
    return {
        "release_id": verdict.release_id,
        "verdict": verdict.verdict,
        "snapshot_id": verdict.snapshot_id,
        "waived_checks": verdict.waived_checks,
    }
