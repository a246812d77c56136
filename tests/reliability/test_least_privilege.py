"""The application role: it runs every job, and can neither reshape the schema nor rewrite
or silence the audit trail."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ops_domain.app_role import APPEND_ONLY_TABLES, CHAIN_TABLE, EPOCHS_TABLE
from ops_domain.audit.verification import verify_audit_log
from ops_domain.config import PROJECT_ROOT, Settings
from ops_domain.db import create_ops_engine
from tests.reliability.history import hire_staff, write_history
from tests.support.database import ALL_TABLES, drop_in_background
from tests.support.factories import Factory

pytestmark = pytest.mark.reliability
CLI = Callable[..., tuple[int, str, str]]

FORBIDDEN = (
    ("ALTER TABLE settlements ADD COLUMN backdoor text", "must be owner"),
    ("DROP TABLE payouts", "must be owner"),
    ("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only", "must be owner"),
    ("ALTER TABLE audit_log DISABLE TRIGGER ALL", "must be owner"),
    ("UPDATE audit_log SET action = 'forged'", "permission denied"),
    ("DELETE FROM audit_log", "permission denied"),
    ("TRUNCATE audit_log", "permission denied"),
    ("UPDATE audit_chain SET chain_hash = 'x'", "permission denied"),
    ("DELETE FROM audit_chain", "permission denied"),
    (
        "INSERT INTO audit_chain (audit_id, link_no, chain_hash) VALUES (1, 1, 'x')",
        "permission denied",
    ),
    ("LOCK TABLE audit_chain IN SHARE ROW EXCLUSIVE MODE", "permission denied"),
    ("DELETE FROM cashflow_events", "permission denied"),
    ("TRUNCATE settlements", "permission denied"),
    ("CREATE TABLE shadow_ledger (id int)", "permission denied"),
    ("DROP FUNCTION refuse_change() CASCADE", "must be owner"),
    ("UPDATE alembic_version SET version_num = '0001'", "permission denied"),
)


def privileges(engine: Engine, role: str) -> dict[str, set[str]]:
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT table_name, privilege_type FROM information_schema.role_table_grants"
                " WHERE grantee = :role AND table_schema = 'public'"
            ),
            {"role": role},
        ).all()
    granted: dict[str, set[str]] = {}
    for table, privilege in rows:
        granted.setdefault(table, set()).add(privilege)
    return granted


@pytest.mark.parametrize(("statement", "refusal"), FORBIDDEN, ids=[s for s, _ in FORBIDDEN])
def test_the_app_role_is_refused(
    engine: Engine, app_engine: Engine, statement: str, refusal: str, factory: Factory
) -> None:
    factory.user("alice", "finance")
    before = factory.table_checksums()
    with pytest.raises(DBAPIError, match=refusal), app_engine.begin() as conn:
        conn.execute(text(statement))
    assert factory.table_checksums() == before


def test_grants_are_exactly_the_declared_set(engine: Engine, app_role: str) -> None:
    granted = privileges(engine, app_role)
    business = set(ALL_TABLES) - set(APPEND_ONLY_TABLES) - {CHAIN_TABLE, EPOCHS_TABLE}
    assert {t for t, p in granted.items() if p == {"SELECT", "INSERT", "UPDATE"}} == business
    assert {t: granted[t] for t in APPEND_ONLY_TABLES} == {"audit_log": {"SELECT", "INSERT"}}
    assert granted[CHAIN_TABLE] == granted[EPOCHS_TABLE] == granted["alembic_version"]
    assert granted["alembic_version"] == {"SELECT"}
    assert set(granted) == set(ALL_TABLES) | {"alembic_version"}


def test_grant_command_is_idempotent_and_repairs_drift(
    engine: Engine, app_role: str, cli: CLI
) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"GRANT DELETE, TRUNCATE ON payouts TO {app_role}"))
    code, out, err = cli("db", "grant-app-role", "--role", app_role, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["created"] is False
    assert privileges(engine, app_role)["payouts"] == {"SELECT", "INSERT", "UPDATE"}
    code, out, _ = cli("db", "grant-app-role", "--role", app_role)
    assert code == 0
    assert out.startswith(f"role {app_role} already existed; read/write on ")


def test_a_new_role_gets_its_password_from_the_environment_and_never_shows_it(
    engine: Engine, cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = f"ops_app_{uuid.uuid4().hex[:8]}"
    secret = "s3cr3t-'; DROP TABLE payouts; --"
    monkeypatch.setenv("OPS_APP_PASSWORD", secret)
    try:
        code, out, err = cli(
            "db", "grant-app-role", "--role", role, "--password-env", "OPS_APP_PASSWORD", "--json"
        )
        assert (code, err) == (0, "")
        assert json.loads(out)["created"] is True
        assert secret not in out
        with engine.begin() as conn:
            stored = conn.execute(
                text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role}
            ).scalar_one()
            assert stored.startswith("SCRAM-SHA-256$")
            assert conn.execute(text("SELECT to_regclass('payouts') IS NOT NULL")).scalar_one()
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "Robert'); DROP TABLE payouts;--"], "lower-case PostgreSQL identifier"),
        (["--role", ""], "lower-case PostgreSQL identifier"),
        (["--role", "ops_app", "--password-env", "OPS_UNSET_VARIABLE"], "is not set"),
    ],
)
def test_bad_grant_requests_are_refused_in_one_line(
    engine: Engine, cli: CLI, args: list[str], message: str, factory: Factory
) -> None:
    before = factory.table_checksums()
    code, out, err = cli("db", "grant-app-role", *args)
    assert (code, out) == (2, "")
    assert message in err
    assert err.count("\n") == 1
    assert factory.table_checksums() == before


def test_the_owner_itself_cannot_become_the_app_role(engine: Engine, cli: CLI) -> None:
    with engine.begin() as conn:
        me = conn.execute(text("SELECT current_user")).scalar_one()
    code, _, err = cli("db", "grant-app-role", "--role", me)
    assert code == 2
    assert "separate, unprivileged role" in err


def test_jobs_run_as_the_app_role_and_their_audit_verifies(
    engine: Engine,
    app_engine: Engine,
    sealer_engine: Engine,
    settings: Settings,
    factory: Factory,
) -> None:
    """Settlement with payouts, payout decisions, a refund escalation and decisions, a journal
    posted by a checker and a period close, all connected as the application role."""
    hire_staff(factory)
    history = write_history(app_engine, settings, factory)
    assert factory.count("payouts", "status = 'settled' AND attempt = 2") == 1
    assert factory.count("refund_requests", "escalated_at IS NOT NULL AND status = 'executed'") == 1
    assert factory.count("journal_entries", "status = 'posted'") == 1
    assert factory.count("accounting_periods", "status = 'closed'") == 1
    assert factory.count("job_runs", "outcome = 'succeeded'") == 3
    assert history.settlement_id > 0
    verdict = verify_audit_log(app_engine, sealer=sealer_engine)
    assert verdict.ok, verdict.first_problem
    assert verdict.seal.sealed == factory.count("audit_log")


def test_role_attributes_drift_is_repaired(engine: Engine, app_role: str, cli: CLI) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"ALTER ROLE {app_role} CREATEDB CREATEROLE NOLOGIN"))
    assert cli("db", "grant-app-role", "--role", app_role)[0] == 0
    with engine.begin() as conn:
        attributes = conn.execute(
            text(
                "SELECT rolcanlogin, rolcreatedb, rolcreaterole, rolsuper FROM pg_roles"
                " WHERE rolname = :r"
            ),
            {"r": app_role},
        ).one()
    assert tuple(attributes) == (True, False, False, False)


@pytest.fixture
def migrator_database(database_url: str) -> Iterator[str]:
    """A database owned by a non-superuser CREATEROLE role, as in deploy/postgres: its URL."""
    tag = uuid.uuid4().hex[:8]
    name, owner = f"ops_migrator_{tag}", f"migrator_{tag}"
    server = create_engine(
        make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as conn:
        conn.execute(text(f"CREATE ROLE {owner} LOGIN CREATEROLE"))
        conn.execute(text(f"CREATE DATABASE {name} OWNER {owner}"))
    inside = create_engine(make_url(database_url).set(database=name), isolation_level="AUTOCOMMIT")
    with inside.connect() as conn:
        conn.execute(text(f"ALTER SCHEMA public OWNER TO {owner}"))
    inside.dispose()
    try:
        yield make_url(database_url).set(database=name, username=owner).render_as_string(False)
    finally:
        with server.connect() as conn:
            roles = conn.execute(
                text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"), {"p": f"%{tag}"}
            ).scalars()
            roles = sorted(roles, key=lambda r: r.startswith("migrator"))
        server.dispose()
        drop_in_background(
            make_url(database_url).set(database="postgres").render_as_string(False), [name], roles
        )


def test_a_non_superuser_owner_grants_the_app_role_again_and_again(
    migrator_database: str, cli_env: dict[str, str]
) -> None:
    owner_env = {**cli_env, "OPS_DATABASE_URL": migrator_database, "APP_PASSWORD": "pw-41"}
    app = "app_" + make_url(migrator_database).username.removeprefix("migrator_")
    commands = [
        ("migrate",),
        ("seed_rbac",),
        ("db", "grant-app-role", "--role", app, "--password-env", "APP_PASSWORD"),
        ("db", "grant-app-role", "--role", app, "--password-env", "APP_PASSWORD"),
        ("db", "grant-app-role", "--role", app),
    ]
    for argv in commands:
        done = subprocess.run(
            [sys.executable, "-m", "ops_domain", *argv],
            cwd=PROJECT_ROOT,
            env=owner_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (argv, done.stderr)
    app_engine = create_ops_engine(
        make_url(migrator_database).set(username=app).render_as_string(False)
    )
    try:
        verdict = verify_audit_log(app_engine)
        with pytest.raises(DBAPIError, match="must be owner"), app_engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    finally:
        app_engine.dispose()
    assert verdict.ok
