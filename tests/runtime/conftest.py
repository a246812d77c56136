"""The runtime suite: DAGs under the real Airflow platform, driven only through its REST API.

Every test in this package is marked ``runtime``. One session starts the platform exactly as
``make airflow`` does (``scripts.airflow_local.local_platform``: api-server, scheduler, DAG
processor, triggerer with the LocalExecutor, the metrics exporter and Prometheus when
installed, the cast's logins) on an embedded PostgreSQL of its own under a temporary
``var/`` (fresh ``airflow``, ``ops`` and ``ops_audit`` databases) and a free port. Tests talk
to it as any client would: a JWT from ``POST /auth/token``, then Airflow's public REST API v2
(``scripts.airflow_rest.AirflowClient``). Every process is stopped when the session ends,
also when a test fails or the platform does not come up (process groups, SIGKILL after 3 s).

Fixtures for tests (and for other suites built on this one):

- ``platform`` (package scope: tests using it live in ``tests/runtime/``, subpackages
  included; it is stopped before ``tests/runtime_celery`` starts its own): the running ``scripts.airflow_platform.Platform``: ``base_url``,
  ``logins.roles`` / ``logins.passwords`` (login -> Airflow role / password: every person of
  the demo cast, e.g. ``oscar``, ``rita``, ``alice``, ``tina``, ``adam``, plus ``admin``, who
  maps to no ops user), ``env`` (the components' environment: ``OPS_DATABASE_URL`` ...),
  ``log(component)`` (path of a component's output).
- ``client(login)``: an ``AirflowClient`` logged in as that login (cached per login): ``get``,
  ``post``, ``patch``, ``unpause``, ``pause``, ``trigger``, ``runs``, ``wait``, ``xcom``,
  ``task_log``; API errors raise ``RestRefused`` with ``status`` and ``detail``.
- ``trigger(dag_id, conf, as_login="oscar", logical_date=None) -> TriggeredRun``: unpauses the
  DAG (as ``admin``) and creates a manual run as ``as_login``.
- ``wait(run, timeout=240) -> RunOutcome``: polls until the run ended; ``state``,
  ``tasks[task_id] -> TaskOutcome(state, try_number, duration)`` (``task_id[i]`` for mapped
  tasks), ``triggering_user``, ``failed_tasks()``.
- ``first_scheduled_run(admin_client, dag_id)`` (a function): the first run the scheduler made
  of that DAG by itself, once it ended.
- ``ops``: an engine on the business database the DAGs act on (for asserting results).
- ``ops_cli(*argv) -> dict``: the ops CLI in this process against that database, ``--json``
  output parsed; a non-zero exit fails the test.
- ``demo_back_office``: the ops database reset to the demo's back office for ``DEMO_DATE``
  (``seed_demo --reset`` by the owner login, ``seed_demo(platform.env, day)``); yields that date.
  ``platform.env["OPS_DATABASE_URL"]`` (and ``ops``, ``ops_cli``) is the application role
  the DAGs run as.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine

from ops_domain.cli.main import main as ops_main
from ops_domain.embedded import stop_embedded_server
from scripts.airflow_local import local_platform
from scripts.airflow_logins import AIRFLOW_ADMIN
from scripts.airflow_platform import Platform
from scripts.airflow_rest import AirflowClient, RunOutcome
from scripts.platform_services import free_port
from scripts.stack import OWNER_URL_ENV

RUNTIME_DIR = Path(__file__).parent
TODAY = datetime.now(UTC).date()
DEMO_DATE = TODAY - timedelta(days=1)
# settlement_automation catches up from here when unpaused: three daily runs
CATCH_UP_DAYS = 3
SETTLEMENT_START = TODAY - timedelta(days=CATCH_UP_DAYS)
# a transient error's first retry, instead of 30 s: the retry test proves the retry, not the wait
RETRY_DELAY_SECONDS = 5  # over the test's 1 s poll for up_for_retry: never missed
# what the in-process ops CLI needs from the platform's environment
CLI_SETTINGS = ("OPS_DATABASE_URL", "OPS_VAR_DIR", "OPS_ENABLED_CURRENCIES")


def mark_runtime(items: list[pytest.Item], directory: Path) -> None:
    """Mark every test under ``directory`` ``runtime``."""
    for item in items:
        if directory in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.runtime)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_runtime(items, RUNTIME_DIR)


def first_scheduled_run(admin: AirflowClient, dag_id: str, timeout: float = 180.0) -> RunOutcome:
    """The first run the scheduler made of ``dag_id`` by itself, once it ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in admin.runs(dag_id, run_type="scheduled"):
            if run["state"] in {"success", "failed"}:
                return admin.wait(dag_id, run["dag_run_id"])
        time.sleep(2.0)
    raise TimeoutError(f"no scheduled {dag_id} run ended within {timeout:.0f} s")


