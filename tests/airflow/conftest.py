"""Airflow test harness: its own AIRFLOW_HOME and metadata database, set before Airflow loads.

Airflow reads its configuration once, when ``airflow`` is first imported, so everything below
the imports runs at collection time, before any test module imports Airflow. The metadata
database is a fresh ``airflow_test_<uuid>`` database on the same PostgreSQL server as the ops
test database; it is migrated once per session with the real ``airflow db migrate`` command.
Unit-test mode is deliberately left off: the DAGs are tested with the configuration they run
with, and the CLI test's subprocess sees the same settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ops_domain.config import PROJECT_ROOT
from ops_domain.embedded import embedded_server_url
from tests.support.database import TEST_DATABASE_ENV

DAGS_FOLDER = PROJECT_ROOT / "dags"
PLUGINS_FOLDER = PROJECT_ROOT / "plugins"
OPS_POOL = "ops_db"
OPS_POOL_SLOTS = 4
AIRFLOW_BIN = Path(sys.executable).parent / "airflow"


def _server_url() -> str:
    configured = os.environ.get(TEST_DATABASE_ENV)
    if configured:
        return make_url(configured).set(database="postgres").render_as_string(False)
    var_dir = Path(os.environ.get("OPS_VAR_DIR") or PROJECT_ROOT / "var")
    return embedded_server_url(var_dir)


def _airflow_environment() -> tuple[dict[str, str], str, str]:
    """(environment for Airflow, server URL, metadata database name)."""
    server_url = _server_url()
    name = f"airflow_test_{uuid.uuid4().hex[:10]}"
    home = tempfile.mkdtemp(prefix="airflow_home_")
    metadata_url = make_url(server_url).set(database=name).render_as_string(False)
    env = {
        "AIRFLOW_HOME": home,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "GX_ANALYTICS_ENABLED": "False",
        "OPS_ENABLED_CURRENCIES": "USD,EUR,IDR",
    }
    return env, server_url, name


AIRFLOW_ENV, SERVER_URL, METADATA_DB = _airflow_environment()
os.environ.update(AIRFLOW_ENV)
# DAG files import ``wallet_ops_airflow`` the way Airflow does: plugins/ on sys.path.
if str(PLUGINS_FOLDER) not in sys.path:
    sys.path.insert(0, str(PLUGINS_FOLDER))


def _admin(sql: str) -> None:
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()


@pytest.fixture(scope="session")
def airflow_db(database_url: str) -> Iterator[dict[str, str]]:
    """A migrated Airflow metadata database, the ``ops_db`` pool, and ``ops_db`` -> ops test DB.

    Yields the environment a subprocess needs to run the ``airflow`` CLI against the same setup.
    """
    _admin(f'CREATE DATABASE "{METADATA_DB}"')
    os.environ["AIRFLOW_CONN_OPS_DB"] = database_url
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT), str(PLUGINS_FOLDER)])
    for command in (
        ["db", "migrate"],
        ["pools", "set", OPS_POOL, str(OPS_POOL_SLOTS), "Concurrent writers to the ops DB"],
    ):
        subprocess.run(
            [str(AIRFLOW_BIN), *command], env=env, check=True, capture_output=True, timeout=300
        )
    yield env
    os.environ.pop("AIRFLOW_CONN_OPS_DB", None)
    if "airflow.settings" in sys.modules:  # close in-process sessions before dropping their DB
        sys.modules["airflow.settings"].dispose_orm()
    _drop_in_background(METADATA_DB)


def _drop_in_background(database: str) -> None:
    """DROP DATABASE waits for a checkpoint (over 15 s on the busy shared server): let it
    finish after the session instead of holding the test run for it."""
    script = (
        "import sys; from sqlalchemy import create_engine, text; "
        "e = create_engine(sys.argv[1], isolation_level='AUTOCOMMIT'); "
        "c = e.connect(); c.execute(text(sys.argv[2]))"
    )
    subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            SERVER_URL,
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
