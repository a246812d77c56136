"""The Airflow adapters on their own: connection, run context, retry decisions, periods."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from ops_domain.errors import ActorNotAllowed, DatabaseUnavailable, InvalidInput

pytestmark = pytest.mark.airflow


def context(
    run_type: str = "scheduled", interval: tuple[datetime, datetime] | None = None, **params: Any
) -> dict[str, Any]:
    start, end = interval or (None, None)
    dag_run = SimpleNamespace(run_type=run_type, data_interval_start=start, data_interval_end=end)
    return {"dag_run": dag_run, "params": params}


def test_the_ops_db_connection_becomes_the_engine_url(
    airflow_db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wallet_ops_airflow.hook import OpsDatabaseHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_OPS_DB", "postgres://ops:s%40cret@db.internal:6432/ops?sslmode=require"
    )

    assert OpsDatabaseHook().database_url() == (
        "postgresql+psycopg2://ops:s%40cret@db.internal:6432/ops?sslmode=require"
    )


def test_without_a_connection_the_hook_uses_the_domain_database_setting(
    airflow_db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wallet_ops_airflow.hook import OpsDatabaseHook

    monkeypatch.delenv("AIRFLOW_CONN_OPS_DB")
    monkeypatch.setenv("OPS_DATABASE_URL", "postgres://ops@db.internal/ops")

    assert OpsDatabaseHook().database_url() == "postgresql+psycopg2://ops@db.internal/ops"


def test_the_hook_engine_reaches_the_ops_database(
    airflow_db: dict[str, str], database_url: str
) -> None:
    from sqlalchemy import text
    from wallet_ops_airflow.hook import OpsDatabaseHook

    engine = OpsDatabaseHook().get_engine()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_database()")).scalar_one() in database_url
    engine.dispose()


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (DatabaseUnavailable("database unavailable at db:5432/ops"), "retry"),
        (OperationalError("SELECT 1", {}, Exception("server closed the connection")), "retry"),
        (InvalidInput("currency XYZ is not enabled"), "fail"),
        (ActorNotAllowed("cora", "automate_settlements", ["operation"]), "fail"),
        (KeyError("shard"), "fail"),
    ],
)
def test_only_transient_database_errors_are_retried(
    airflow_db: dict[str, str], error: BaseException, action: str
) -> None:
    from wallet_ops_airflow.jobs import TRANSIENT_ONLY

    assert TRANSIENT_ONLY.evaluate(error, try_number=1, max_tries=4).action.value == action


def test_the_first_retry_waits_30_s_unless_the_environment_sets_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wallet_ops_airflow.defaults import task_defaults

    monkeypatch.delenv("OPS_TASK_RETRY_DELAY_SECONDS", raising=False)
    assert task_defaults()["retry_delay"] == timedelta(seconds=30)
    monkeypatch.setenv("OPS_TASK_RETRY_DELAY_SECONDS", "2")
    assert task_defaults()["retry_delay"] == timedelta(seconds=2)
    assert task_defaults()["max_retry_delay"] == timedelta(minutes=10)


def test_a_manual_run_works_on_its_business_date_param_every_other_run_on_its_interval(
    airflow_db: dict[str, str],
) -> None:
    from wallet_ops_airflow.jobs import resolve_business_date, resolve_now
    from wallet_ops_airflow.refusal import RunRefused

    interval = (datetime(2026, 11, 20, 1, tzinfo=UTC), datetime(2026, 11, 21, 1, tzinfo=UTC))
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    picked = {"business_date": "2026-11-02"}

    assert resolve_business_date(context("manual", interval, **picked)) == date(2026, 11, 2)
    assert resolve_business_date(context("scheduled", interval, **picked)) == date(2026, 11, 20)
    assert resolve_business_date(context("backfill", interval, **picked)) == date(2026, 11, 20)
    assert resolve_business_date(context("manual", interval)) == date(2026, 11, 20)  # no Param
    assert resolve_business_date(context("manual")) == yesterday
    with pytest.raises(RunRefused, match="business_date is required"):
        resolve_business_date(context("manual", interval, business_date=None))
    assert resolve_now(context(interval=interval)) == interval[1]


def run_request(business_date: date, *, manual: bool) -> Any:
    from wallet_ops_airflow.run_request import RunRequest

    now = datetime(2026, 11, 24, 2, tzinfo=UTC)
    return RunRequest("fin", business_date, now, dry_run=False, manual=manual)


def test_the_run_request_travels_as_plain_json_and_comes_back_equal(
    airflow_db: dict[str, str],
) -> None:
    from wallet_ops_airflow.run_request import GateRequest, RunRequest

    request = run_request(date(2026, 11, 23), manual=True)
    gate = GateRequest(request, "2026.11.24-1", "production")

    assert json.loads(json.dumps(request.to_xcom())) == {
        "actor_username": "fin",
        "business_date": "2026-11-23",
        "now": "2026-11-24T02:00:00+00:00",
        "dry_run": False,
        "manual": True,
    }
    assert RunRequest.from_xcom(json.loads(json.dumps(request.to_xcom()))) == request
    assert GateRequest.from_xcom(json.loads(json.dumps(gate.to_xcom()))) == gate


def test_a_planned_period_and_a_watched_release_travel_typed_between_tasks() -> None:
    from wallet_ops_airflow.run_request import PeriodRequest, ReleaseRequest

    period = PeriodRequest("EUR", date(2026, 11, 1), date(2026, 11, 30))
    release = ReleaseRequest("2026.11.24-1", "production")

    as_json = json.loads(json.dumps(period.to_xcom()))
    assert as_json == {"currency": "EUR", "period_start": "2026-11-01", "period_end": "2026-11-30"}
    assert PeriodRequest.from_xcom(as_json) == period
    assert period.describe() == "EUR 2026-11-01..2026-11-30"
    assert ReleaseRequest.from_xcom(json.loads(json.dumps(release.to_xcom()))) == release


def test_a_socket_directory_and_sslmode_of_the_connection_reach_the_engine_url(
    airflow_db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from wallet_ops_airflow.hook import OpsDatabaseHook

    monkeypatch.setenv(
        "AIRFLOW_CONN_OPS_DB", "postgresql://ops_app:@/ops?host=%2Fvar%2Frun+pg&sslmode=disable"
    )

    assert OpsDatabaseHook().database_url() == (
        "postgresql+psycopg2://ops_app:@/ops?host=%2Fvar%2Frun+pg&sslmode=disable"
    )


def test_the_monthly_run_closes_the_month_its_interval_covers(airflow_db: dict[str, str]) -> None:
    from wallet_ops_airflow.periods import requested_period
    from wallet_ops_airflow.refusal import RunRefused

    scheduled = run_request(date(2026, 10, 1), manual=False)
    manual = run_request(date(2026, 11, 23), manual=True)
    none = {"period_start": None, "period_end": None}

    assert requested_period(none, scheduled) == (date(2026, 10, 1), date(2026, 10, 31))
    assert requested_period(none, run_request(date(2028, 2, 1), manual=False)) == (
        date(2028, 2, 1),
        date(2028, 2, 29),
    )
    assert requested_period(none, run_request(date(2026, 12, 31), manual=False)) == (
        date(2026, 12, 1),
        date(2026, 12, 31),
    )
    assert requested_period({"period_start": "2026-11-01", "period_end": "2026-11-15"}, manual) == (
        date(2026, 11, 1),
        date(2026, 11, 15),
    )
    for params, complaint in [
        (none, "manual runs must give period_start and period_end"),
        ({"period_start": "2026-11-01", "period_end": None}, "give both"),
        (
            {"period_start": "2026-11-15", "period_end": "2026-11-01"},
            "period start 2026-11-15 is after period end",
        ),
    ]:
        with pytest.raises(RunRefused, match=complaint):
            requested_period(params, manual)


def test_the_summary_reads_as_one_paragraph(airflow_db: dict[str, str]) -> None:
    from wallet_ops_airflow.jobs import summarise

    outcome = {
        "job": "escalate_refund_disputes",
        "dry_run": True,
        "counts": {"refunds_escalated": 2, "cases_escalated": 1},
        "items": {"refunds": [{"id": 7}, {"id": 9}]},
        "messages": ["2 refunds past their SLA"],
    }

    assert summarise(outcome) == (
        "escalate_refund_disputes (dry run): cases_escalated=1, refunds_escalated=2\n"
        "  refunds: 2 listed, e.g. [{'id': 7}, {'id': 9}]\n"
        "  2 refunds past their SLA"
    )


def test_each_emergency_dag_needs_the_permission_the_domain_gives_its_action() -> None:
    from wallet_ops_airflow.emergency import EMERGENCY_ACTIONS

    from ops_domain.rollback.emergency_actions import EMERGENCY_ACTION_PERMISSIONS

    for dag_id, action in EMERGENCY_ACTIONS.items():
        name = dag_id.removeprefix("emergency_")
        assert action.permission == EMERGENCY_ACTION_PERMISSIONS[name], dag_id
    assert len(EMERGENCY_ACTIONS) == len(EMERGENCY_ACTION_PERMISSIONS) - 1  # reinstate: CLI only
