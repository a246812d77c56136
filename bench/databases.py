"""The bench's own databases: fresh ones per scale, and copies for the side-by-side runs.

``OPS_BENCH_DATABASE_URL`` names a server (any database on it; the login must be allowed to
create databases and, for the bulk load, be a superuser); without it the embedded server under
``var/`` is used. Every database the bench creates is named ``bench_*`` and dropped at the end.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ops_domain.config import PROJECT_ROOT

BENCH_DATABASE_ENV = "OPS_BENCH_DATABASE_URL"


def server_url() -> str:
    configured = os.environ.get(BENCH_DATABASE_ENV)
    if configured:
        return make_url(configured).set(drivername="postgresql+psycopg2").render_as_string(False)
    from ops_domain.embedded import embedded_server_url

    return embedded_server_url(Path(os.environ.get("OPS_VAR_DIR") or PROJECT_ROOT / "var"))


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


def server_version(server: str) -> str:
    admin = _admin(server)
    try:
        with admin.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())
    finally:
        admin.dispose()
