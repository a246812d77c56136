"""The scratch database the scenarios run in: created fresh, emptied before each scenario."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from ops_domain.embedded import embedded_server_url
from ops_domain.models import Base
from ops_domain.rbac.seeding import seed_rbac

ALL_TABLES = tuple(table.name for table in Base.metadata.sorted_tables)
# every sequence a scenario has drawn from starts again where a fresh database's does
RESTART_SEQUENCES = (
    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)"
    " FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
)


def create_scratch_database(var_dir: Path, prefix: str) -> tuple[str, str]:
    """A new, empty database on the embedded server: (its URL, its name)."""
    server_url = embedded_server_url(var_dir)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.replace("/postgres?", f"/{name}?"), name


def drop_scratch_database(url: str, name: str) -> None:
    drop_in_background(url.replace(f"/{name}?", "/postgres?"), [name])


def drop_in_background(
    server_url: str, databases: Sequence[str], roles: Sequence[str] = ()
) -> None:
    """Drop ``databases``, then ``roles`` (their owners, say), in that order in a process of
    its own: DROP DATABASE waits for a checkpoint of the whole server (measured 15-30 s on a
    busy machine), so it finishes after the caller instead of holding it."""
    statements = [
        *(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)' for database in databases),
        *(f'DROP ROLE IF EXISTS "{role}"' for role in roles),
    ]
    script = (
        "import sys; from sqlalchemy import create_engine, text; "
        "e = create_engine(sys.argv[1], isolation_level='AUTOCOMMIT'); c = e.connect()\n"
        "for statement in sys.argv[2:]: c.execute(text(statement))"
    )
    subprocess.Popen(
        [sys.executable, "-c", script, server_url, *statements],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wipe(engine: Engine) -> None:
    """Empty every table and restart every id sequence, as in a freshly migrated database.

    A superuser (the embedded server's login) deletes the rows with triggers and foreign keys
    off for the one transaction: a scenario leaves a few rows, and deleting them takes
    milliseconds where truncating every table took a third of a second, before every one.
    Another login truncates, lifting the audit log's TRUNCATE guard as the owner it is."""
    with engine.begin() as conn:
        if conn.execute(text("SELECT current_setting('is_superuser')")).scalar_one() == "on":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("; ".join(f"DELETE FROM {table}" for table in ALL_TABLES)))
            conn.execute(text(RESTART_SEQUENCES))
        else:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
            conn.execute(text(f"TRUNCATE {', '.join(ALL_TABLES)} RESTART IDENTITY CASCADE"))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))


def empty_database(engine: Engine) -> None:
    """What each scenario starts from: no rows, the RBAC matrix seeded."""
    wipe(engine)
    seed_rbac(engine)