@dataclass(frozen=True)
class TriggeredRun:
    dag_id: str
    run_id: str
    login: str


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var_dir = tmp_path_factory.mktemp("runtime_var")
    overrides = {
        "OPS_SETTLEMENT_START_DATE": SETTLEMENT_START.isoformat(),
        "OPS_TASK_RETRY_DELAY_SECONDS": str(RETRY_DELAY_SECONDS),
    }
    try:
        with local_platform(var_dir, free_port(), overrides=overrides) as running:
            yield running
    finally:
        stop_embedded_server(var_dir)


@pytest.fixture(scope="package")
def client(platform: Platform) -> Callable[[str], AirflowClient]:
    sessions: dict[str, AirflowClient] = {}

    def logged_in(login: str) -> AirflowClient:
        if login not in sessions:
            sessions[login] = platform.client(login)
        return sessions[login]

    return logged_in


@pytest.fixture(scope="package")
def trigger(client: Callable[[str], AirflowClient]) -> Callable[..., TriggeredRun]:
    def create(
        dag_id: str,
        conf: dict[str, Any],
        as_login: str = "oscar",
        logical_date: datetime | None = None,
    ) -> TriggeredRun:
        client(AIRFLOW_ADMIN).unpause(dag_id)
        run_id = client(as_login).trigger(dag_id, conf, logical_date=logical_date)
        return TriggeredRun(dag_id, run_id, as_login)

    return create


@pytest.fixture(scope="package")
def wait(client: Callable[[str], AirflowClient]) -> Callable[..., RunOutcome]:
    def ended(run: TriggeredRun, timeout: float = 240.0) -> RunOutcome:
        return client(run.login).wait(run.dag_id, run.run_id, timeout=timeout)

    return ended


@pytest.fixture(scope="package")
def ops(platform: Platform) -> Iterator[Engine]:
    engine = create_engine(platform.env["OPS_DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture
def in_platform_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's environment as a shell on the platform has it (for code that reads
    ``os.environ`` itself, such as the ops CLI and the demo operator's commands)."""
    for name in CLI_SETTINGS:
        monkeypatch.setenv(name, platform.env[name])
    monkeypatch.delenv("OPS_DEBUG", raising=False)


@pytest.fixture
def ops_cli(in_platform_env: None) -> Callable[..., Any]:
    def run(*argv: str) -> Any:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = ops_main([*argv, "--json"])
        assert code == 0, f"ops {' '.join(argv)} exited {code}: {err.getvalue()}"
        return json.loads(out.getvalue())

    return run


def seed_demo(platform_env: Mapping[str, str], day: date) -> None:
    """The demo's back office for ``day``, seeded by the owner login (as ``make demo`` does;
    the DAGs and the ops CLI run as the application role, which may not wipe tables)."""
    with pytest.MonkeyPatch.context() as env:
        for name in CLI_SETTINGS:
            env.setenv(name, platform_env[name])
        env.setenv("OPS_DATABASE_URL", platform_env[OWNER_URL_ENV])
        with contextlib.redirect_stdout(io.StringIO()):
            code = ops_main(["seed_demo", "--reset", "--business-date", day.isoformat()])
    assert code == 0, f"seed_demo exited {code}"


@pytest.fixture
def demo_back_office(platform: Platform) -> date:
    seed_demo(platform.env, DEMO_DATE)
    return DEMO_DATE
