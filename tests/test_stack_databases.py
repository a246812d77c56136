"""The local stack's databases: separate logins owning separate databases on the embedded
server, the ops login unable to open the Airflow metadata database (strict isolation)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from ops_domain.config import LOCAL_SETTINGS_FILE, PROJECT_ROOT, Settings, process_environment
from ops_domain.db import create_ops_engine, resolve_database_url
from ops_domain.demo.cast import DEMO_USERS
from ops_domain.embedded import embedded_server_url, stop_embedded_server
from ops_domain.readiness.isolation import check_db_isolation
from ops_domain.schema import upgrade_to_head
from scripts.airflow_logins import PASSWORDS_FILE, cast_logins
from scripts.airflow_platform import platform_environment
from scripts.stack import (
    StackUrls,
    grant_ops_logins,
    local_environment,
    prepare_databases,
    stack_environment,
)


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A server of its own: the stack's database names are fixed."""
    path = tmp_path_factory.mktemp("stack")
    yield path
    stop_embedded_server(path)


def run(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_each_login_owns_its_database_and_cannot_open_the_other(var_dir: Path) -> None:
    urls = prepare_databases(var_dir)

    owners = run(
        embedded_server_url(var_dir),
        "SELECT datname, pg_get_userbyid(datdba) FROM pg_database"
        " WHERE datname IN ('airflow', 'ops', 'ops_audit') ORDER BY 1",
    )
    assert owners == [("airflow", "airflow"), ("ops", "ops"), ("ops_audit", "ops_audit")]
    assert [make_url(u).username for u in (urls.airflow_metadata, urls.ops, urls.ops_owner)] == [
        "airflow",
        "ops_app",
        "ops",
    ]
    assert run(urls.ops_owner, "SELECT current_user") == [("ops",)]
    for login, database in [
        ("ops", "airflow"),
        ("ops_app", "airflow"),
        ("ops", "ops_audit"),
        ("ops_app", "ops_audit"),
        ("ops_sealer", "ops_audit"),
        ("ops_audit", "ops"),
    ]:
        elsewhere = make_url(urls.airflow_metadata).set(username=login, database=database)
        with pytest.raises(OperationalError, match=f'permission denied for database "{database}"'):
            run(elsewhere.render_as_string(hide_password=False), "SELECT 1")


def test_strict_isolation_check_passes_on_the_stack(var_dir: Path) -> None:
    urls = prepare_databases(var_dir)
    run(urls.airflow_metadata, "CREATE TABLE IF NOT EXISTS dag_probe (id int)")

    result = check_db_isolation(stack_environment(var_dir, urls), strict=True)

    assert result.status == "pass", result.summary
    assert "the ops login is refused by" in result.summary


def test_fresh_recreates_only_the_named_database(var_dir: Path) -> None:
    urls = prepare_databases(var_dir)
    run(urls.airflow_metadata, "CREATE TABLE IF NOT EXISTS dag_probe (id int)")
    run(urls.ops_owner, "CREATE TABLE IF NOT EXISTS ops_probe (id int)")

    again: StackUrls = prepare_databases(var_dir, fresh=("airflow",))

    assert again == urls
    tables = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
    assert run(urls.airflow_metadata, tables) == []
    assert run(urls.ops_owner, tables) == [("ops_probe",)]


def test_stack_environment_points_airflow_and_the_ops_connection_at_their_logins(
    var_dir: Path,
) -> None:
    urls = prepare_databases(var_dir)
    env = stack_environment(var_dir, urls)

    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == urls.airflow_metadata
    assert env["OPS_AIRFLOW_METADATA_URL"] == urls.airflow_metadata
    assert env["AIRFLOW_CONN_OPS_DB"] == env["OPS_DATABASE_URL"] == urls.ops
    assert make_url(urls.ops).username == "ops_app"
    assert env["OPS_OWNER_DATABASE_URL"] == urls.ops_owner
    assert env["OPS_SEALER_DATABASE_URL"] == urls.ops_sealer
    assert env["OPS_AUDIT_DATABASE_URL"] == urls.ops_audit


def test_the_dags_login_on_the_local_stack_cannot_bend_the_audit_trail(var_dir: Path) -> None:
    """Issue 18 finding 7: the DAGs and the CLI work as the application role, not as the
    owner, so they can neither disable the append-only trigger nor edit audit rows."""
    urls = prepare_databases(var_dir, fresh=("ops",))
    owner = create_ops_engine(urls.ops_owner)
    try:
        upgrade_to_head(owner)
    finally:
        owner.dispose()
    grant_ops_logins(urls.ops_owner)
    env = stack_environment(var_dir, urls)
    dags_login = env["AIRFLOW_CONN_OPS_DB"]
    run(
        dags_login,
        "INSERT INTO audit_log (action, target_type, target_id) VALUES ('case.note', 'case', '1')",
    )
    for attack, refusal in [
        ("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only", "must be owner"),
        ("UPDATE audit_log SET action = 'forged'", "permission denied"),
        ("INSERT INTO audit_chain (audit_id, link_no, chain_hash) VALUES (1, 1, 'f')",
         "permission denied"),
    ]:  # fmt: skip
        with pytest.raises(ProgrammingError, match=refusal):
            run(dags_login, attack)
    sealer = env["OPS_SEALER_DATABASE_URL"]
    with pytest.raises(ProgrammingError, match="permission denied"):
        run(sealer, "UPDATE payouts SET status = 'sent'")
    run(sealer, "INSERT INTO audit_chain (audit_id, link_no, chain_hash) VALUES (1, 1, 'f')")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert (
        env["AIRFLOW__API_AUTH__JWT_SECRET"]
        == stack_environment(var_dir, urls)["AIRFLOW__API_AUTH__JWT_SECRET"]
    )
    assert len(env["AIRFLOW__API_AUTH__JWT_SECRET"]) == 64


def test_the_cast_gets_logins_whose_passwords_are_generated_once(var_dir: Path) -> None:
    home = var_dir / "airflow"

    first, again = cast_logins(home), cast_logins(home)

    assert first.passwords == again.passwords
    assert set(first.generated) == set(first.roles)
    assert again.generated == ()
    assert set(first.roles) == {u.username for u in DEMO_USERS if not u.service_account} | {"admin"}
    assert (first.roles["oscar"], first.roles["adam"], first.roles["admin"]) == (
        "USER",
        "OP",
        "ADMIN",
    )
    assert all(len(password) >= 16 for password in first.passwords.values())
    assert json.loads((home / PASSWORDS_FILE).read_text()) == first.passwords
    assert (home / PASSWORDS_FILE).stat().st_mode & 0o777 == 0o600
    assert "oscar:user" in first.users_setting().split(",")


def test_workers_call_the_execution_api_on_the_port_the_ui_listens_on(var_dir: Path) -> None:
    home = var_dir / "airflow"
    env = platform_environment({}, port=8090, logins=cast_logins(home), home=home)

    assert env["AIRFLOW__API__PORT"] == "8090"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8090/execution/"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(home / PASSWORDS_FILE)


def test_the_local_environment_is_stored_for_a_plain_shell(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = local_environment(var_dir)
    for name in ("OPS_DATABASE_URL", "OPS_ENABLED_CURRENCIES", "OPS_AIRFLOW_METADATA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPS_VAR_DIR", str(var_dir))

    shell = process_environment()

    assert Settings.from_env().require_currency("IDR") == "IDR"
    assert shell["OPS_AIRFLOW_METADATA_URL"] == env["OPS_AIRFLOW_METADATA_URL"]
    assert shell["KEYCLOAK_REALM_EXPORT"] == env["KEYCLOAK_REALM_EXPORT"]
    assert "OPS_DATABASE_URL" not in shell  # the shell keeps the embedded default
    assert (var_dir / LOCAL_SETTINGS_FILE).stat().st_mode & 0o777 == 0o600


def test_a_plain_shell_works_as_the_application_role_and_migrates_as_the_owner(
    tmp_path: Path,
) -> None:
    """The embedded default, with no database configured: migrate (the owner's command) also
    grants the stack's logins; every other command connects as the application role."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("OPS_", "AIRFLOW"))
    }
    env["OPS_VAR_DIR"] = str(tmp_path)
    try:
        for argv in (["migrate"], ["db", "url"]):
            done = subprocess.run(
                [sys.executable, "-m", "ops_domain", *argv],
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr
        assert make_url(done.stdout.strip()).username == "ops_app"
        app_url = resolve_database_url(Settings(var_dir=tmp_path))
        with pytest.raises(ProgrammingError, match="must be owner"):
            run(app_url, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    finally:
        stop_embedded_server(tmp_path)
