"""Runbook check 3: the Airflow metadata, ops and audit-export databases are kept apart.

URLs are compared after normalising what does not change the target: the scheme spelling
(``postgres`` = ``postgresql`` = ``postgresql+psycopg2``), the default port 5432 written or not,
the host's case, loopback aliases (``localhost`` = ``127.0.0.1`` = ``::1``), and a Unix-socket
directory given as the ``host=`` query parameter, which is the host. Strict mode then connects
to the Airflow metadata database with the ops login and proves it can read nothing there.
No password ever reaches a result, a log or an error message: locations are host:port/db.

The Airflow metadata database is named by ``OPS_AIRFLOW_METADATA_URL``, a setting of ours, and
never by Airflow's own ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``: Airflow's task supervisor blanks
that variable inside every task process (on every executor), so the check would only ever work
outside a real worker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.config import Settings
from ops_domain.errors import DatabaseUnavailable

CHECK_NAME = "db_isolation"
AIRFLOW_METADATA_ENV = "OPS_AIRFLOW_METADATA_URL"
DATABASE_SETTINGS = {
    "airflow_metadata": AIRFLOW_METADATA_ENV,
    "ops": "OPS_DATABASE_URL",
    "audit_export": "OPS_AUDIT_DATABASE_URL",
}
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})
# What to do about a missing setting, for the one a deployment most easily forgets.
MISSING_HINTS = {
    AIRFLOW_METADATA_ENV: (
        ": set it to the Airflow metadata database's URL (Airflow's [database]"
        " sql_alchemy_conn, which task processes cannot read)"
    ),
}
DEFAULT_PORT = 5432
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# Server messages that mean "this login may not use that database". Connection failures carry
# no SQLSTATE in psycopg2, so the server's (English, default lc_messages) text is all we have.
LOGIN_REFUSED = re.compile(
    r"permission denied for database|no pg_hba\.conf entry|password authentication failed"
    r"|role \".*\" does not exist"
)
READABLE_TABLES_SQL = text(
    """
    SELECT count(*) AS tables,
           count(*) FILTER (WHERE has_table_privilege(c.oid, 'SELECT')) AS readable,
           (array_agg(n.nspname || '.' || c.relname ORDER BY c.relname)
               FILTER (WHERE has_table_privilege(c.oid, 'SELECT')))[1:5] AS examples
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg_toast%'
    """
)


class MalformedDatabaseUrl(ValueError):
    """A configured URL that is not a PostgreSQL URL (its text is never repeated)."""


@dataclass(frozen=True)
class DatabaseLocation:
    """Where a URL points once normalised: two equal locations are the same database."""

    host: str
    port: int
    database: str

    def __str__(self) -> str:
        return f"{self.host}:{self.port}/{self.database}"


def database_location(url: str) -> DatabaseLocation:
    """Normalise ``url`` to host, port and database; refuse anything but PostgreSQL."""
    parsed = _parse(url)
    host = parsed.host or _query_value(parsed, "host") or "localhost"
    host = host.lower().rstrip("/") or "/"
    if host in LOOPBACK_HOSTS:
        host = "localhost"
    try:
        port = parsed.port or int(_query_value(parsed, "port") or DEFAULT_PORT)
    except ValueError:
        raise MalformedDatabaseUrl("has a port that is not a number") from None
    return DatabaseLocation(host, port, parsed.database or parsed.username or "")


def isolation_check(evaluation: Evaluation) -> CheckResult:
    """The gate's form: the evaluated ops database against the configured other two, strict
    unless ``OPS_DB_ISOLATION_STRICT`` turns the login proof off."""
    settings = evaluation.settings
    databases = configured_databases(settings, evaluation.ops_database_url)
    return check_db_isolation(databases, strict=settings.db_isolation_strict)


def configured_databases(settings: Settings, ops_database_url: str | None) -> dict[str, str]:
    """Each database's URL under the setting that names it (unset ones left out)."""
    urls = {
        AIRFLOW_METADATA_ENV: settings.airflow_metadata_url,
        DATABASE_SETTINGS["ops"]: ops_database_url,
        DATABASE_SETTINGS["audit_export"]: settings.audit_export_url,
    }
    return {setting: url for setting, url in urls.items() if url}


