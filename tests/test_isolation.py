"""Runbook check 3: database isolation, with a real privilege test against PostgreSQL roles.

The embedded server authenticates local connections with ``trust`` (see var/pgdata/pg_hba.conf),
so a password is not what keeps the ops login out here. Isolation is proven the way it holds in
production too, by privileges: ``REVOKE CONNECT ON DATABASE ... FROM PUBLIC`` on the Airflow
metadata database, and no SELECT grant on its tables for the ops role. Roles and databases get
unique names, so parallel runs on the shared server do not collide, and are dropped afterwards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ops_domain.config import Settings
from ops_domain.readiness.isolation import check_db_isolation, database_location
from tests.support.checks import run_registered
from tests.support.database import drop_in_background

OPS_PASSWORD = "ops-secret-pw"


@dataclass
class Cluster:
    admin: Engine
    airflow_admin: Engine
    role: str
    env: dict[str, str]

    def run(self, statement: str, *, in_airflow: bool = False) -> None:
        with (self.airflow_admin if in_airflow else self.admin).connect() as conn:
            conn.execute(text(statement))


@pytest.fixture
def cluster(database_url: str) -> Iterator[Cluster]:
    """An Airflow metadata DB with one table, closed to PUBLIC, and an ops role with its own DB."""
    suffix = uuid.uuid4().hex[:10]
    role, airflow_db, ops_db = f"iso_ops_{suffix}", f"iso_airflow_{suffix}", f"iso_ops_{suffix}"
    server = make_url(database_url)
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{OPS_PASSWORD}'"))
        conn.execute(text(f"CREATE DATABASE {airflow_db}"))
        conn.execute(text(f"CREATE DATABASE {ops_db} OWNER {role}"))
        conn.execute(text(f"REVOKE CONNECT ON DATABASE {airflow_db} FROM PUBLIC"))
    airflow_admin = create_engine(server.set(database=airflow_db), isolation_level="AUTOCOMMIT")
    with airflow_admin.connect() as conn:
        conn.execute(text("CREATE TABLE dag (dag_id text PRIMARY KEY)"))
    env = {
        "OPS_AIRFLOW_METADATA_URL": server.set(database=airflow_db).render_as_string(
            hide_password=False
        ),
        "OPS_DATABASE_URL": server.set(
            drivername="postgresql", username=role, password=OPS_PASSWORD, database=ops_db
        ).render_as_string(hide_password=False),
        "OPS_AUDIT_DATABASE_URL": server.set(
            drivername="postgres", database=f"iso_audit_{suffix}"
        ).render_as_string(hide_password=False),
    }
    yield Cluster(admin, airflow_admin, role, env)
    airflow_admin.dispose()
    admin.dispose()
    server_url = server.set(database="postgres").render_as_string(hide_password=False)
    drop_in_background(server_url, [airflow_db, ops_db], roles=[role])


def urls(airflow: str, ops: str, audit: str) -> dict[str, str]:
    return {
        "OPS_AIRFLOW_METADATA_URL": airflow,
        "OPS_DATABASE_URL": ops,
        "OPS_AUDIT_DATABASE_URL": audit,
    }


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("postgres://a:pw@db.internal/ops", "postgresql+psycopg2://b@DB.Internal:5432/ops"),
        ("postgresql://u@localhost/ops", "postgresql://u@127.0.0.1:5432/ops"),
        ("postgresql://u@/ops?host=/run/pg", "postgres://v:x@/ops?host=/run/pg/"),
    ],
)
def test_spellings_of_the_same_database_are_one_location(first: str, second: str) -> None:
    assert database_location(first) == database_location(second)


def test_distinct_databases_pass() -> None:
    env = urls(
        "postgresql+psycopg2://airflow:pw@db1/airflow",
        "postgresql://ops:pw@db1/ops",
        "postgresql://audit:pw@db2:6432/ops",
    )

    check = check_db_isolation(env)

    assert (check.name, check.status) == ("db_isolation", "pass")
    assert check.details["databases"] == {
        "airflow_metadata": "db1:5432/airflow",
        "ops": "db1:5432/ops",
        "audit_export": "db2:6432/ops",
    }


def test_two_settings_naming_the_same_database_fail_without_showing_passwords() -> None:
    env = urls(
        "postgres://airflow:airflow-pw@DB1:5432/shared",
        "postgresql+psycopg2://ops:ops-pw@db1/shared",
        "postgresql://audit:audit-pw@db1/audit?host=ignored-when-host-given",
    )

    check = check_db_isolation(env)

    assert check.status == "fail"
    assert check.summary == "airflow_metadata and ops point at the same database db1:5432/shared"
    assert "-pw" not in json.dumps(check.to_dict())


def test_unix_socket_directories_are_hosts() -> None:
    same = urls(
        "postgresql://postgres@/airflow?host=/tmp/pg",
        "postgresql://postgres@/ops?host=/tmp/pg",
        "postgresql://postgres@/airflow?host=/TMP/PG",
    )
    other = {**same, "OPS_AUDIT_DATABASE_URL": "postgresql://postgres@/airflow?host=/srv/pg2"}

    assert check_db_isolation(same).status == "fail"
    assert check_db_isolation(other).status == "pass"


def test_missing_or_malformed_urls_are_errors() -> None:
    env = {
        "OPS_AIRFLOW_METADATA_URL": "sqlite:////tmp/airflow.db",
        "OPS_DATABASE_URL": "postgresql://ops:secret-pw@db/ops",
        "OPS_AUDIT_DATABASE_URL": "  ",
    }

    check = check_db_isolation(env)

    assert check.status == "error"
    assert check.details["problems"] == [
        "OPS_AIRFLOW_METADATA_URL (airflow_metadata) must be PostgreSQL, not 'sqlite'",
        "OPS_AUDIT_DATABASE_URL (audit_export) is not set",
    ]
    assert "secret-pw" not in json.dumps(check.to_dict())


def test_a_task_process_without_our_setting_fails_closed_naming_it() -> None:
    """Inside a worker Airflow has blanked its own variable; the check never falls back to it."""
    env = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow@db1/airflow",
        "OPS_DATABASE_URL": "postgresql://ops@db1/ops",
        "OPS_AUDIT_DATABASE_URL": "postgresql://ops@db1/ops_audit",
    }

    check = check_db_isolation(env, strict=True)

    assert check.status == "error"
    assert check.summary == (
        "OPS_AIRFLOW_METADATA_URL (airflow_metadata) is not set: set it to the Airflow metadata"
        " database's URL (Airflow's [database] sql_alchemy_conn, which task processes cannot read)"
    )


def test_strict_proof_runs_in_a_task_process_whose_airflow_variable_is_blanked(
    cluster: Cluster,
) -> None:
    env = {**cluster.env, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "airflow-db-not-allowed:///"}

    check = check_db_isolation(env, strict=True)

    assert check.status == "pass"
    assert "permission denied for database" in check.details["strict_proof"]["refusal"]


def test_strict_passes_when_the_ops_login_is_refused_by_the_airflow_database(
    cluster: Cluster,
) -> None:
    check = check_db_isolation(cluster.env, strict=True)

    assert check.status == "pass"
    proof = check.details["strict_proof"]
    assert proof["refusal"].startswith("connection to server")
    assert "permission denied for database" in proof["refusal"]
    assert OPS_PASSWORD not in json.dumps(check.to_dict())


def test_strict_passes_when_the_ops_login_connects_but_reads_no_table(cluster: Cluster) -> None:
    airflow_db = make_url(cluster.env["OPS_AIRFLOW_METADATA_URL"]).database
    cluster.run(f"GRANT CONNECT ON DATABASE {airflow_db} TO {cluster.role}")

    check = check_db_isolation(cluster.env, strict=True)

    assert check.status == "pass"
    assert check.details["strict_proof"]["tables"] == 1
    assert check.details["strict_proof"]["readable_tables"] == 0


def test_strict_fails_when_the_ops_login_can_read_an_airflow_table(cluster: Cluster) -> None:
    airflow_db = make_url(cluster.env["OPS_AIRFLOW_METADATA_URL"]).database
    cluster.run(f"GRANT CONNECT ON DATABASE {airflow_db} TO {cluster.role}")
    cluster.run(f"GRANT SELECT ON dag TO {cluster.role}", in_airflow=True)

    check = check_db_isolation(cluster.env, strict=True)

    assert check.status == "fail"
    assert check.details["strict_proof"]["examples"] == ["public.dag"]
    assert "the ops login can read 1 of 1 table(s)" in check.summary


def test_strict_fails_when_the_ops_login_is_a_superuser(cluster: Cluster) -> None:
    superuser_ops = make_url(cluster.env["OPS_AIRFLOW_METADATA_URL"]).set(
        database=make_url(cluster.env["OPS_DATABASE_URL"]).database
    )
    env = {**cluster.env, "OPS_DATABASE_URL": superuser_ops.render_as_string(hide_password=False)}

    check = check_db_isolation(env, strict=True)

    assert check.status == "fail"


def test_the_gate_check_errors_when_the_airflow_database_is_unreachable(cluster: Cluster) -> None:
    env = {
        **cluster.env,
        "OPS_AIRFLOW_METADATA_URL": "postgresql://airflow@127.0.0.1:1/airflow",
    }
    ops = create_engine(env["OPS_DATABASE_URL"])  # the evaluated database; strict by default

    check = run_registered("db_isolation", ops, Settings.from_env(env))

    assert check.status == "error"
    assert "could not reach localhost:1/airflow" in check.summary


def test_cli_exits_3_when_the_airflow_database_is_unreachable(
    cli, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in cluster.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OPS_AIRFLOW_METADATA_URL", "postgresql://a@127.0.0.1:1/airflow")

    code, out, _ = cli("check_db_isolation", "--strict", "--json")

    assert code == 3
    assert json.loads(out)["details"]["unreachable"] is True


def test_cli_exit_codes(cli, cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in cluster.env.items():
        monkeypatch.setenv(key, value)

    code, out, _ = cli("check_db_isolation", "--strict", "--json")
    assert (code, json.loads(out)["status"]) == (0, "pass")

    cluster.run(f"ALTER ROLE {cluster.role} SUPERUSER")
    code, out, _ = cli("check_db_isolation", "--strict")
    assert code == 1
    assert out.startswith("db_isolation: FAIL:")

    monkeypatch.delenv("OPS_AUDIT_DATABASE_URL")
    code, out, _ = cli("check_db_isolation")
    assert code == 2
    assert "OPS_AUDIT_DATABASE_URL (audit_export) is not set" in out
