"""``make airflow-celery`` under test, run as a person runs it: ``python -m
scripts.airflow_local --celery`` in its own process group, with ``OPS_VAR_DIR`` on a temporary
directory (an embedded PostgreSQL of its own) and ``AIRFLOW__API__PORT`` on a free port. It
starts redis on 127.0.0.1, the components with the CeleryExecutor and two workers (one task at
a time each). The tests reach it only through its REST API, its logs and the ops database, and
the last test stops it with Ctrl-C. Runs after ``tests/runtime``, whose LocalExecutor platform
is stopped by then (package scope), so no two platforms compete for the machine. Every test
here is marked ``runtime``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ops_domain.config import PROJECT_ROOT
from ops_domain.embedded import stop_embedded_server
from scripts.airflow_logins import cast_logins
from scripts.airflow_platform import WORKER
from scripts.airflow_rest import AirflowClient
from scripts.platform_services import free_port
from scripts.stack import airflow_home, local_environment, logs_dir
from tests.runtime.conftest import TODAY, mark_runtime

CELERY_DIR = Path(__file__).parent
START_SECONDS = 300.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_runtime(items, CELERY_DIR)


@dataclass
class MakeAirflow:
    """The running ``make airflow-celery``: its process, what it printed, where it answers."""

    process: subprocess.Popen[str]
    var_dir: Path
    base_url: str
    output: list[str]
    env: dict[str, str]  # the local environment it runs with (database URLs ...)

    def client(self, login: str) -> AirflowClient:
        password = cast_logins(airflow_home(self.var_dir)).passwords[login]
        return AirflowClient(self.base_url, login, password)

    def worker_logs(self) -> dict[str, Path]:
        found = (logs_dir(self.var_dir) / "platform").glob(f"{WORKER}*.log")
        return {path.stem: path for path in sorted(found)}

    def still_running(self) -> list[str]:
        """Command lines of live processes it started (each inherits its OPS_VAR_DIR), but
        the embedded PostgreSQL, which stays up by design."""
        marker = f"OPS_VAR_DIR={self.var_dir}".encode()
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if marker not in (proc / "environ").read_bytes().split(b"\0"):
                    continue
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except OSError:  # not a process, or it ended meanwhile
                continue
            if command and "postgres" not in command:
                found.append(command)
        return found


def _read_until_ready(process: subprocess.Popen[str]) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + START_SECONDS
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            pytest.fail("make airflow-celery exited early:\n" + "".join(lines[-30:]))
        lines.append(line)
        if line.strip().startswith("passwords:"):
            return lines
    pytest.fail(f"make airflow-celery was not ready within {START_SECONDS:.0f} s")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeAirflow]:
    var_dir = tmp_path_factory.mktemp("celery_var")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPS_"))}
    env |= {
        "OPS_VAR_DIR": str(var_dir),
        "AIRFLOW__API__PORT": str(port),
        # no day to catch up: unpausing settlement_automation starts only the runs we trigger
        "OPS_SETTLEMENT_START_DATE": TODAY.isoformat(),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.airflow_local", "--celery"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output = _read_until_ready(process)
        yield MakeAirflow(
            process, var_dir, f"http://127.0.0.1:{port}", output, local_environment(var_dir)
        )
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        stop_embedded_server(var_dir)


@pytest.fixture(scope="module")
def client(platform: MakeAirflow) -> Callable[[str], AirflowClient]:
    return platform.client
