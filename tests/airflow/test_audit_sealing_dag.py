"""The audit sealing DAG: it seals on its own, as the configured sealing login, and fails
(alerting ops) when none is configured."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from tests.airflow.support import dag_bag, run_dag
from tests.support.factories import Factory

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

NOW = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)


def test_sealing_starts_unpaused_where_every_other_dag_waits_for_a_click() -> None:
    assert dag_bag().dags["audit_sealing"].is_paused_upon_creation is False


def test_the_scheduled_seal_chains_every_new_audit_row(
    airflow_db: dict[str, str],
    engine: Engine,
    factory: Factory,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    factory.user("olga", "operation")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (action, target_type, target_id)"
                " SELECT 'case.note', 'case', n::text FROM generate_series(1, 3) AS n"
            )
        )
    monkeypatch.delenv("OPS_AUDIT_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPS_SEALER_DATABASE_URL", raising=False)
    unconfigured = run_dag("audit_sealing", logical_date=NOW)
    assert unconfigured.state == "failed"
    assert factory.count("audit_chain") == 0

    monkeypatch.setenv("OPS_SEALER_DATABASE_URL", database_url)
    sealed = run_dag("audit_sealing", logical_date=NOW)
    assert sealed.state == "success", sealed.tasks
    written = factory.count("audit_log")  # with the failed run's alert
    assert sealed.xcom("seal_audit_log") | {"head_hash": None} == {
        "sealed": written,
        "head_link": written,
        "head_id": written,
        "head_hash": None,
        "publication": "not configured",
    }
    assert factory.count("audit_chain") == written > 3
