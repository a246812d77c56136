"""Running the real DAGs in this process, as ``airflow dags test`` does (``dag.test()``).

Import this module's functions only after the Airflow environment is in ``os.environ``:
Airflow reads its configuration once, on first import.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ops_domain.config import PROJECT_ROOT
from scripts.stack import OPS_POOL

DAGS_FOLDER = PROJECT_ROOT / "dags"


@dataclass(frozen=True)
class DagRunOutcome:
    """A finished DAG run: its state, each task's state and each task's return value."""

    dag_id: str
    run_id: str
    state: str
    tasks: dict[str, str]  # task id (with [map index] when mapped) -> state
    returns: dict[str, Any]  # task id -> return value (first map index of mapped tasks)

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    def failed_tasks(self) -> list[str]:
        return sorted(task for task, state in self.tasks.items() if state == "failed")


METADATA_SETUP = (("db", "migrate"), ("pools", "set", OPS_POOL[0], str(OPS_POOL[1]), OPS_POOL[2]))


def migrate_metadata(env: dict[str, str], log: Path) -> None:
    """``airflow db migrate`` and the ``ops_db`` pool in one Airflow process of their own with
    ``env`` (``python -m scripts.airflow_runs``: one import of Airflow, not one per command),
    output to ``log``."""
    with log.open("ab") as sink:
        subprocess.run(
            [sys.executable, "-m", "scripts.airflow_runs"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=300,
        )


def migrate_metadata_here() -> None:
    """The same two commands through Airflow's own CLI in this process, for a caller whose
    Airflow environment is ``os.environ`` (the demo, the Airflow tests): Airflow is imported
    once, for these and the DAG runs that follow, instead of once more per command (3-4 s
    each)."""
    from airflow.cli import cli_parser
    from airflow.configuration import write_default_airflow_configuration_if_needed

    write_default_airflow_configuration_if_needed()
    parser = cli_parser.get_parser()
    for command in METADATA_SETUP:
        args = parser.parse_args(list(command))
        args.func(args)


@contextmanager
def triggered_as(login: str | None, run_type: str = "manual") -> Iterator[None]:
    """Make the run ``dag.test()`` creates a ``run_type`` run triggered by ``login``, as a UI
    or REST trigger by that login would be; ``login`` None: a scheduled run, as the scheduler
    creates it. (``dag.test()`` itself records every run as a manual run of "dag_test".)"""
    from unittest import mock

    from airflow.models import dagrun

    create = dagrun.get_or_create_dagrun

    def create_as_login(**arguments: Any) -> Any:
        run = create(**{**arguments, "triggering_user_name": login})
        run.run_type = "scheduled" if login is None else run_type
        arguments["session"].commit()
        return run

    with mock.patch.object(dagrun, "get_or_create_dagrun", create_as_login):
        yield


def run_dag(
    dag_id: str, conf: dict[str, Any], logical_date: datetime, *, login: str | None = None
) -> DagRunOutcome:
    """Parse the DAG file afresh (as the DAG processor does) and run one DAG run to its end,
    triggered by ``login`` (None: a scheduled run)."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.xcom import XComModel
    from airflow.settings import Session

    bag = DagBag(dag_folder=str(DAGS_FOLDER / f"{dag_id}.py"))
    if dag_id not in bag.dags:
        raise RuntimeError(f"DAG {dag_id} did not load: {bag.import_errors}")
    with triggered_as(login):
        run = bag.dags[dag_id].test(run_conf=conf, logical_date=logical_date)
    tasks = {
        ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]": str(ti.state)
        for ti in run.get_task_instances()
    }
    with Session() as session:
        rows = session.scalars(XComModel.get_many(run_id=run.run_id, dag_ids=dag_id)).all()
        returns = {
            row.task_id: XComModel.deserialize_value(row)
            for row in sorted(rows, key=lambda row: -row.map_index)
            if row.key == "return_value"
        }
    return DagRunOutcome(dag_id, run.run_id, str(run.state), tasks, returns)


if __name__ == "__main__":
    migrate_metadata_here()
