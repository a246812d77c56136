"""One shape for the DAGs that run a single domain job: authorise the run, then run the job.

The escalation DAGs differ only in the job they call, its schedule and its own Params, so
they are declared as a ``SingleJob`` and built here; the DAG files stay a few lines long.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task

from ops_domain.jobs import JobSpec
from wallet_ops_airflow.defaults import task_defaults
from wallet_ops_airflow.jobs import Service, authorise_run, run_service
from wallet_ops_airflow.params import dry_run_param
from wallet_ops_airflow.run_request import RunRequest


@dataclass(frozen=True)
class SingleJob:
    """A domain job exposed as a DAG.

    ``service`` is the domain job itself, imported by the DAG file (the escalation jobs are
    light: no pandas, no GX). Each entry of ``params`` is a Param of the DAG and is passed to
    the service as the keyword argument of the same name.
    """

    spec: JobSpec  # the job's name (its task id) and the permission its actor needs
    service: Service
    params: dict[str, Param] = field(default_factory=dict)


def single_job_dag(
    job: SingleJob,
    *,
    dag_id: str,
    doc_md: str | None,
    schedule: str,
    start_date: datetime,
    tags: list[str],
) -> DAG:
    """``authorise_run`` >> ``<job>``; no catchup: each run escalates everything overdue as
    of its own moment, so missed intervals need no replay."""
    with DAG(
        dag_id=dag_id,
        doc_md=doc_md,
        schedule=schedule,
        start_date=start_date,
        catchup=False,
        max_active_runs=1,
        default_args=task_defaults(),
        tags=tags,
        params={
            "dry_run": dry_run_param(),
            **job.params,
        },
    ) as dag:
        request = task(task_id="authorise_run")(authorise_run)(
            permission=job.spec.permission, job=job.spec.name
        )

        @task(task_id=job.spec.name)
        def run(request: dict[str, Any]) -> dict[str, Any]:
            params = get_current_context()["params"]
            arguments = {name: params[name] for name in job.params}
            run_request = RunRequest.from_xcom(request)
            return run_service(job.service, run_request, now=run_request.now, **arguments)

        run(request)
    return dag
