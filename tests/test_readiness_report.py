"""The full readiness report: every check in order, fail closed, one stored verdict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ops_domain.config import Settings
from ops_domain.errors import ReadinessNotEvaluated, UnknownActor
from ops_domain.metrics import check as metrics_check
from ops_domain.metrics.exporter import MetricsServer
from ops_domain.runbook.registry import CHECK_NAMES
from ops_domain.runbook.report import release_readiness_report
from tests.support.factories import DEFAULT_TIME, Factory
from tests.support.prometheus import scraping_prometheus

NOW = DEFAULT_TIME
RELEASE = "2026.11.20-1"
CHECK_ORDER = list(CHECK_NAMES)
KEYCLOAK_FIXTURES = Path(__file__).parent / "fixtures" / "keycloak"
KEYCLOAK_ENV = {
    "KEYCLOAK_BASE_URL": "https://sso.wallet-ops.example.com",
    "KEYCLOAK_REALM": "wallet-ops",
    "KEYCLOAK_CLIENT_ID": "wallet-ops-airflow",
    "KEYCLOAK_REDIRECT_URI": "https://airflow.wallet-ops.example.com/auth/login_callback",
    "KEYCLOAK_POST_LOGOUT_REDIRECT_URI": "https://airflow.wallet-ops.example.com/auth/logout_callback",
    "KEYCLOAK_SCOPES": "openid profile email",
    "KEYCLOAK_ROLE_GROUP_MAP": (
        "ops-super-admin:super_admin,ops-admin:admin,ops-finance:finance,ops-risk:risk,"
        "ops-operation:operation,ops-treasury:treasury,ops-customer-service:customer_service,"
        "ops-sales:sales"
    ),
    "KEYCLOAK_REALM_EXPORT": str(KEYCLOAK_FIXTURES / "realm-hardened.json"),
}
UNREACHABLE = "postgresql://ops@127.0.0.1:1/scratch"


@pytest.fixture
def gatekeeper(factory: Factory) -> None:
    factory.user("svc_airflow", "operation")
    factory.user("olga", "operation")


def configured(env: dict[str, str]) -> Settings:
    """The test settings (three currencies) plus ``env``, read as the process reads them."""
    return Settings.from_env({"OPS_ENABLED_CURRENCIES": "USD,EUR,IDR", **env})


@pytest.fixture
def broken_env() -> dict[str, str]:
    """Nothing around the database configured: metrics and the smoke target unreachable."""
    return {
        "OPS_METRICS_URL": "http://127.0.0.1:1/metrics",
        "OPS_TEST_DATABASE_URL": UNREACHABLE,
    }


@pytest.fixture
def broken(broken_env: dict[str, str]) -> Settings:
    return configured(broken_env)


METRICS_TOKEN = "report-metrics-token"


@pytest.fixture
def metrics_env(engine: Engine) -> Iterator[dict[str, str]]:
    """A token-protected exporter and a Prometheus stand-in scraping it."""
    server = MetricsServer(engine, host="127.0.0.1", port=0, token=METRICS_TOKEN, cache_seconds=0)
    server.start()
    try:
        with scraping_prometheus(server.url, METRICS_TOKEN) as prometheus:
            yield {
                "OPS_METRICS_URL": server.url,
                "OPS_METRICS_TOKEN": METRICS_TOKEN,
                "OPS_PROMETHEUS_URL": prometheus,
            }
    finally:
        server.stop()


def stored_checks(engine: Engine) -> list[tuple[str, str]]:
    with engine.begin() as conn:
        checks = conn.execute(text("SELECT checks FROM release_snapshots")).scalar_one()
    return [(check["name"], check["status"]) for check in checks]


@pytest.mark.usefixtures("gatekeeper")
def test_every_check_runs_in_order_and_errors_keep_it_from_ready(
    engine: Engine, broken: Settings
) -> None:
    result = release_readiness_report(
        engine, broken, release_id=RELEASE, environment="staging", now=NOW
    )

    statuses = {check.name: check.status for check in result.checks}
    assert [check.name for check in result.checks] == CHECK_ORDER
    assert statuses == {
        "migrations": "pass",
        "rbac": "pass",
        "db_isolation": "error",
        "readiness_snapshot": "pass",
        "keycloak_hardening": "fail",
        "metrics": "error",
        "smoke_tests": "error",
        "data_quality": "pass",
    }
    assert not result.is_ready
    assert result.gate.verdict.verdict == "error"
    assert result.to_dict()["failed_checks"] == [
        "db_isolation",
        "keycloak_hardening",
        "metrics",
        "smoke_tests",
    ]
    # check names above, counter names here: the snapshot check passed, no counter blocks
    assert (result.to_dict()["failed_counters"], result.to_dict()["waived_counters"]) == ([], [])
    assert stored_checks(engine) == list(statuses.items())


@pytest.mark.usefixtures("gatekeeper")
def test_a_check_that_raises_is_an_error_never_a_pass(
    engine: Engine, broken: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_check(*args: object, **kwargs: object) -> None:
        raise RuntimeError("scrape parser crashed\nsecret detail on line two")

    monkeypatch.setattr(metrics_check, "check_metrics", broken_check)

    result = release_readiness_report(engine, broken, release_id=RELEASE, now=NOW)

    [metrics] = [check for check in result.checks if check.name == "metrics"]
    assert (metrics.status, metrics.summary) == ("error", "RuntimeError: scrape parser crashed")


@pytest.mark.usefixtures("gatekeeper")
def test_table_has_one_row_per_check(engine: Engine, broken: Settings, factory: Factory) -> None:
    factory.alert(severity="critical")

    table = release_readiness_report(engine, broken, release_id=RELEASE, now=NOW).table()

    lines = table.splitlines()
    assert lines[0].startswith(f"release {RELEASE} (production): NOT READY [snapshot #1,")
    assert lines[1].split() == ["check", "status", "summary"]
    assert [line.split()[:2] for line in lines[2:]][3] == ["readiness_snapshot", "fail"]
    assert len(lines) == 2 + len(CHECK_ORDER)
    assert "open_high_alerts = 1 blocking the release" in lines[5]


@pytest.mark.usefixtures("gatekeeper")
def test_report_json_names_failed_checks_by_check_and_failed_counters_by_counter(
    engine: Engine, broken: Settings, factory: Factory
) -> None:
    factory.alert(severity="critical")

    report = release_readiness_report(engine, broken, release_id=RELEASE, now=NOW).to_dict()

    assert "readiness_snapshot" in report["failed_checks"]
    assert "open_high_alerts" not in report["failed_checks"]
    assert (report["failed_counters"], report["waived_counters"]) == (["open_high_alerts"], [])
    assert report["open_high_alerts"] == 1


def test_unreachable_database_could_not_be_evaluated(broken: Settings) -> None:
    unreachable = create_engine(UNREACHABLE, connect_args={"connect_timeout": 2})

    with pytest.raises(ReadinessNotEvaluated):
        release_readiness_report(unreachable, broken, release_id=RELEASE)


@pytest.mark.usefixtures("gatekeeper")
def test_cli_report_that_could_not_evaluate_exits_2_with_verdict_error(
    cli, broken_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in broken_env.items():
        monkeypatch.setenv(key, value)

    code, out, _ = cli(
        "release_readiness_report", "--actor-username", "olga", "--release-id", RELEASE, "--json"
    )

    report = json.loads(out)
    assert code == 2
    assert (report["is_ready"], report["verdict"]) == (False, "error")
    assert [check["name"] for check in report["checks"]] == CHECK_ORDER


@pytest.mark.slow
@pytest.mark.usefixtures("gatekeeper")
def test_everything_configured_and_healthy_is_ready(
    engine: Engine,
    database_url: str,
    metrics_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPS_TEST_DATABASE_URL", raising=False)
    server = make_url(database_url)
    env = {
        **KEYCLOAK_ENV,
        "OPS_AIRFLOW_METADATA_URL": server.set(database="airflow").render_as_string(
            hide_password=False
        ),
        "OPS_DATABASE_URL": database_url,
        "OPS_AUDIT_DATABASE_URL": server.set(database="ops_audit").render_as_string(
            hide_password=False
        ),
        "OPS_DB_ISOLATION_STRICT": "0",
        **metrics_env,
    }

    result = release_readiness_report(engine, configured(env), release_id=RELEASE, now=NOW)

    assert [(c.name, c.status) for c in result.checks] == [(n, "pass") for n in CHECK_ORDER]
    assert result.is_ready
    assert result.gate.verdict.released
    with engine.begin() as conn:
        assert conn.execute(text("SELECT status FROM releases")).scalar_one() == "released"


def test_a_wrong_actor_is_refused_before_any_check_runs(
    engine: Engine, broken: Settings, factory: Factory
) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM role_permissions WHERE permission = 'rbac.manage'"))
    before = factory.table_checksums()

    with pytest.raises(UnknownActor):
        release_readiness_report(engine, broken, actor_username="ghost", release_id=RELEASE)

    assert factory.table_checksums() == before
