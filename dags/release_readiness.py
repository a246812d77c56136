"""
### Release readiness

Manual: runs every check of the release runbook against the ops database and stores the
verdict as a release snapshot.

Each check is its own task, made from the runbook's registry (one task group per group, listed
below), and fails on its own, so one failure never hides another. The `release_gate` task
runs whatever happened upstream, records the verdict over all results (a check that reported
nothing counts as an error: the gate fails closed) and fails the run unless every check
passed or was waived. A ready verdict marks the release `released` and
updates the Asset `release_readiness_passed`, which deployment DAGs can be scheduled on.

*Runbook*: trigger with `release_id` and `environment`; the run acts as your login (roles
operation, risk, finance, admin, super_admin). A blocking counter can be cleared by an
approved waiver (`ops-domain waivers ...`); rerun the DAG afterwards: each run is stored as
evidence.

The checks, by task group:
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import TaskGroup, TriggerRule, XComArg, dag, get_current_context, task
from wallet_ops_airflow.assets import RELEASE_READINESS_PASSED
from wallet_ops_airflow.checks import AUTHORISE_TASK_ID, ReleaseCheckOperator, release_gate_task
from wallet_ops_airflow.defaults import task_defaults
from wallet_ops_airflow.jobs import authorise
from wallet_ops_airflow.params import environment_param, release_id_param
from wallet_ops_airflow.run_request import GateRequest

from ops_domain.readiness.gate import GATE_PERMISSION
from ops_domain.runbook.registry import ReleaseCheck, check_groups

CHECK_GROUPS = check_groups()
# The checks share the ops_db pool's few slots: the long ones (a pytest subprocess, Great
# Expectations) take theirs first, so they never wait for a wave of short ones to end.
LONG_CHECKS = frozenset({"smoke_tests", "data_quality"})
LONG_CHECK_PRIORITY = 10
CHECK_TASK_IDS = {
    check.name: f"{group}.{check.name}"
    for group, checks in CHECK_GROUPS.items()
    for check in checks
}
CHECKS_DOC = "\n".join(
    f"- `{group}`: {', '.join(f'`{check.name}`' for check in checks)}"
    for group, checks in CHECK_GROUPS.items()
)


@task(task_id=AUTHORISE_TASK_ID)
def authorise_gate() -> dict[str, Any]:
    params = get_current_context()["params"]
    run = authorise(permission=GATE_PERMISSION, job="release gate")
    return GateRequest(run, params["release_id"].strip(), params["environment"]).to_xcom()


def check_group(group: str, checks: tuple[ReleaseCheck, ...], request: XComArg) -> TaskGroup:
    with TaskGroup(group_id=group) as tasks:
        for check in checks:
            request >> ReleaseCheckOperator(
                task_id=check.name,
                check_name=check.name,
                priority_weight=LONG_CHECK_PRIORITY if check.name in LONG_CHECKS else 1,
            )
    return tasks


@task(task_id="release_gate", trigger_rule=TriggerRule.ALL_DONE, outlets=[RELEASE_READINESS_PASSED])
def release_gate() -> dict[str, Any]:
    """Runs whatever happened upstream; reads the request itself, since a failed
    authorisation leaves none to pass in."""
    request = get_current_context()["ti"].xcom_pull(task_ids=AUTHORISE_TASK_ID)
    return release_gate_task(request, CHECK_TASK_IDS)


@dag(
    dag_id="release_readiness",
    doc_md=f"{__doc__}\n{CHECKS_DOC}\n",
    schedule=None,
    start_date=None,
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retries=1),
    tags=["wallet-ops", "release"],
    params={
        "release_id": release_id_param(
            "The release being gated, e.g. 2026.11.24-1 (waivers are per release)."
        ),
        "environment": environment_param("Where the release goes; stored with the snapshot."),
    },
)
def release_readiness() -> None:
    request = authorise_gate()
    groups = [check_group(group, checks, request) for group, checks in CHECK_GROUPS.items()]
    groups >> release_gate()


release_readiness()
