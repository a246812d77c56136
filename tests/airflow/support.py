"""Running DAGs in tests: load them through a DagBag, run one DAG run with ``dag.test()``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from tests.airflow.conftest import DAGS_FOLDER


@cache
def dag_bag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


@dataclass(frozen=True)
class DagRunOutcome:
    state: str
    tasks: dict[str, str]  # task id (with [map index] when mapped) -> state
    xcoms: dict[tuple[str, str], Any]  # (task id, key) -> value, first map index only

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        return self.xcoms.get((task_id, key))


def run_dag(
    dag_id: str,
    conf: dict[str, Any] | None = None,
    *,
    login: str | None = None,
    run_type: str = "manual",
    logical_date: datetime | None = None,
) -> DagRunOutcome:
    """Run one DAG run in-process as the scheduler would, and collect what it left: a
    ``run_type`` run triggered by the Airflow login ``login``, or a scheduled run without one.

    The DAG is parsed afresh for every run, as the DAG processor does: resolving a run's
    Params stores their values on the DAG object, which would leak into the next run.
    """
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.settings import Session

    from scripts.airflow_runs import triggered_as

    dag = DagBag(dag_folder=str(DAGS_FOLDER / f"{dag_id}.py")).dags[dag_id]
    with triggered_as(login, run_type):
        run = dag.test(
            run_conf=conf or {}, logical_date=logical_date or datetime.now().astimezone()
        )
    tasks = {}
    for ti in run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tasks[key] = str(ti.state)
    with Session() as session:
        rows = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=dag_id)).all()
        xcoms = {
            (row.task_id, row.key): XComModel.deserialize_value(row)
            for row in sorted(rows, key=lambda row: -row.map_index)
        }
    return DagRunOutcome(str(run.state), tasks, xcoms)
