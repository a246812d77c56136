"""Release-readiness checks as tasks, and the gate that turns their results into a verdict.

Each check task runs one check of the domain's registry (``readiness_checks``) fail-closed,
publishes its ``CheckResult`` as the XCom ``check_result`` and then fails unless the check
passed or was waived, so the grid shows every failing check in red and none hides another.
The gate task runs whatever its upstream outcome, reads every published result (a check
task that published nothing counts as ``error``) and hands them to ``record_gate_verdict``,
the one place that decides and stores the verdict.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from airflow.sdk import get_current_context
from airflow.sdk.exceptions import AirflowFailException
from sqlalchemy import Engine

from ops_domain.checks import CheckResult
from ops_domain.db import OPS_DATABASE_ENV
from ops_domain.readiness.snapshot import gate_evidence
from wallet_ops_airflow.jobs import ops_engine, settings
from wallet_ops_airflow.refusal import domain_refusals_refuse_the_run, refuse
from wallet_ops_airflow.run_request import GateRequest

log = logging.getLogger(__name__)

CHECK_XCOM_KEY = "check_result"


def check_environment(engine: Engine) -> dict[str, str]:
    """The process environment, with ``OPS_DATABASE_URL`` pinned to the database the
    ``ops_db`` connection reaches: every check judges the database the DAGs act on."""
    return {
        **os.environ,
        OPS_DATABASE_ENV: engine.url.render_as_string(hide_password=False),
    }


def run_check(name: str, request: GateRequest) -> CheckResult:
    """One named check of the domain's registry, fail-closed, under that name."""
    from ops_domain.readiness.report import SnapshotCheck, readiness_checks, run_registered

    with ops_engine() as engine:
        snapshot = SnapshotCheck(engine, request.release_id, request.environment, request.run.now)
        registry = dict(readiness_checks(engine, settings(), check_environment(engine), snapshot))
        return run_registered(name, registry[name])


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


def readiness_check_task(name: str, request: dict[str, Any]) -> dict[str, Any]:
    return publish_check(run_check(name, GateRequest.from_xcom(request)))


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
    from ops_domain.readiness.gate import record_gate_verdict

    if request is None:
        raise refuse("the run was not authorised: no verdict recorded")
    gate = GateRequest.from_xcom(request)
    checks = collected_checks(check_task_ids)
    counters, waivers = gate_evidence(checks)
    with domain_refusals_refuse_the_run(), ops_engine() as engine:
        verdict = record_gate_verdict(
            engine,
            actor_username=gate.run.actor_username,
            release_id=gate.release_id,
            environment=gate.environment,
            checks=checks,
            counters=counters,
            waivers=waivers,
            now=gate.run.now,
        )
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
