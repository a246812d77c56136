"""``make demo`` end to end, twice, on a server of its own: the real DAGs run, the gate fails
then passes, Airflow's output stays in var/logs/, and a rerun tells the same story."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops_domain.config import PROJECT_ROOT
from ops_domain.embedded import stop_embedded_server

pytestmark = pytest.mark.slow

BUSINESS_DATE = "2026-11-23"
VARYING = re.compile(r"\(\d+\.\d s\)|:\d{2,5}\b|#\d+|finished in \d+ s|\d{4}-\d\d-\d\dT\S+")


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    stop_embedded_server(tmp_path)


def run_demo(var_dir: Path) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW")
        and key not in {"OPS_DATABASE_URL", "OPS_TEST_DATABASE_URL"}
    }
    env["OPS_VAR_DIR"] = str(var_dir)
    completed = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "--business-date", BUSINESS_DATE],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stderr == ""
    return completed.stdout


def test_demo_fails_the_gate_then_passes_it_and_a_rerun_tells_the_same_story(
    var_dir: Path,
) -> None:
    first = run_demo(var_dir)

    lines = first.splitlines()
    assert "[12/12] DAG release_readiness 2026.11.24-demo again: PASSED" in first
    assert "FAILED, as expected: readiness_snapshot" in first
    verdicts = [line.split("verdict ")[1].split()[0] for line in lines if "verdict " in line]
    assert verdicts == ["NOT_READY", "READY"]
    assert "pending_refunds = 3 blocking the release" in first
    assert "readiness_snapshot  waived" in first
    assert "requested by oscar, approved by rita" in first
    assert "DAG accounting_period_governance close October 2026: October 2026 closed" in first
    assert sum(line.startswith("[") for line in lines) == 12
    assert "[DAG TEST]" not in first
    assert "[DAG TEST]" in (var_dir / "logs" / "demo.log").read_text()
    commands = (var_dir / "logs" / "demo-operator-commands.txt").read_text().splitlines()
    assert commands[-1].startswith("python -m ops_domain waivers approve --waiver-id 1 ")

    second = run_demo(var_dir)

    assert VARYING.sub("", second) == VARYING.sub("", first)
