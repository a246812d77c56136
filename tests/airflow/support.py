"""Running DAGs in tests: load them through a DagBag and run them with ``dag.test()``."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from tests.airflow.conftest import DAGS_FOLDER


@cache
def dag_bag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def run_dag(
    dag_id: str, conf: dict[str, Any] | None = None, *, logical_date: datetime | None = None
) -> tuple[str, dict[str, str]]:
    """Run one DAG run in-process; return (run state, {task id[map index]: state})."""
    dag = dag_bag().dags[dag_id]
    run = (
        dag.test(run_conf=conf or {}, logical_date=logical_date)
        if logical_date
        else dag.test(run_conf=conf or {})
    )
    states = {}
    for ti in run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        states[key] = str(ti.state)
    return str(run.state), states
