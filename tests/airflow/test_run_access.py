"""Who may run a DAG, and what a run accepts: refused before any business data is touched."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import Engine

from tests.airflow.support import run_dag
from tests.support.factories import Factory

pytestmark = pytest.mark.airflow

NOT_BUSINESS_DATA = {"alerts", "audit_log"}  # where the failure notifier records its alert


def context(run_type: str, **params: object) -> dict[str, object]:
    return {"dag_run": SimpleNamespace(run_type=run_type), "params": params}


def test_scheduled_runs_act_as_the_service_account_and_manual_runs_as_their_named_actor(
    airflow_db: dict[str, str],
) -> None:
    from airflow.sdk.exceptions import AirflowFailException
    from wallet_ops_airflow.jobs import resolve_actor

    assert resolve_actor(context("scheduled", actor_username="mallory"), "svc") == "svc"
    assert resolve_actor(context("backfill", actor_username=None), "svc") == "svc"
    assert resolve_actor(context("manual", actor_username=" olga "), "svc") == "olga"
    with pytest.raises(AirflowFailException, match="manual runs must name the acting user"):
        resolve_actor(context("manual", actor_username=None), "svc")


@pytest.mark.slow
def test_an_unauthorised_actor_fails_the_run_before_any_business_data_is_touched(
    airflow_db: dict[str, str], engine: Engine, factory: Factory, capfd: pytest.CaptureFixture[str]
) -> None:
    factory.user("svc_airflow", "operation")
    factory.user("cora", "customer_service")
    merchant = factory.merchant("SHOP")
    factory.event(merchant, "100.00")
    before = factory.table_checksums()

    run = run_dag("settlement_automation", {"actor_username": "cora"})

    assert run.state == "failed"
    assert run.tasks["authorise_run"] == "failed"
    assert run.tasks["plan_shards"] == "upstream_failed"
    assert (
        "ActorNotAllowed: actor 'cora' may not run automate_settlements" in capfd.readouterr().out
    )
    after = factory.table_checksums()
    assert {table for table in before if before[table] != after[table]} == NOT_BUSINESS_DATA
    assert factory.count("job_runs") == 0
    assert (
        factory.count(
            "alerts",
            "alert_type = 'airflow_task_failed' AND target_id = 'settlement_automation.authorise_run'"
            " AND severity = 'medium' AND status = 'open'",
        )
        == 1
    )

    run_dag("settlement_automation", {"actor_username": "cora"})

    assert factory.count("alerts") == 1  # the notifier's alert is deduplicated per DAG task


@pytest.mark.parametrize(
    ("dag_id", "conf", "complaint"),
    [
        ("settlement_automation", {"business_date": "2026-02-30"}, "is not a 'date'"),
        ("settlement_automation", {"currency": "XYZ"}, "is not one of"),
        ("settlement_automation", {"shards": 0}, "is less than the minimum of 1"),
        ("case_sla_escalation", {"fallback_sla_hours": "a day"}, "is not of type 'integer'"),
        ("accounting_period_governance", {"action": "delete"}, "is not one of"),
        ("release_readiness", {"environment": "production"}, "No value passed"),
    ],
)
def test_bad_params_are_rejected_before_any_task_runs(
    airflow_db: dict[str, str], dag_id: str, conf: dict[str, object], complaint: str
) -> None:
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match=complaint):
        run_dag(dag_id, conf)
