"""One manual DAG per person's action (an emergency action, a waiver decision), from one shape.

Each action has its own trigger form: only its own fields, the ones it cannot do without
required (a form cannot make a field required depending on another field's value, so one
form for several actions would ask everyone for everything). Each DAG is ``authorise_run``
(the triggering login must hold the action's permission) >> ``act`` (the domain function,
imported when the action runs, keeping the DAG file's parse cheap). A refusal of the domain,
or fields that contradict each other, refuses the run in one line and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task
from sqlalchemy import Engine

from ops_domain.config import Settings
from ops_domain.jsonable import jsonable
from wallet_ops_airflow.defaults import task_defaults
from wallet_ops_airflow.jobs import authorise_run, ops_engine
from wallet_ops_airflow.jobs import settings as ops_settings
from wallet_ops_airflow.refusal import domain_refusals_refuse_the_run
from wallet_ops_airflow.run_request import RunRequest

Perform = Callable[[Engine, Settings, RunRequest, dict[str, Any]], Any]
Form = Callable[[Settings], dict[str, Param]]


@dataclass(frozen=True)
class ManualAction:
    dag_id: str
    permission: str
    summary: str  # the DAG's description: what the action does, who may do it
    form: Form
    perform: Perform
    tags: tuple[str, ...]


def manual_action_dag(action: ManualAction) -> DAG:
    """``authorise_run`` >> ``act`` for ``action``, with the action's own form."""
    with DAG(
        dag_id=action.dag_id,
        description=action.summary,
        doc_md=f"### {action.dag_id}\n\n{action.summary}\n\n"
        "Manual only; the run acts as the login that triggered it. Every action is audited; "
        "a refusal fails the run in one line and changes nothing.",
        schedule=None,
        start_date=None,
        catchup=False,
        max_active_runs=1,
        default_args=task_defaults(retries=1),
        tags=["wallet-ops", *action.tags],
        params=action.form(Settings.from_env()),
    ) as dag:
        request = task(task_id="authorise_run")(authorise_run)(
            permission=action.permission, job=action.dag_id
        )

        @task
        def act(request: dict[str, Any]) -> dict[str, Any]:
            params = get_current_context()["params"]
            with domain_refusals_refuse_the_run(), ops_engine() as engine:
                performed = action.perform(
                    engine, ops_settings(), RunRequest.from_xcom(request), params
                )
                return jsonable(performed)

        act(request)
    return dag
