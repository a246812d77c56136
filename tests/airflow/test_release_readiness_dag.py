"""release_readiness end to end: every check runs, the gate names the failures, and passes
only once the blockers are resolved or waived."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url

from ops_domain.alerts.service import update_alert
from ops_domain.config import DEFAULT_WAIVER_MAX_DAYS
from ops_domain.metrics.exporter import MetricsServer
from ops_domain.readiness.waivers import approve_waiver, request_waiver
from tests.airflow.support import run_dag
from tests.support.factories import DEFAULT_TIME, Factory
from tests.support.prometheus import scraping_prometheus
from tests.support.releases import CHECK_TASKS
from tests.test_readiness_report import KEYCLOAK_ENV

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

NOW = DEFAULT_TIME
RELEASE = "2026.11.20-1"
CONF = {"release_id": RELEASE, "environment": "staging"}


@pytest.fixture
def release_environment(
    airflow_db: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hardened Keycloak realm export, distinct audit database, the metrics endpoint where
    the exporter will listen; isolation checked without the strict login proof, since the
    test server has a single superuser login."""
    server = make_url(database_url)
    for name, value in {
        **KEYCLOAK_ENV,
        "OPS_AUDIT_DATABASE_URL": server.set(database="ops_audit").render_as_string(False),
        "OPS_DB_ISOLATION_STRICT": "0",
    }.items():
        monkeypatch.setenv(name, value)


METRICS_TOKEN = "dag-metrics-token"


@pytest.fixture
def exporter(engine: Engine) -> Iterator[MetricsServer]:
    server = MetricsServer(engine, host="127.0.0.1", port=0, token=METRICS_TOKEN, cache_seconds=0)
    yield server
    server.close()


@pytest.fixture
def prometheus(exporter: MetricsServer) -> Iterator[str]:
    """A Prometheus stand-in scraping the exporter (real Prometheus: test_metrics_prometheus)."""
    with scraping_prometheus(exporter.url, METRICS_TOKEN) as url:
        yield url


def snapshots(engine: Engine) -> list[tuple[str, list[str]]]:
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT verdict, checks FROM release_snapshots ORDER BY id"))
        return [
            (verdict, sorted(c["name"] for c in checks if c["status"] not in ("pass", "waived")))
            for verdict, checks in rows
        ]


def task_failure_alerts(engine: Engine) -> list[str]:
    with engine.begin() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT target_id FROM alerts WHERE alert_type = 'airflow_task_failed'"
                    " ORDER BY target_id"
                )
            ).scalars()
        )


def asset_events(name: str) -> int:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.settings import Session

    with Session() as session:
        return session.scalar(
            select(func.count())
            .select_from(AssetEvent)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == name)
        )


@pytest.mark.usefixtures("release_environment")
def test_gate_fails_naming_every_failing_check_then_passes_once_blockers_are_cleared(
    engine: Engine,
    factory: Factory,
    exporter: MetricsServer,
    prometheus: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    factory.user("svc_airflow", "operation")
    factory.user("olga", "operation")
    factory.user("rita", "risk")
    agent = factory.user("cora", "customer_service")
    refund = factory.refund(agent, factory.event(factory.merchant("SHOP"), "80.00"), "30.00")
    alert = factory.alert("manual", severity="critical")
    london = factory.merchant("LONDON", currency="GBP")  # GBP is not an enabled currency
    monkeypatch.setenv("OPS_METRICS_URL", "http://127.0.0.1:1/metrics")  # exporter not up yet

    blocked = run_dag("release_readiness", CONF, login="olga", logical_date=NOW)

    assert blocked.state == "failed"
    failing = {
        "business_state.readiness_snapshot",
        "business_state.data_quality",
        "platform.metrics",
    }
    assert {task for task, state in blocked.tasks.items() if state == "failed"} == {
        *failing,
        "release_gate",
    }
    assert {blocked.tasks[task] for task in CHECK_TASKS - failing} == {"success"}
    log = capfd.readouterr().out
    print("failing run:", blocked.tasks)
    assert (
        f"release {RELEASE} is not ready (error):"
        " failing checks: readiness_snapshot, data_quality, metrics" in log
    )
    assert (
        "  - currencies_enabled: merchants.settlement_currency (ExpectColumnValuesToBeInSet):"
        f" 1 unexpected e.g. merchants.id {london}" in log
    )
    assert snapshots(engine) == [("error", ["data_quality", "metrics", "readiness_snapshot"])]
    assert asset_events("release_readiness_passed") == 0
    # the unreachable endpoint is an incident; what the gate found in the data is its answer
    assert task_failure_alerts(engine) == ["release_readiness.platform.metrics"]

    waiver = request_waiver(
        engine,
        max_days=DEFAULT_WAIVER_MAX_DAYS,
        actor_username="olga",
        counter="pending_refunds",
        reason="refund decided by the merchant after the cut-off",
        expires_at=NOW + timedelta(days=1),
        release_id=RELEASE,
        environment=CONF["environment"],
        item_ids=[refund],
        now=NOW,
    )
    approve_waiver(engine, waiver_id=waiver.id, actor_username="rita", note="known", now=NOW)
    update_alert(engine, alert_id=alert, to_status="closed", actor_username="olga", note="fixed")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE merchants SET settlement_currency = 'EUR' WHERE id = :id"), {"id": london}
        )
    exporter.start()
    monkeypatch.setenv("OPS_METRICS_URL", exporter.url)
    monkeypatch.setenv("OPS_METRICS_TOKEN", METRICS_TOKEN)
    monkeypatch.setenv("OPS_PROMETHEUS_URL", prometheus)

    passed = run_dag("release_readiness", CONF, login="olga", logical_date=NOW)

    print("passing run:", passed.tasks)
    assert passed.state == "success", passed.tasks
    assert set(passed.tasks.values()) == {"success"}
    assert passed.xcom("release_gate") == {
        "release_id": RELEASE,
        "verdict": "ready",
        "snapshot_id": 2,
        "waived_checks": ["readiness_snapshot"],
    }
    assert passed.xcom("business_state.readiness_snapshot", "check_result")["status"] == "waived"
    assert snapshots(engine)[1] == ("ready", [])
    with engine.begin() as conn:
        assert conn.execute(text("SELECT status FROM releases")).scalar_one() == "released"
    assert asset_events("release_readiness_passed") == 1


def test_a_manual_run_by_an_unauthorised_actor_records_no_verdict(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    factory.user("cora", "customer_service")
    before = factory.table_checksums()

    run = run_dag("release_readiness", CONF, login="cora", logical_date=NOW)

    assert run.state == "failed"
    assert run.tasks["authorise_run"] == "failed"
    assert {run.tasks[task] for task in CHECK_TASKS} == {"upstream_failed"}
    assert run.tasks["release_gate"] == "failed"
    assert factory.table_checksums() == before  # no snapshot, no reseed, nothing
