"""The packaging works outside pytest: the real ``airflow`` CLI lists and runs the DAGs."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from tests.airflow.conftest import AIRFLOW_BIN
from tests.airflow.test_dag_integrity import EXPECTED_DAG_IDS
from tests.support.factories import Factory

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def airflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(AIRFLOW_BIN), *args], check=False, env=env, capture_output=True, text=True, timeout=300
    )


def json_output(stdout: str) -> list[dict[str, object]]:
    """The JSON document the CLI printed after any warnings it wrote to stdout."""
    return json.loads(next(line for line in reversed(stdout.splitlines()) if line.startswith("[")))


def test_airflow_dags_list_shows_every_dag_with_its_owner(airflow_db: dict[str, str]) -> None:
    listed = airflow(airflow_db, "dags", "list", "--local", "--output", "json")

    assert listed.returncode == 0, listed.stderr[-2000:]
    owners = {row["dag_id"]: row["owners"] for row in json_output(listed.stdout)}
    assert {dag_id: owners.get(dag_id) for dag_id in EXPECTED_DAG_IDS} == dict.fromkeys(
        EXPECTED_DAG_IDS, "wallet-ops"
    )


def test_airflow_dags_test_acts_as_its_login_dag_test_which_needs_an_ops_user(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    """``airflow dags test`` records its runs as triggered by the login "dag_test": without an
    ops user of that name the run is refused before anything changes, with one."""
    agent = factory.user("cora", "customer_service")
    event = factory.event(factory.merchant("SHOP"), "500.00")
    refund = factory.refund(agent, event, "40.00", sla_due_at=NOW - timedelta(hours=2))

    refused = airflow(airflow_db, "dags", "test", "refund_dispute_escalation", NOW.isoformat())
    factory.user("dag_test", "operation")
    later = (NOW + timedelta(minutes=15)).isoformat()
    done = airflow(airflow_db, "dags", "test", "refund_dispute_escalation", later)

    assert refused.returncode == 1
    assert "the Airflow login 'dag_test' has no ops user" in refused.stdout + refused.stderr
    assert done.returncode == 0, done.stdout[-3000:]
    with engine.begin() as conn:
        stamped = conn.execute(
            text("SELECT escalated_at FROM refund_requests WHERE id = :id"), {"id": refund}
        ).scalar_one()
    assert stamped == NOW + timedelta(minutes=15)
    assert factory.count("job_runs", "job_name = 'escalate_refund_disputes'") == 1
