"""The real Airflow runtime on this machine: api-server, scheduler, DAG processor and triggerer
(and Celery workers when asked), each in its own process group, supervised together.

``make airflow``, ``make airflow-celery``, the demo and the runtime tests start the platform
with ``running_platform``: it waits until the api-server reports every component healthy and
every DAG parsed, and stops all of them when the block ends, whatever ended it (Ctrl-C, a
component that died, a failing test): SIGTERM to every process group at once, SIGKILL to
what is left after ``STOP_SECONDS``. Airflow's ``standalone`` ignores the first SIGINT for 45 s
or more, which is why the components are started here one by one instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ops_domain.config import PROJECT_ROOT
from scripts.airflow_logins import AIRFLOW_ADMIN, PASSWORDS_FILE, Logins
from scripts.airflow_rest import AirflowClient

AIRFLOW = str(Path(sys.executable).parent / "airflow")
HOST = "127.0.0.1"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
DAG_IDS = frozenset(path.stem for path in (PROJECT_ROOT / "dags").glob("*.py"))
START_SECONDS = 240.0
WORKER = "worker-"
CELERY_READY = " ready."
STOP_SECONDS = 3.0  # then SIGKILL (idle components take 5-8 s on SIGTERM): Ctrl-C stops all in 10 s


class PlatformFailed(RuntimeError):
    """A component exited or the platform did not become ready; names the log to read."""


def platform_environment(
    base: Mapping[str, str],
    *,
    port: int,
    logins: Logins,
    home: Path,
    celery_broker: str | None = None,
) -> dict[str, str]:
    """Airflow settings that depend on where the api-server listens, who may log in and which
    executor runs the tasks (Celery when a broker is given, else Local).

    Task processes call the execution API of the api-server: its URL follows the port (a UI
    moved to 8090 otherwise leaves every task calling 8080)."""
    base_url = f"http://{HOST}:{port}"
    return {
        **base,
        **(celery_settings(base, celery_broker) if celery_broker else {}),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if celery_broker else "LocalExecutor",
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": logins.users_setting(),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS_FILE),
    }


def celery_settings(base: Mapping[str, str], broker_url: str) -> dict[str, str]:
    """Broker, result backend (the metadata database) and one task at a time per worker: a
    worker holds no message it is not running, so parallel tasks spread over the workers."""
    return {
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + base["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
    }


@dataclass
class Platform:
    """The running components, where they answer and where their output goes."""

    base_url: str
    log_dir: Path
    logins: Logins
    env: Mapping[str, str]  # what every component runs with
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        with (self.log_dir / f"{name}.log").open("ab") as sink:
            self.processes[name] = subprocess.Popen(
                [AIRFLOW, *argv],
                env=dict(env),
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def dead(self) -> list[str]:
        return [name for name, process in self.processes.items() if process.poll() is not None]

    def require_alive(self) -> None:
        dead = self.dead()
        if dead:
            raise PlatformFailed(
                f"{', '.join(dead)} exited; see {', '.join(self.log(n) for n in dead)}"
            )

    def log(self, name: str) -> str:
        return str(self.log_dir / f"{name}.log")

    def wait_ready(self, timeout: float = START_SECONDS) -> None:
        """Until every component reports healthy and every DAG file is parsed."""
        deadline = time.monotonic() + timeout
        waiting_for = "the api-server"
        while time.monotonic() < deadline:
            self.require_alive()
            waiting_for = self._not_ready()
            if not waiting_for:
                return
            time.sleep(1.0)
        raise PlatformFailed(f"not ready after {timeout:.0f} s: waiting for {waiting_for}")

    def _not_ready(self) -> str:
        try:
            health = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
        except httpx.HTTPError:
            return "the api-server"
        unhealthy = [
            name
            for name in HEALTHY_COMPONENTS
            if (health.get(name) or {}).get("status") != "healthy"
        ]
        if unhealthy:
            return ", ".join(unhealthy)
        idle = [
            name for name in self.processes if name.startswith(WORKER) and not self._ready(name)
        ]
        if idle:
            return ", ".join(idle)
        return "" if self._parsed_dags() >= DAG_IDS else "the DAG processor to parse every DAG"

    def client(self, login: str) -> AirflowClient:
        """A REST client logged in as ``login`` (one of the cast's logins)."""
        return AirflowClient(self.base_url, login, self.logins.passwords[login])

    def _ready(self, worker: str) -> bool:
        """A Celery worker says so once it consumes from the broker."""
        return CELERY_READY in (self.log_dir / f"{worker}.log").read_text(errors="replace")

    def _parsed_dags(self) -> set[str]:
        listed = self.client(AIRFLOW_ADMIN).get("/api/v2/dags", limit=100)
        return {dag["dag_id"] for dag in listed["dags"]}

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM every process group at once; SIGKILL whatever outlives ``timeout``."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)  # also orphaned task processes in the group
            process.wait(timeout=5)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


@contextmanager
def running_platform(
    env: Mapping[str, str], log_dir: Path, logins: Logins, *, celery_workers: int = 0
) -> Iterator[Platform]:
    """Start the components (and ``celery_workers`` workers) with ``env`` and yield the ready
    platform; every process group is stopped when the block ends, also on an exception."""
    log_dir.mkdir(parents=True, exist_ok=True)
    platform = Platform(env["AIRFLOW__API__BASE_URL"], log_dir, logins, env)
    try:
        for name in COMPONENTS:
            platform.start(name, [name], env)
        for number in range(1, celery_workers + 1):
            platform.start(
                f"{WORKER}{number}",
                ["celery", "worker", "--celery-hostname", f"worker{number}@%h"],
                env,
            )
        platform.wait_ready()
        yield platform
    finally:
        platform.stop()
