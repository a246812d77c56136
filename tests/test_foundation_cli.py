"""The foundation commands: migrate, seed_rbac, users, and the exit-code contract."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import Engine, text

from ops_domain.config import PROJECT_ROOT
from ops_domain.rbac.models import Role
from tests.support.database import create_test_database, drop_test_database
from tests.support.factories import Factory


def test_migrate_check_fails_on_an_empty_database_and_passes_after_migrate(
    cli_env: dict[str, str],
) -> None:
    url, name = create_test_database()
    env = {**cli_env, "OPS_DATABASE_URL": url}
    try:

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "ops_domain", *args],
                env=env,
                capture_output=True,
                text=True,
                cwd=PROJECT_ROOT,
                timeout=120,
                check=False,
            )

        behind = run("migrate", "--check", "--json")
        assert behind.returncode == 1
        assert json.loads(behind.stdout)["current"] is None
        assert run("migrate").returncode == 0
        current = run("migrate", "--check")
        assert current.returncode == 0, current.stderr
        assert "up to date" in current.stdout
    finally:
        if name:
            drop_test_database(url, name)


def test_seed_rbac_twice_reports_no_changes_the_second_time(cli) -> None:
    code, out, _ = cli("seed_rbac", "--json")
    assert code == 0
    assert json.loads(out)["drift"] is False
    code, out, _ = cli("seed_rbac")
    assert "no changes" in out


def test_seed_rbac_check_names_a_hand_made_grant_and_reseed_removes_it(cli, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO role_permissions (role_id, permission)"
                " SELECT id, 'payouts.decide' FROM roles WHERE name = 'sales'"
            )
        )
    code, out, _ = cli("seed_rbac", "--check", "--json")
    assert code == 1
    assert json.loads(out)["removed_grants"] == ["sales:payouts.decide"]
    code, out, _ = cli("seed_rbac", "--check")
    assert code == 1
    assert "sales:payouts.decide" in out
    assert cli("seed_rbac")[0] == 0
    assert cli("seed_rbac", "--check")[0] == 0


def test_seed_rbac_check_reports_a_missing_grant_without_changing_anything(
    cli, engine: Engine, factory: Factory
) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM role_permissions WHERE permission = 'settlements.run'"))
    before = factory.table_checksums()
    code, out, _ = cli("seed_rbac", "--check", "--json")
    assert code == 1
    assert "operation:settlements.run" in json.loads(out)["added_grants"]
    assert factory.table_checksums() == before


def test_seed_rbac_creates_all_eight_roles(engine: Engine) -> None:
    with engine.begin() as conn:
        names = set(conn.scalars(text("SELECT name FROM roles")))
    assert names == {
        "super_admin",
        "admin",
        "finance",
        "treasury",
        "customer_service",
        "risk",
        "operation",
        "sales",
    }
    assert Role.__tablename__ == "roles"


def test_users_add_sets_roles_and_is_audited(cli, factory: Factory) -> None:
    code, out, _ = cli("users", "add", "--username", "alice", "--roles", "finance", "--json")
    assert code == 0
    assert json.loads(out)["roles"] == ["finance"]
    assert cli("users", "add", "--username", "alice", "--roles", "finance,risk")[0] == 0
    code, out, _ = cli("users", "list", "--json")
    assert json.loads(out) == [{"username": "alice", "active": True, "roles": ["finance", "risk"]}]
    assert factory.audit_actions("user.") == ["user.create", "user.set_roles"]


def test_users_add_refuses_unknown_roles_and_bad_usernames_with_exit_2(
    cli, factory: Factory
) -> None:
    before = factory.table_checksums()
    code, _, err = cli("users", "add", "--username", "bob", "--roles", "finance,wizard")
    assert code == 2
    assert "unknown role(s) wizard" in err
    code, _, err = cli(
        "users", "add", "--username", "bob'; DROP TABLE users;--", "--roles", "finance"
    )
    assert code == 2
    assert "username" in err
    assert factory.table_checksums() == before


def test_bad_arguments_are_one_line_and_exit_2(cli) -> None:
    code, _, err = cli("migrate", "--no-such-flag")
    assert code == 2
    assert err.count("\n") == 1
    assert "unrecognized arguments" in err


def test_unreachable_database_exits_3_naming_host_and_port_without_password(tmp_path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "OPS_DATABASE_URL": "postgresql://ops:hunter2-secret@127.0.0.1:1/ops",
        "OPS_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ops_domain", "migrate", "--check"],
        env=env,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "127.0.0.1:1/ops" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_non_postgres_urls_are_refused(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ops_domain", "migrate"],
        env={
            "PATH": "/usr/bin:/bin",
            "OPS_DATABASE_URL": "sqlite:///x.db",
            "OPS_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "must be PostgreSQL" in done.stderr
    assert not (tmp_path / "x.db").exists()
