"""Every DAG file imports cleanly, declares the contract ids, and follows the house policy."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.airflow.conftest import DAGS_FOLDER, PLUGINS_FOLDER
from tests.airflow.support import dag_bag

pytestmark = pytest.mark.airflow

# dag id -> (timetable, cron expression, catchup); None: triggered by hand only
SCHEDULES = {
    "settlement_automation": ("CronDataIntervalTimetable", "0 1 * * *", True),
    "refund_dispute_escalation": ("CronTriggerTimetable", "*/15 * * * *", False),
    "case_sla_escalation": ("CronTriggerTimetable", "0 * * * *", False),
    "ops_work_queue_escalation": ("CronTriggerTimetable", "0 * * * *", False),
    "accounting_period_governance": ("CronDataIntervalTimetable", "0 2 1 * *", False),
    "release_readiness": ("NullTimetable", None, False),
    **{
        f"emergency_{action}": ("NullTimetable", None, False)
        for action in (
            "freeze_payouts",
            "lift_payout_freeze",
            "open_incident",
            "targeted_reconciliation",
            "backfill_settlements",
            "record_rollback",
        )
    },
    "audit_sealing": ("CronTriggerTimetable", "*/5 * * * *", False),
    "readiness_waiver_request": ("NullTimetable", None, False),
    "readiness_waiver_decision": ("NullTimetable", None, False),
}
# rollback_watch runs on a cron OR an asset; its schedule is checked in test_rollback_dags.py
EXPECTED_DAG_IDS = frozenset(SCHEDULES) | {"rollback_watch"}
DAG_FILES = sorted(DAGS_FOLDER.glob("*.py"))
# Libraries a DAG file must leave to the task that needs them: each costs the DAG processor
# tenths of a second per parse. Parse seconds are a bench figure (bench/dag_parse.py), not a test.
HEAVY_AT_PARSE = ("great_expectations", "pandas", "numpy", "alembic", "keycloak", "matplotlib")


def test_every_dag_file_imports_without_errors() -> None:
    bag = dag_bag()
    assert bag.import_errors == {}
    assert set(bag.dag_ids) >= EXPECTED_DAG_IDS


def policy_problems(dag: Any) -> list[str]:
    """Everything in one DAG that breaks the house rules, as readable lines."""
    problems = []
    if not (dag.doc_md or "").strip().startswith("###"):
        problems.append("module docstring is not its doc_md")
    if "wallet-ops" not in dag.tags:
        problems.append("no wallet-ops tag")
    if dag.max_active_runs != 1:
        problems.append(f"max_active_runs={dag.max_active_runs}")
    for name in dag.params:
        param = dag.params.get_param(name)
        if not (param.schema.get("title") and param.description and param.schema.get("type")):
            problems.append(f"param {name} lacks a title, description or JSON-schema type")
    for task in dag.tasks:
        if task.owner != "wallet-ops":
            problems.append(f"{task.task_id}: owner {task.owner!r}")
        if task.retries < 1 or task.retry_exponential_backoff <= 1:
            problems.append(f"{task.task_id}: no retries with exponential backoff")
        if task.retry_policy is None:
            problems.append(f"{task.task_id}: no retry policy")
        if task.pool != "ops_db":
            problems.append(f"{task.task_id}: pool {task.pool!r}")
        if not task.on_failure_callback:
            problems.append(f"{task.task_id}: no failure notifier")
    return problems


def test_every_dag_follows_the_house_policy() -> None:
    bag = dag_bag()
    problems = {dag_id: policy_problems(dag) for dag_id, dag in sorted(bag.dags.items())}
    assert {dag_id: found for dag_id, found in problems.items() if found} == {}


@pytest.mark.parametrize("dag_id", sorted(SCHEDULES))
def test_schedule_and_catchup_are_the_contract(dag_id: str) -> None:
    dag = dag_bag().dags[dag_id]
    timetable = dag.timetable
    expected_kind, expected_cron, expected_catchup = SCHEDULES[dag_id]

    assert type(timetable).__name__ == expected_kind
    assert getattr(timetable, "expression", None) == expected_cron
    assert str(getattr(timetable, "timezone", "UTC")) == "UTC"
    assert dag.catchup is expected_catchup


PARSE_PROBE = """
import json, os, socket, subprocess, sys, time, importlib.util
sys.path.insert(0, sys.argv[1])
import airflow.sdk, airflow.sdk.definitions.dag, psycopg2

def refuse(*args, **kwargs):
    raise RuntimeError("I/O at DAG parse time")

for path in sys.argv[3:]:
    child = os.fork()
    if child == 0:  # a fresh copy of the parent per file, as the DAG processor does
        socket.socket.connect = psycopg2.connect = subprocess.Popen.__init__ = refuse
        spec = importlib.util.spec_from_file_location("dag_under_test", path)
        module = importlib.util.module_from_spec(spec)
        started = time.perf_counter()
        spec.loader.exec_module(module)
        elapsed = time.perf_counter() - started
        heavy = [m for m in sys.argv[2].split(",") if m in sys.modules]
        print(json.dumps({"file": os.path.basename(path), "seconds": elapsed, "heavy": heavy}))
        sys.stdout.flush()
        os._exit(0)
    os.waitpid(child, 0)
"""


def test_each_dag_file_parses_without_heavy_imports_or_io() -> None:
    """Each file is imported in a fork of an interpreter that has Airflow loaded, the way the
    DAG processor parses; it must not pull in a heavy library, nor open a connection (a
    connection attempt raises, so the file would fail to parse)."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            PARSE_PROBE,
            str(PLUGINS_FOLDER),
            ",".join(HEAVY_AT_PARSE),
            *map(str, DAG_FILES),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    parsed = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    for probe in parsed:
        print(f"{probe['file']}: parsed in {probe['seconds']:.3f} s")
    assert [probe["file"] for probe in parsed] == [path.name for path in DAG_FILES]
    assert {probe["file"]: probe["heavy"] for probe in parsed if probe["heavy"]} == {}


def test_the_release_dag_runs_one_task_per_registered_check_in_its_group() -> None:
    """The gate's checks come from the one registry the CLI report and the verdict read, so a
    check added there cannot be missing from the Airflow gate."""
    from ops_domain.runbook.registry import RELEASE_CHECKS

    dag = dag_bag().dags["release_readiness"]
    checks = {t for t in dag.task_ids if t not in {"authorise_run", "release_gate"}}

    assert checks == {f"{check.group}.{check.name}" for check in RELEASE_CHECKS}


def test_the_long_release_checks_take_the_pool_slots_first() -> None:
    """Eight checks share the four ops_db slots: the smoke suite and the data-quality suite
    start in the first wave instead of after the short checks."""
    dag = dag_bag().dags["release_readiness"]
    weights = {
        task.task_id.split(".")[-1]: task.priority_weight
        for task in dag.tasks
        if task.task_id not in {"authorise_run", "release_gate"}
    }
    long_checks = {name for name, weight in weights.items() if weight > min(weights.values())}

    assert long_checks == {"smoke_tests", "data_quality"}
