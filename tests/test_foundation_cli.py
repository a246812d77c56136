"""The foundation commands: migrate, seed_rbac, users, and the exit-code contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import Engine, text

from ops_domain.config import PROJECT_ROOT
from ops_domain.rbac.models import Role
from tests.support.database import create_test_database, drop_test_database
from tests.support.factories import Factory


def ops_process(
    env: dict[str, str], *args: str, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m ops_domain *args`` in a process of its own with exactly ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "ops_domain", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=timeout,
        check=False,
    )


def test_migrate_check_fails_on_an_empty_database_and_passes_after_migrate(
    cli_env: dict[str, str],
) -> None:
    url, name = create_test_database()
    env = {**cli_env, "OPS_DATABASE_URL": url}
    try:
        behind = ops_process(env, "migrate", "--check", "--json")
        assert behind.returncode == 1
        assert json.loads(behind.stdout)["current"] is None
        assert ops_process(env, "migrate").returncode == 0
        current = ops_process(env, "migrate", "--check")
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


def test_seed_rbac_exits_1_while_a_role_outside_the_matrix_remains(cli, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO roles (name) VALUES ('wizard')"))
    code, out, _ = cli("seed_rbac")
    assert code == 1
    assert "roles not in the matrix: wizard (never deleted by reseeding" in out
    code, out, _ = cli("seed_rbac", "--json")
    assert code == 1
    assert json.loads(out)["unknown_roles"] == ["wizard"]
    assert cli("seed_rbac", "--check")[0] == 1
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM roles WHERE name = 'wizard'"))
    assert cli("seed_rbac")[0] == 0


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


def test_users_add_sets_roles_and_is_audited_with_the_actor(cli, factory: Factory) -> None:
    admin_id = factory.user("ada", "admin")
    code, out, _ = cli(
        "users", "add", "--username", "alice", "--roles", "finance", "--actor-username", "ada",
        "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["roles"] == ["finance"]
    assert json.loads(out)["warnings"] == []
    add = ("users", "add", "--username", "alice", "--actor-username", "ada")
    assert cli(*add, "--roles", "finance,treasury")[0] == 0
    code, out, _ = cli("users", "list", "--json")
    assert json.loads(out)[1] == {
        "username": "alice",
        "active": True,
        "roles": ["finance", "treasury"],
    }
    assert factory.audit_actions("user.") == ["user.create", "user.create", "user.set_roles"]
    assert factory.count("audit_log", f"action LIKE 'user.%' AND actor_id = {admin_id}") == 2


def test_users_add_warns_when_one_person_holds_maker_and_checker_roles(cli, factory) -> None:
    factory.user("ada", "admin")
    add = ("users", "add", "--username", "mo", "--actor-username", "ada", "--roles", "risk,finance")
    code, out, _ = cli(*add)
    assert code == 0
    assert "warning: mo holds maker role(s) finance and checker role(s) risk" in out
    code, out, _ = cli(*add, "--json")
    assert json.loads(out)["warnings"] == [
        "mo holds maker role(s) finance and checker role(s) risk: one person can make and check"
    ]


def test_users_add_needs_an_actor_holding_rbac_manage(cli, factory: Factory) -> None:
    factory.user("ada", "admin")
    factory.user("olga", "operation")
    before = factory.table_checksums()
    code, _, err = cli("users", "add", "--username", "eve", "--roles", "operation")
    assert code == 2
    assert "users add only creates the first administrator" in err
    code, _, err = cli("users", "add", "--username", "eve", "--roles", "admin")
    assert code == 2
    assert "needs --actor-username holding rbac.manage (admin, super_admin)" in err
    add = ("users", "add", "--username", "eve", "--roles", "operation", "--actor-username")
    code, _, err = cli(*add, "olga")
    assert (code, err) == (
        2,
        "error: actor 'olga' may not run users add: it needs one of the roles admin, super_admin\n",
    )
    assert cli(*add, "nobody")[0] == 2
    assert factory.table_checksums() == before


def test_only_a_super_admin_grants_super_admin_and_nobody_changes_their_own_roles(
    cli, factory: Factory
) -> None:
    factory.user("ada", "admin")
    factory.user("root", "super_admin")
    before = factory.table_checksums()
    grant = ("users", "add", "--username", "eve", "--roles", "super_admin", "--actor-username")
    code, _, err = cli(*grant, "ada")
    assert code == 2
    assert "users add on a super_admin" in err
    code, _, err = cli("users", "add", "--username", "ada", "--roles", "super_admin",
                       "--actor-username", "ada")  # fmt: skip
    assert code == 2
    assert "'ada' cannot change their own roles" in err
    assert factory.table_checksums() == before
    assert cli(*grant, "root")[0] == 0


def test_bootstrap_creates_the_first_admin_without_an_actor_once(cli, factory: Factory) -> None:
    code, _, err = cli("users", "add", "--username", "olga", "--roles", "operation,admin")
    assert code == 2
    assert "only creates the first administrator (roles admin, super_admin)" in err
    assert factory.count("users") == 0
    bootstrap = ("users", "add", "--username", "ada", "--roles", "admin", "--json")
    code, out, _ = cli(*bootstrap)
    assert code == 0, out
    assert json.loads(out)["roles"] == ["admin"]
    assert factory.audit_actions("user.") == ["user.bootstrap"]
    assert factory.count("audit_log", "action = 'user.bootstrap' AND actor_id IS NULL") == 1
    assert cli(*bootstrap)[0] == 0  # a rerun of the setup step changes nothing
    assert factory.audit_actions("user.") == ["user.bootstrap"]
    code, _, err = cli("users", "add", "--username", "bea", "--roles", "admin")
    assert code == 2
    assert "an active administrator already exists" in err


def test_users_deactivate_is_audited_and_refuses_the_actor_themselves(
    cli, factory: Factory
) -> None:
    admin_id = factory.user("ada", "admin")
    olga = factory.user("olga", "operation")
    factory.user("root", "super_admin")
    before = factory.table_checksums()
    code, _, err = cli("users", "deactivate", "--username", "ada", "--actor-username", "ada")
    assert (code, err) == (2, "error: users deactivate: 'ada' cannot deactivate themselves\n")
    assert cli("users", "deactivate", "--username", "root", "--actor-username", "ada")[0] == 2
    assert cli("users", "deactivate", "--username", "ghost", "--actor-username", "ada")[0] == 2
    assert cli("users", "deactivate", "--username", "ada", "--actor-username", "olga")[0] == 2
    assert factory.table_checksums() == before
    deactivate = ("users", "deactivate", "--username", "olga", "--actor-username", "ada")
    code, out, _ = cli(*deactivate)
    assert (code, out) == (0, "user olga deactivated\n")
    assert json.loads(cli(*deactivate, "--json")[1])["changed"] is False
    assert (
        factory.count(
            "audit_log",
            f"action = 'user.deactivate' AND actor_id = {admin_id} AND target_id = '{olga}'",
        )
        == 1
    )
    code, _, err = cli("automate_settlements", "--actor-username", "olga", "--dry-run")
    assert (code, err) == (2, "error: actor 'olga' is not active\n")


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
    done = ops_process(env, "migrate", "--check", timeout=60)
    assert done.returncode == 3
    assert "127.0.0.1:1/ops" in done.stderr
    assert "hunter2" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_non_postgres_urls_are_refused(tmp_path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "OPS_DATABASE_URL": "sqlite:///x.db",
        "OPS_VAR_DIR": str(tmp_path),
    }
    done = ops_process(env, "migrate", timeout=60)
    assert done.returncode == 2
    assert "must be PostgreSQL" in done.stderr
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    "arguments",
    [
        ("automate_settlements", "--period-start", "0001-01-01", "--period-end", "9999-12-31"),
        ("escalate_operation_cases", "--fallback-sla-hours", "1000000000"),
        ("escalate_ops_work_queue", "--journal-hours", "1000000000"),
        ("serve_metrics", "--journal-sla-hours", "999999999"),
    ],
)
def test_out_of_range_dates_and_hours_exit_2_in_one_line_and_write_nothing(
    cli, factory: Factory, arguments: tuple[str, ...]
) -> None:
    factory.user("olga", "operation", "finance")
    before = factory.table_checksums()
    actor = () if arguments[0] == "serve_metrics" else ("--actor-username", "olga", "--dry-run")
    code, out, err = cli(*arguments, *actor)
    assert (code, out) == (2, "")
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "outside 1970-01-01..2999-12-31" in err or "at most 87600" in err
    assert factory.table_checksums() == before  # no job_runs row either


def test_repeated_roles_flags_accumulate(cli, factory: Factory) -> None:
    factory.user("ada", "admin")
    code, out, err = cli(
        "users", "add", "--username", "olga", "--roles", "operation", "--roles", "risk,sales",
        "--actor-username", "ada", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["roles"] == ["operation", "risk", "sales"]


def test_now_pins_the_clock_of_a_dry_run_only(cli, factory: Factory) -> None:
    factory.user("ops", "operation")
    for job in ("escalate_refund_disputes", "automate_settlements"):
        code, out, err = cli(job, "--actor-username", "ops", "--now", "2030-01-01T00:00:00Z")
        assert (code, out) == (2, "")
        assert "--now pins the clock of a dry run only" in err
        dry = cli(job, "--actor-username", "ops", "--now", "2030-01-01T00:00:00Z", "--dry-run")
        assert dry[0] == 0, dry[2]
    assert factory.count("job_runs", "dry_run = false") == 0
