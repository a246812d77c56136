"""``python -m bench.runtime_gate``: the release gate under the real scheduler, timed.

Starts the local platform as ``make airflow`` does (LocalExecutor, api-server, scheduler, DAG
processor, triggerer, metrics exporter and Prometheus) on a throwaway ``var/`` and a free port,
seeds the demo's back office, then runs the full readiness report in this process (every
check of the gate, no scheduler) and triggers ``release_readiness`` through the REST API as
an operator, as a person would from the UI. Reports the run's end-to-end time (from the
trigger to the run's end, as the REST API reports it), each task's duration and the
in-process time beside them; ``make bench`` writes them into ``bench/results/latest.md``
(``python -m bench.runtime_gate`` alone prints them as JSON).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ops_domain.cli.main import main as ops_main
from ops_domain.config import Settings
from ops_domain.db import create_ops_engine
from ops_domain.embedded import stop_embedded_server
from ops_domain.runbook.report import release_readiness_report
from scripts.airflow_local import local_platform
from scripts.airflow_logins import AIRFLOW_ADMIN
from scripts.platform_services import free_port
from scripts.stack import OWNER_URL_ENV

GATE_DAG = "release_readiness"
GATE_LOGIN = "oscar"  # operation: may run the gate
OPS_URL = "OPS_DATABASE_URL"
TARGET_SECONDS = 15.0  # issue 17: the gate end to end under the real scheduler
RESULTS_KEY = "runtime_gate"  # its key in latest.json


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """This process's environment as a shell on the platform has it, restored afterwards."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def seed_demo(platform_env: Mapping[str, str], day: str) -> None:
    """The demo's back office, seeded by the owner login as ``make demo`` does."""
    with (
        environment({**platform_env, OPS_URL: platform_env[OWNER_URL_ENV]}),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        code = ops_main(["seed_demo", "--reset", "--business-date", day])
    if code != 0:
        raise RuntimeError(f"seed_demo exited {code}")


def in_process_report(release_id: str) -> dict[str, Any]:
    """Every check of the gate and the verdict, in this process (no scheduler, no tasks)."""
    settings = Settings.from_env()
    engine = create_ops_engine(os.environ[OPS_URL])
    started = time.perf_counter()
    try:
        report = release_readiness_report(
            engine, settings, actor_username=GATE_LOGIN, release_id=release_id
        )
    finally:
        engine.dispose()
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "verdict": report.gate.verdict.verdict,
        "checks": {check.name: check.status for check in report.checks},
    }


def scheduled_gate(platform: Any, release_id: str) -> dict[str, Any]:
    """One ``release_readiness`` run triggered through REST; its times as Airflow recorded
    them, and the wall time from the trigger until the client saw the run end."""
    client = platform.client(GATE_LOGIN)
    conf = {"release_id": release_id, "environment": "production"}
    started = time.perf_counter()
    run_id = client.trigger(GATE_DAG, conf)
    outcome = client.wait(GATE_DAG, run_id, timeout=300)
    observed = time.perf_counter() - started
    return {
        "state": outcome.state,
        "seconds": round(outcome.duration or observed, 2),
        "observed_seconds": round(observed, 2),
        "tasks": {
            task: round(result.duration or 0.0, 2) for task, result in sorted(outcome.tasks.items())
        },
    }


def measure(runs: int = 2) -> dict[str, Any]:
    """Start the platform, seed the demo, and time the gate in process and under the
    scheduler (``runs`` scheduled runs: the first also pays for cold caches)."""
    day = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    release_id = f"{day.replace('-', '.')}-bench"
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as scratch:
        var_dir = Path(scratch) / "var"
        started = time.perf_counter()
        try:
            with local_platform(var_dir, free_port()) as platform:
                ready = time.perf_counter() - started
                log(f"runtime gate: platform ready in {ready:.0f} s")
                platform.client(AIRFLOW_ADMIN).unpause(GATE_DAG)
                seed_demo(platform.env, day)
                with environment(platform.env):  # what the platform's tasks see
                    in_process = in_process_report(release_id)
                log(f"runtime gate: in process {in_process['seconds']} s")
                scheduled = []
                for _ in range(runs):
                    scheduled.append(scheduled_gate(platform, release_id))
                    log(f"runtime gate: under the scheduler {scheduled[-1]['seconds']} s")
        finally:
            stop_embedded_server(var_dir)
    return {
        "platform_ready_seconds": round(ready, 1),
        "in_process": in_process,
        "scheduled": scheduled,
        "target_seconds": TARGET_SECONDS,
    }


def best_run(result: dict[str, Any]) -> dict[str, Any]:
    return min(result["scheduled"], key=lambda run: run["seconds"])


def section_lines(results: dict[str, Any]) -> list[str]:
    """The runtime section of ``latest.md`` (nothing when the bench ran without it)."""
    result = results.get(RESULTS_KEY)
    if not result:
        return []
    best = best_run(result)
    runs = ", ".join(f"{run['seconds']:.1f} s ({run['state']})" for run in result["scheduled"])
    in_process = result["in_process"]
    return [
        "",
        "## The release gate under the real scheduler",
        "",
        f"`{GATE_DAG}` triggered through REST on the demo's back office (LocalExecutor, the"
        f" platform of `make airflow`, ready in {result['platform_ready_seconds']:.0f} s):"
        f" runs {runs}; the same checks in one process (`release_readiness_report`):"
        f" {in_process['seconds']:.1f} s (verdict {in_process['verdict']}). The demo's"
        " blockers fail the snapshot check, so both verdicts are not ready: every check runs.",
        "",
        "| task (fastest run) | seconds |",
        "|---|---:|",
        *(f"| {task} | {seconds:.1f} |" for task, seconds in best["tasks"].items()),
        f"| **end to end** | **{best['seconds']:.1f}** |",
    ]


def gate_targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    result = results.get(RESULTS_KEY)
    if not result:
        return []
    best = best_run(result)["seconds"]
    return [
        (
            f"`{GATE_DAG}` end to end under the real scheduler ≤ {TARGET_SECONDS:.0f} s",
            f"{best:.1f} s",
            best <= TARGET_SECONDS,
        )
    ]


def main() -> int:
    result = measure()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
