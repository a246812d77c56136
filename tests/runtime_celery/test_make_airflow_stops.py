"""``make airflow`` as a person runs it: on the port AIRFLOW__API__PORT names, with the cast's
passwords printed the first time only, and Ctrl-C stops every component within 10 s.

(Kept beside the Celery test so that no other platform runs at the same time.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops_domain.config import PROJECT_ROOT
from ops_domain.embedded import stop_embedded_server
from scripts.platform_services import free_port

START_SECONDS = 300.0
STOP_BOUND_SECONDS = 10.0


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    stop_embedded_server(tmp_path)


def start_make_airflow(var_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPS_"))}
    env |= {"OPS_VAR_DIR": str(var_dir), "AIRFLOW__API__PORT": str(port)}
    return subprocess.Popen(
        [sys.executable, "-m", "scripts.airflow_local"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def read_until_ready(process: subprocess.Popen[str]) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + START_SECONDS
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            pytest.fail("make airflow exited before it was ready:\n" + "".join(lines[-30:]))
        lines.append(line)
        if line.strip().startswith("passwords:"):
            return lines
    pytest.fail(f"make airflow was not ready within {START_SECONDS:.0f} s")


def still_running(var_dir: Path) -> list[str]:
    """Command lines of live processes started for this var dir (every component inherits
    OPS_VAR_DIR), but the embedded PostgreSQL, which stays up by design."""
    marker = f"OPS_VAR_DIR={var_dir}".encode()
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


def test_ctrl_c_stops_every_component_within_10_s(var_dir: Path) -> None:
    port = free_port()
    process = start_make_airflow(var_dir, port)
    try:
        first = read_until_ready(process)

        started = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
        process.wait(timeout=30)
        stopped_after = time.monotonic() - started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    output = "".join(first)
    assert f"Airflow UI: http://127.0.0.1:{port}" in output
    assert "passwords: printed above, once" in output
    assert stopped_after < STOP_BOUND_SECONDS, f"stopped after {stopped_after:.1f} s"
    assert process.returncode == 0
    assert still_running(var_dir) == []
