"""``make airflow``'s server side: the api-server over a fresh PostgreSQL metadata database
answers healthy and lists this repository's DAGs through the REST API (JWT from the simple
auth manager's token endpoint). It runs in its own process group and is stopped in bounded
time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ops_domain.config import PROJECT_ROOT
from ops_domain.embedded import embedded_server_url
from scripts.airflow_local import ADMIN, PASSWORDS_FILE
from scripts.platform_services import free_port, stop_process_group
from tests.support.database import TEST_DATABASE_ENV

pytestmark = pytest.mark.slow

AIRFLOW = str(Path(sys.executable).parent / "airflow")
START_SECONDS = 180.0
PASSWORD = "api-test-password"
DAG_IDS = {path.stem for path in (PROJECT_ROOT / "dags").glob("*.py")}


def server_url() -> str:
    configured = os.environ.get(TEST_DATABASE_ENV)
    if configured:
        return make_url(configured).set(database="postgres").render_as_string(False)
    return embedded_server_url(Path(os.environ.get("OPS_VAR_DIR") or PROJECT_ROOT / "var"))


def admin(sql: str) -> None:
    engine = create_engine(server_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture
def airflow_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A temp AIRFLOW_HOME and a fresh, migrated metadata database with the DAGs serialized."""
    name = f"airflow_api_{uuid.uuid4().hex[:10]}"
    admin(f'CREATE DATABASE "{name}"')
    (tmp_path / PASSWORDS_FILE).write_text(json.dumps({ADMIN: PASSWORD}))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": make_url(server_url())
        .set(database=name)
        .render_as_string(False),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "OPS_ENABLED_CURRENCIES": "USD,EUR,IDR",
        "GX_ANALYTICS_ENABLED": "False",
    }
    for command in (["db", "migrate"], ["dags", "reserialize"]):
        subprocess.run([AIRFLOW, *command], env=env, check=True, capture_output=True, timeout=300)
    yield env
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def call(url: str, *, token: str | None = None, body: dict[str, Any] | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (local URL)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def wait_healthy(base: str, server: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"api-server exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            return call(f"{base}/api/v2/monitor/health")
        except OSError:
            time.sleep(1)
    pytest.fail(f"api-server did not answer within {START_SECONDS:.0f} s")


def test_api_server_is_healthy_and_lists_the_dags_to_an_authenticated_user(
    airflow_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "api-server.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port)],
            env=airflow_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        health = wait_healthy(base, server, log)
        token = call(f"{base}/auth/token", body={"username": ADMIN, "password": PASSWORD})[
            "access_token"
        ]
        listed = call(f"{base}/api/v2/dags?limit=100", token=token)
        details = call(f"{base}/api/v2/dags/release_readiness/details", token=token)
        with pytest.raises(urllib.error.HTTPError, match="403: Forbidden"):
            call(f"{base}/api/v2/dags", token="not-a-token")
    finally:
        stop_process_group(server, timeout=30)

    assert health["metadatabase"]["status"] == "healthy"
    assert {dag["dag_id"] for dag in listed["dags"]} == DAG_IDS
    assert listed["total_entries"] == len(DAG_IDS)
    assert set(details["params"]) == {"release_id", "environment", "actor_username"}
    assert server.returncode is not None  # stopped within the bound
