"""The production stack, checked statically (no Docker engine runs here): docker-compose.yaml,
the Dockerfile, .env.example, the Keycloak realm and the Prometheus files under deploy/."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from ops_domain.cli.main import main as ops_cli
from ops_domain.config import PROJECT_ROOT
from ops_domain.readiness.isolation import database_location
from scripts.platform_services import KEYCLOAK_SETTINGS

COMPOSE = PROJECT_ROOT / "docker-compose.yaml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
PROMETHEUS = PROJECT_ROOT / "deploy" / "prometheus"
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
LONG_RUNNING = (*AIRFLOW_SERVICES, "airflow-db", "ops-db", "keycloak", "ops-metrics", "prometheus")
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")  # not $${escaped}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in service.get("environment", {}).items()}


def pinned(package: str) -> str:
    lines = (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
    return next(line.split("==")[1] for line in lines if line.startswith(f"{package}=="))


def test_every_component_of_the_official_layout_is_there(compose: dict[str, Any]) -> None:
    names = set(services(compose))
    assert {"airflow-init", *AIRFLOW_SERVICES} <= names
    assert {"airflow-db", "ops-db", "keycloak", "ops-metrics", "prometheus"} <= names


def test_long_running_services_have_healthchecks(compose: dict[str, Any]) -> None:
    missing = [
        name
        for name in LONG_RUNNING
        if "test" not in services(compose)[name].get("healthcheck", {})
    ]
    assert missing == []


def test_airflow_starts_after_its_database_migration_and_the_ops_schema(
    compose: dict[str, Any],
) -> None:
    for name in AIRFLOW_SERVICES:
        depends = services(compose)[name]["depends_on"]
        assert depends["airflow-init"] == {"condition": "service_completed_successfully"}, name
        assert depends["airflow-db"] == {"condition": "service_healthy"}, name
        assert depends["ops-migrate"] == {"condition": "service_completed_successfully"}, name
    assert services(compose)["airflow-apiserver"]["depends_on"]["keycloak"] == {
        "condition": "service_healthy"
    }


def test_every_airflow_component_shares_one_jwt_secret_from_env(compose: dict[str, Any]) -> None:
    secrets = {
        environment(services(compose)[name])["AIRFLOW__API_AUTH__JWT_SECRET"]
        for name in ("airflow-init", *AIRFLOW_SERVICES, "airflow-worker")
    }
    assert len(secrets) == 1
    assert secrets.pop().startswith("${AIRFLOW_JWT_SECRET:?")


def test_ui_login_goes_through_the_keycloak_auth_manager_of_the_realm(
    compose: dict[str, Any],
) -> None:
    env = environment(services(compose)["airflow-apiserver"])
    realm = yaml.safe_load((PROJECT_ROOT / "deploy" / "keycloak" / "realm.json").read_text())
    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == (
        "airflow.providers.keycloak.auth_manager.keycloak_auth_manager.KeycloakAuthManager"
    )
    assert (
        env["AIRFLOW__KEYCLOAK_AUTH_MANAGER__REALM"] == "${KEYCLOAK_REALM:-" + realm["realm"] + "}"
    )
    client_ids = {client["clientId"] for client in realm["clients"]}
    assert env["AIRFLOW__KEYCLOAK_AUTH_MANAGER__CLIENT_ID"].split(":-")[1].rstrip("}") in client_ids
    keycloak = services(compose)["keycloak"]
    assert "--import-realm" in keycloak["command"]
    assert any(v.startswith("./deploy/keycloak/realm.json:") for v in keycloak["volumes"])
    assert "apache-airflow-providers-keycloak==" in DOCKERFILE.read_text()


def test_the_ops_db_connection_is_the_least_privilege_login_of_the_ops_service(
    compose: dict[str, Any],
) -> None:
    env = environment(services(compose)["airflow-scheduler"])
    url = make_url(env["AIRFLOW_CONN_OPS_DB"])
    ops_db = services(compose)[url.host]
    assert ops_db["image"].startswith("postgres:")
    assert url.port == 5432
    assert url.database == environment(ops_db)["POSTGRES_DB"] == "ops"
    assert url.username == "ops_app"
    assert url.password == "${OPS_APP_PASSWORD:?set OPS_APP_PASSWORD in .env}"
    assert env["OPS_DATABASE_URL"] == env["AIRFLOW_CONN_OPS_DB"]
    migrate = " ".join(services(compose)["ops-migrate"]["command"])
    assert "db grant-app-role --role ops_app" in migrate
    assert 'users add --username "$${OPS_SERVICE_ACTOR}"' in migrate  # scheduled runs' actor
    assert 'users add --username "$${OPS_ADMIN_USER}" --roles admin ' in migrate  # bootstrap
    assert '--service-account --actor-username "$${OPS_ADMIN_USER}"' in migrate
    assert make_url(environment(services(compose)["ops-migrate"])["OPS_DATABASE_URL"]).username == (
        "ops_migrator"
    )
    init_script = (PROJECT_ROOT / "deploy" / "postgres" / "ops-init" / "01-roles.sh").read_text()
    assert "CREATE ROLE ops_migrator LOGIN CREATEROLE" in init_script
    assert "REVOKE ALL ON DATABASE ops FROM PUBLIC" in init_script


def test_the_audit_chain_is_sealed_and_published_under_logins_of_their_own(
    compose: dict[str, Any],
) -> None:
    env = environment(services(compose)["airflow-scheduler"])
    sealer, export = (
        make_url(env["OPS_SEALER_DATABASE_URL"]),
        make_url(env["OPS_AUDIT_DATABASE_URL"]),
    )
    ops_logins = {"ops_app", "ops_sealer", "ops_migrator"}
    assert (sealer.username, sealer.database) == ("ops_sealer", "ops")
    assert (export.username, export.database) == ("ops_auditor", "ops_audit")
    assert export.username not in ops_logins
    migrate = " ".join(services(compose)["ops-migrate"]["command"])
    assert "db grant-sealer-role --role ops_sealer" in migrate
    init_script = (PROJECT_ROOT / "deploy" / "postgres" / "ops-init" / "01-roles.sh").read_text()
    assert "CREATE DATABASE ops_audit OWNER ops_auditor" in init_script
    assert "REVOKE ALL ON DATABASE ops_audit FROM PUBLIC" in init_script
    assert "GRANT CONNECT, TEMPORARY ON DATABASE ops_audit TO ops_auditor" in init_script


def test_the_two_databases_have_separate_credentials(compose: dict[str, Any]) -> None:
    airflow_db = environment(services(compose)["airflow-db"])
    ops_db = environment(services(compose)["ops-db"])
    assert airflow_db["POSTGRES_USER"] != ops_db["POSTGRES_USER"]
    assert airflow_db["POSTGRES_PASSWORD"] != ops_db["POSTGRES_PASSWORD"]
    metadata = make_url(
        environment(services(compose)["airflow-scheduler"])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    )
    assert (metadata.host, metadata.username, metadata.database) == (
        "airflow-db",
        "airflow",
        "airflow",
    )


def test_tasks_find_the_metadata_database_for_the_isolation_check(compose: dict[str, Any]) -> None:
    """Airflow blanks its own URL in task processes: the check reads ours, which names the
    same database, without the metadata database's password."""
    env = environment(services(compose)["airflow-scheduler"])
    ours = env["OPS_AIRFLOW_METADATA_URL"].split(":-", 1)[1].rstrip("}")
    assert database_location(ours) == database_location(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert make_url(ours).password is None
    example = ENV_EXAMPLE.read_text()
    assert f"OPS_AIRFLOW_METADATA_URL={ours}\n" in example


def test_the_celery_profile_adds_a_broker_and_two_workers(compose: dict[str, Any]) -> None:
    worker, redis = services(compose)["airflow-worker"], services(compose)["redis"]
    assert worker["profiles"] == redis["profiles"] == ["celery"]
    assert worker["deploy"]["replicas"] == 2
    assert worker["command"] == "celery worker"
    assert worker["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert environment(worker)["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"


def test_the_image_installs_celery_from_the_lock_with_the_pins_that_work_together() -> None:
    """celery 5.7 (what pip picks unpinned) kills provider 3.26's worker; the lock pins 5.6.3
    and the image installs the lock, never an unpinned celery of its own."""
    lock = (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
    assert {"apache-airflow-providers-celery==3.26.0", "celery==5.6.3"} <= set(lock)
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[^=\s]+", line) for line in lock)
    dockerfile = DOCKERFILE.read_text()
    assert "pip install --no-cache-dir -r /opt/wallet-ops/requirements.txt" in dockerfile
    assert "celery" not in dockerfile.split("ARG EXTRA_PROVIDERS=", 1)[1].splitlines()[0]


def test_prometheus_reads_the_metrics_token_as_a_secret_from_env(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    job = config["scrape_configs"][0]
    assert job["static_configs"][0]["targets"] == ["ops-metrics:9464"]
    assert job["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    assert services(compose)["prometheus"]["secrets"] == ["metrics_token"]
    assert compose["secrets"]["metrics_token"] == {"environment": "OPS_METRICS_TOKEN"}


def test_secrets_come_only_from_env_and_every_variable_is_in_the_example(
    compose: dict[str, Any],
) -> None:
    used = set(VARIABLE.findall(COMPOSE.read_text()))
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert used - {"WALLET_OPS_IMAGE"} <= set(example)
    secret_names = {name for name in example if SECRET_NAME.search(name)}
    assert len(secret_names) == 13
    assert {example[name] for name in secret_names} == {"change-me"}
    for name, service in services(compose).items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) or "://" in value:
                assert "${" in value or "@" not in value, f"{name}: {key} holds a literal secret"


def test_dockerfile_base_image_is_the_pinned_airflow_on_python_3_11() -> None:
    base = re.search(r"^FROM (\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert base is not None
    assert base.group(1) == f"apache/airflow:{pinned('apache-airflow')}-python3.11"
    assert (
        "pip install --no-cache-dir -r /opt/wallet-ops/requirements.txt" in DOCKERFILE.read_text()
    )


def test_committed_realm_passes_the_hardening_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in KEYCLOAK_SETTINGS.items():
        monkeypatch.setenv(name, value)
    realm = KEYCLOAK_SETTINGS["KEYCLOAK_REALM_EXPORT"]

    code = ops_cli(["check_keycloak_hardening", "--realm-export", realm])

    assert code == 0, capsys.readouterr().out
    assert "hardened, 0 issue(s)" in capsys.readouterr().out


def promtool() -> str:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed: run `make prometheus` (Debian package)")
    return binary


def test_promtool_accepts_the_alert_rules() -> None:
    checked = subprocess.run(
        [promtool(), "check", "rules", *map(str, sorted((PROMETHEUS / "rules").glob("*.yml")))],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 5 rules found" in checked.stdout


def test_promtool_accepts_the_scrape_config(tmp_path: Path) -> None:
    """promtool opens the credentials file: check a copy whose secret path exists here."""
    token = tmp_path / "metrics_token"
    token.write_text("not-a-real-token")
    shutil.copytree(PROMETHEUS, tmp_path / "prometheus")
    config = tmp_path / "prometheus" / "prometheus.yml"
    config.write_text(config.read_text().replace("/run/secrets/metrics_token", str(token)))

    checked = subprocess.run(
        [promtool(), "check", "config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 5 rules found" in checked.stdout


def test_rollback_triggers_each_have_an_alert_rule() -> None:
    rules = [
        rule
        for path in (PROMETHEUS / "rules").glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]
    triggers = {rule["labels"].get("trigger") for rule in rules}
    assert {"reconciliation_break_spike", "payouts_failed", "high_alerts_rising"} <= triggers
    assert all(rule["expr"].count("wallet_ops_") or "up{" in rule["expr"] for rule in rules)
