"""rollback_watch and the emergency DAGs through Airflow: schedule, Params and real runs.

The house policy (owner, retries, pool, notifier, Params with titles) is checked for every DAG
by ``test_dag_integrity``."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from tests.airflow.support import dag_bag, run_dag
from tests.support.chargeback_alarm import chargeback_then_release, refuse_chargeback_moves
from tests.support.factories import Factory
from tests.support.releases import release_through_gate

pytestmark = pytest.mark.airflow

RELEASE = "2026.11.24-1"


def test_rollback_watch_runs_every_ten_minutes_and_on_a_passed_gate() -> None:
    from airflow.sdk import AssetOrTimeSchedule

    dag = dag_bag().dags["rollback_watch"]

    assert isinstance(dag.timetable, AssetOrTimeSchedule)
    assert (dag.timetable.timetable.expression, dag.timetable.timetable.timezone) == (
        "*/10 * * * *",
        "UTC",
    )
    producer = dag_bag().dags["release_readiness"].get_task("release_gate")
    assert [asset.name for asset in producer.outlets] == ["release_readiness_passed"]
    assert [asset.name for asset in dag.timetable.asset_condition.objects] == [
        "release_readiness_passed"
    ]
    assert dag.params["window_hours"] == 24
    assert dag.catchup is False


def test_the_watch_runbook_sends_the_on_call_to_emergency_dags_that_exist() -> None:
    bag = dag_bag()

    named = re.findall(r"`(emergency_\w+)`", bag.dags["rollback_watch"].doc_md)

    assert named == [
        "emergency_freeze_payouts",
        "emergency_open_incident",
        "emergency_record_rollback",
    ]
    assert set(named) <= set(bag.dag_ids)


@pytest.fixture
def crew(factory: Factory) -> None:
    factory.user("olga", "operation")
    factory.user("rita", "risk")
    factory.user("svc_airflow", "operation")


def test_emergency_freeze_then_settlement_automation_holds_the_payouts(
    airflow_db: dict[str, str], engine: Engine, factory: Factory, crew: None
) -> None:
    alpha, beta = factory.merchant("ALPHA"), factory.merchant("BETA")
    factory.event(alpha, "100.00", fee="2.50")
    factory.event(beta, "40.00")

    freeze = run_dag("emergency_freeze_payouts", {"reason": "release 2026.11.24-1"}, login="rita")
    settle = run_dag("settlement_automation", {"business_date": "2026-11-20"}, login="olga")

    assert freeze.state == "success", freeze.tasks
    frozen = freeze.xcom("act")
    assert (frozen["scope"], frozen["set_by"], frozen["reason"]) == (
        "global",
        "rita",
        "release 2026.11.24-1",
    )
    assert settle.state == "success", settle.tasks
    counts = settle.xcom("report")["counts"]
    assert (counts["settlements_posted"], counts["payouts_created"], counts["payouts_held"]) == (
        2,
        0,
        2,
    )
    assert factory.count("payouts") == 0
    assert factory.count("settlements", "status = 'posted'") == 2


def test_emergency_refusal_fails_the_run_and_changes_nothing(
    airflow_db: dict[str, str], engine: Engine, factory: Factory, crew: None
) -> None:
    factory.user("fin", "finance")
    checksums = factory.table_checksums()

    unauthorised = run_dag("emergency_freeze_payouts", {"reason": "x"}, login="fin")
    blank_merchant = run_dag(
        "emergency_freeze_payouts", {"reason": "x", "merchant_code": "NOPE"}, login="rita"
    )

    assert unauthorised.state == "failed"
    assert unauthorised.tasks["authorise_run"] == "failed"
    assert blank_merchant.state == "failed"
    assert blank_merchant.tasks == {"authorise_run": "success", "act": "failed"}
    changed = {t for t, s in factory.table_checksums().items() if s != checksums[t]}
    assert changed <= {"audit_log"}  # refusals are audit rows; user mistakes open no alert
    assert factory.count("alerts") == 0
    assert factory.count("payout_freezes") == 0


def test_rollback_watch_fails_on_a_firing_trigger_and_raises_the_critical_alert(
    airflow_db: dict[str, str], engine: Engine, factory: Factory, crew: None
) -> None:
    chargeback = chargeback_then_release(engine, factory, RELEASE)
    refuse_chargeback_moves(engine, chargeback)  # above the two refusals tolerated by default

    run = run_dag("rollback_watch", login="olga")

    assert run.state == "failed"
    assert run.tasks == {"authorise_run": "success", "find_release": "success", "watch": "failed"}
    assert run.xcom("find_release") == {"release_id": RELEASE, "environment": "production"}
    report = run.xcom("watch", "watch_report")
    assert report["verdict"] == "rollback_recommended"
    assert [t["name"] for t in report["triggers"] if t["status"] == "firing"] == [
        "chargebacks_stalled"
    ]
    assert factory.count("alerts", "alert_type = 'rollback_trigger' AND severity = 'critical'") == 1
    with engine.begin() as conn:
        assert conn.execute(text("SELECT status FROM releases")).scalar_one() == (
            "rollback_recommended"
        )


def test_rollback_watch_does_nothing_after_the_window(
    airflow_db: dict[str, str], engine: Engine, factory: Factory, crew: None
) -> None:
    long_ago = factory.now() - timedelta(hours=25)
    assert release_through_gate(engine, RELEASE, actor_username="olga", now=long_ago).released
    checksums = factory.table_checksums()

    run = run_dag("rollback_watch", login="olga")

    assert run.state == "success"
    assert run.tasks == {"authorise_run": "success", "find_release": "skipped", "watch": "skipped"}
    assert factory.table_checksums() == checksums
