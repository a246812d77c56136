"""Who a DAG run acts as: its triggering login, or the service account on schedules; a
refused login is refused before any business data is touched, as a user mistake."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, text

from tests.airflow.support import run_dag
from tests.support.factories import Factory

pytestmark = pytest.mark.airflow

ALERTS = "alert_type = 'airflow_task_failed'"


def context(run_type: str, login: str | None = None) -> dict[str, object]:
    run = SimpleNamespace(
        run_type=run_type, triggering_user_name=login, run_id=f"{run_type}__1", conf={}
    )
    return {"dag_run": run, "params": {}}


def test_scheduled_runs_act_as_the_service_account_and_every_other_run_as_its_login(
    airflow_db: dict[str, str],
) -> None:
    from wallet_ops_airflow.identity import resolve_actor, run_principal

    assert resolve_actor(context("scheduled", "mallory"), "svc") == "svc"
    assert resolve_actor(context("asset_triggered"), "svc") == "svc"
    assert resolve_actor(context("manual", " olga "), "svc") == "olga"
    assert resolve_actor(context("backfill", "sam"), "svc") == "sam"
    assert run_principal(context("manual", "olga"), "svc").describe() == "airflow olga (manual__1)"
    assert run_principal(context("scheduled"), "svc").describe() == "scheduler svc (scheduled__1)"


@pytest.mark.parametrize(
    ("run_type", "login", "reason"),
    [
        ("manual", None, "this manual run records no triggering login"),
        ("backfill", "  ", "this backfill run records no triggering login"),
        ("manual", "svc", "the login 'svc' is the scheduler's service account"),
    ],
)
def test_a_run_without_a_personal_login_is_refused(
    airflow_db: dict[str, str], run_type: str, login: str | None, reason: str
) -> None:
    from wallet_ops_airflow.identity import resolve_actor
    from wallet_ops_airflow.refusal import RunRefused

    with pytest.raises(RunRefused, match=reason):
        resolve_actor(context(run_type, login), "svc")


def business_tables_changed(factory: Factory, before: dict[str, str]) -> set[str]:
    after = factory.table_checksums()
    return {table for table in before if before[table] != after[table]}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("login", "run_type", "reason"),
    [
        (
            "admin",
            "manual",
            "refused: the Airflow login 'admin' has no ops user: runs act as the ops user of the"
            " same username",
        ),
        (
            "cora",
            "manual",
            "refused: ActorNotAllowed: actor 'cora' may not run automate_settlements",
        ),
        ("sam", "backfill", "refused: ActorNotAllowed: actor 'sam' may not run"),
        ("svc_airflow", "manual", "refused: the login 'svc_airflow' is the scheduler's service"),
    ],
)
def test_a_refused_login_fails_the_first_task_in_one_line_without_touching_data_or_alerting(
    airflow_db: dict[str, str],
    engine: Engine,
    factory: Factory,
    capfd: pytest.CaptureFixture[str],
    login: str,
    run_type: str,
    reason: str,
) -> None:
    factory.user("svc_airflow", "operation", "finance")
    factory.user("cora", "customer_service")
    factory.user("sam", "sales")
    factory.event(factory.merchant("SHOP"), "100.00")
    capfd.readouterr()
    before = factory.table_checksums()

    run = run_dag("settlement_automation", login=login, run_type=run_type)

    assert run.state == "failed"
    assert run.tasks["authorise_run"] == "failed"
    assert run.tasks["plan_shards"] == "upstream_failed"
    output = capfd.readouterr()
    log = output.out + output.err
    assert reason in log
    assert "Task exited" in log  # the task runner's one line for a refusal...
    assert "Task failed with exception" not in log  # ...not its traceback of a crash
    assert business_tables_changed(factory, before) == set()
    assert factory.count("job_runs") == 0
    assert factory.count("alerts", ALERTS) == 0


@pytest.mark.slow
def test_a_service_account_is_refused_to_a_login_even_under_another_name(
    airflow_db: dict[str, str], engine: Engine, factory: Factory, capfd: pytest.CaptureFixture[str]
) -> None:
    from ops_domain.rbac.users import add_user

    add_user(engine, "robot", ["operation"], service_account=True)
    factory.event(factory.merchant("SHOP"), "100.00")

    run = run_dag("settlement_automation", login="robot")

    assert run.tasks["authorise_run"] == "failed"
    assert "'robot' is a service account: only scheduled runs act as it" in capfd.readouterr().out
    assert factory.count("settlements") == 0


@pytest.mark.slow
def test_a_scheduled_run_acts_as_the_service_account_and_its_audit_names_the_scheduler(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    from ops_domain.rbac.users import add_user

    add_user(engine, "svc_airflow", ["operation", "finance"], service_account=True)
    factory.event(factory.merchant("SHOP"), "100.00")

    run = run_dag("settlement_automation", {"business_date": "2026-11-20"})

    assert run.state == "success", run.tasks
    with engine.begin() as conn:
        stamps = conn.execute(
            text(
                "SELECT DISTINCT u.username, a.channel, a.principal, a.principal_ref"
                " FROM audit_log a JOIN users u ON u.id = a.actor_id"
                " WHERE a.action LIKE 'settlement.%' OR a.action LIKE 'job.%'"
            )
        ).all()
    assert [tuple(row)[:3] for row in stamps] == [("svc_airflow", "scheduler", "svc_airflow")]
    assert stamps[0].principal_ref.startswith("manual__")  # dag.test()'s run id


@pytest.mark.slow
def test_a_refused_scheduled_run_is_an_incident_since_nobody_triggered_it(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    factory.user("svc_airflow", "sales")  # a deployment mistake: the account lacks the rights

    run = run_dag("settlement_automation")

    assert run.tasks["authorise_run"] == "failed"
    assert factory.count("alerts", ALERTS) == 1


@pytest.mark.slow
def test_a_run_naming_an_acting_user_in_its_conf_is_refused_even_for_the_same_login(
    airflow_db: dict[str, str], engine: Engine, factory: Factory, capfd: pytest.CaptureFixture[str]
) -> None:
    factory.user("olga", "operation")
    factory.event(factory.merchant("SHOP"), "100.00")

    run = run_dag("settlement_automation", {"actor_username": "rita"}, login="olga")

    assert run.tasks["authorise_run"] == "failed"
    assert "refused: actor_username is not a parameter" in capfd.readouterr().out
    assert factory.count("settlements") == 0


@pytest.mark.parametrize(
    ("dag_id", "conf", "complaint"),
    [
        ("settlement_automation", {"currency": "XYZ"}, "is not one of"),
        ("settlement_automation", {"business_date": "2026-02-30"}, "is not a 'date'"),
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
        run_dag(dag_id, conf, login="olga")
