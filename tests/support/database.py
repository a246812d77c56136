"""The test database: ``OPS_TEST_DATABASE_URL``, or a fresh database on the embedded server."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from ops_domain.config import PROJECT_ROOT
from ops_domain.embedded import embedded_server_url
from ops_domain.models import Base

TEST_DATABASE_ENV = "OPS_TEST_DATABASE_URL"
# Tables whose rows a test may leave behind; everything is wiped before the next test.
ALL_TABLES = tuple(table.name for table in Base.metadata.sorted_tables)


def create_test_database() -> tuple[str, str | None]:
    """Return (url, name of a database to drop afterwards, if we created one)."""
    configured = os.environ.get(TEST_DATABASE_ENV)
    if configured:
        return configured, None
    var_dir = Path(os.environ.get("OPS_VAR_DIR") or PROJECT_ROOT / "var")
    server_url = embedded_server_url(var_dir)
    name = f"ops_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.replace("/postgres?", f"/{name}?"), name


def drop_test_database(url: str, name: str) -> None:
    server_url = url.replace(f"/{name}?", "/postgres?")
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def wipe(engine: Engine) -> None:
    """Empty every table. The audit log refuses TRUNCATE, so its guard is lifted for this
    one statement by the owner (the tests' login), inside one transaction."""
    tables = ", ".join(ALL_TABLES)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))
