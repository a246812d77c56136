"""Airflow test harness: its own AIRFLOW_HOME and metadata database, set before Airflow loads.

Airflow reads its configuration once, when ``airflow`` is first imported; nothing outside
this package imports it and the tests here import it only inside test bodies, so the
package-scoped ``airflow_env`` (autouse) sets everything up first and restores the
environment when the package is done: the other tests never see these settings. The
metadata database is a fresh ``airflow_test_<uuid>`` database on the same PostgreSQL server
as the ops test database, migrated once with the real ``airflow db migrate`` command, run by
Airflow's own CLI in this process (the import the tests need anyway, not two more).
Unit-test mode is deliberately left off: the DAGs are tested with the configuration they run
with, and the CLI test's subprocess sees the same settings.
"""

from __future__ import annotations

import os
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
from scripts.airflow_runs import migrate_metadata_here
from tests.support.database import TEST_DATABASE_ENV, drop_in_background

DAGS_FOLDER = PROJECT_ROOT / "dags"
PLUGINS_FOLDER = PROJECT_ROOT / "plugins"
AIRFLOW_BIN = Path(sys.executable).parent / "airflow"
METADATA_DB = f"airflow_test_{uuid.uuid4().hex[:10]}"


def _server_url() -> str:
    configured = os.environ.get(TEST_DATABASE_ENV)
    if configured:
        return make_url(configured).set(database="postgres").render_as_string(False)
    var_dir = Path(os.environ.get("OPS_VAR_DIR") or PROJECT_ROOT / "var")
    return embedded_server_url(var_dir)


def _airflow_settings(server_url: str, home: str) -> dict[str, str]:
    metadata_url = make_url(server_url).set(database=METADATA_DB).render_as_string(False)
    return {
        "AIRFLOW_HOME": home,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "OPS_AIRFLOW_METADATA_URL": metadata_url,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "GX_ANALYTICS_ENABLED": "False",
        "OPS_ENABLED_CURRENCIES": "USD,EUR,IDR",
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), str(PLUGINS_FOLDER)]),
    }


@pytest.fixture(scope="package", autouse=True)
def airflow_env() -> Iterator[str]:
    """Airflow's settings in the environment, and plugins/ on sys.path as Airflow puts it
    (DAG files import ``wallet_ops_airflow``). Yields the database server's URL."""
    if "airflow" in sys.modules:
        raise RuntimeError("airflow was imported before its test settings were in place")
    server_url = _server_url()
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="airflow_home_", ignore_cleanup_errors=True) as home:
        os.environ.update(_airflow_settings(server_url, home))
        sys.path.insert(0, str(PLUGINS_FOLDER))
        try:
            yield server_url
        finally:
            sys.path.remove(str(PLUGINS_FOLDER))
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture(scope="package")
def airflow_db(airflow_env: str, database_url: str) -> Iterator[dict[str, str]]:
    """A migrated Airflow metadata database, the ``ops_db`` pool, and ``ops_db`` -> ops test DB.

    Yields the environment a subprocess needs to run the ``airflow`` CLI against the same setup.
    """
    _admin(airflow_env, f'CREATE DATABASE "{METADATA_DB}"')
    os.environ["AIRFLOW_CONN_OPS_DB"] = database_url
    # as a deployment sets both (compose); it also keeps the settings file a developer's
    # make demo / make airflow left in var/ out of the tasks these tests run
    os.environ["OPS_DATABASE_URL"] = database_url
    env = dict(os.environ)
    migrate_metadata_here()
    yield env
    if "airflow.settings" in sys.modules:  # close in-process sessions before dropping their DB
        sys.modules["airflow.settings"].dispose_orm()
    drop_in_background(airflow_env, [METADATA_DB])


def _admin(server_url: str, sql: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()