def check_db_isolation(urls: Mapping[str, str], *, strict: bool = False) -> CheckResult:
    """Pass when the three databases (``urls``: by the setting that names each) are distinct
    and, in strict mode, the ops login cannot read the Airflow metadata database. A missing
    or malformed URL is an error; an unreachable server raises."""
    locations, problems = _configured_locations(urls)
    details: dict[str, Any] = {
        "strict": strict,
        "databases": {role: str(where) for role, where in locations.items()},
    }
    if problems:
        details["problems"] = problems
        return CheckResult(CHECK_NAME, "error", "; ".join(problems), details)
    shared = _shared_locations(locations)
    if shared:
        details["shared"] = shared
        return CheckResult(CHECK_NAME, "fail", "; ".join(shared), details)
    summary = "airflow_metadata, ops and audit_export are distinct databases"
    if not strict:
        return CheckResult(CHECK_NAME, "pass", summary, details)
    proof = ops_login_reach(
        urls[DATABASE_SETTINGS["airflow_metadata"]], urls[DATABASE_SETTINGS["ops"]]
    )
    details["strict_proof"] = proof
    status = proof.pop("status")
    return CheckResult(CHECK_NAME, status, f"{summary}; {proof['summary']}", details)


def _configured_locations(
    urls: Mapping[str, str],
) -> tuple[dict[str, DatabaseLocation], list[str]]:
    locations: dict[str, DatabaseLocation] = {}
    problems: list[str] = []
    for role, setting in DATABASE_SETTINGS.items():
        raw = (urls.get(setting) or "").strip()
        if not raw:
            problems.append(f"{setting} ({role}) is not set{MISSING_HINTS.get(setting, '')}")
            continue
        try:
            locations[role] = database_location(raw)
        except MalformedDatabaseUrl as exc:
            problems.append(f"{setting} ({role}) {exc}")
    return locations, problems


def _shared_locations(locations: dict[str, DatabaseLocation]) -> list[str]:
    by_location: dict[DatabaseLocation, list[str]] = {}
    for role, where in locations.items():
        by_location.setdefault(where, []).append(role)
    return [
        f"{' and '.join(roles)} point at the same database {where}"
        for where, roles in by_location.items()
        if len(roles) > 1
    ]


def ops_login_reach(airflow_url: str, ops_url: str) -> dict[str, Any]:
    """Log in to the Airflow metadata database with the ops credentials and see what they read.

    ``pass`` when the server refuses the login there, or lets it in but grants SELECT on none
    of its tables; ``fail`` when any table is readable (a superuser reads everything);
    ``error`` when the database has no tables to prove it against. An unreachable server
    raises ``DatabaseUnavailable``: we cannot prove isolation against it.
    """
    ops = _parse(ops_url)
    probe = _parse(airflow_url).set(
        drivername="postgresql+psycopg2", username=ops.username, password=ops.password
    )
    where = str(database_location(airflow_url))
    engine = create_engine(probe, poolclass=NullPool, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            row = conn.execute(READABLE_TABLES_SQL).one()
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        if LOGIN_REFUSED.search(reason):
            return {
                "status": "pass",
                "summary": f"the ops login is refused by {where}",
                "refusal": reason,
            }
        raise DatabaseUnavailable(f"could not reach {where} to prove isolation: {reason}") from None
    finally:
        engine.dispose()
    return _judge_reach(where, row.tables, row.readable, list(row.examples or []))


def _judge_reach(where: str, tables: int, readable: int, examples: list[str]) -> dict[str, Any]:
    found = {"tables": tables, "readable_tables": readable, "examples": examples}
    if readable:
        return {
            "status": "fail",
            "summary": f"the ops login can read {readable} of {tables} table(s) in {where}",
            **found,
        }
    if not tables:
        return {
            "status": "error",
            "summary": f"{where} has no tables to prove isolation against (not migrated?)",
            **found,
        }
    return {
        "status": "pass",
        "summary": f"the ops login connects to {where} but can read none of its {tables} tables",
        **found,
    }


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except Exception:
        raise MalformedDatabaseUrl("is not a valid database URL") from None
    if parsed.get_backend_name() not in POSTGRES_SCHEMES:
        raise MalformedDatabaseUrl(f"must be PostgreSQL, not {parsed.get_backend_name()!r}")
    return parsed


def _query_value(parsed: URL, key: str) -> str | None:
    value = parsed.query.get(key)
    if isinstance(value, tuple):
        return value[0] if value else None
    return value
