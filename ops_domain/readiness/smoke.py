"""Runbook check 7: the shipped end-to-end smoke scenarios pass against the target server.

The scenarios ship in ``ops_domain.smoke``; the check runs them with ``python -m
ops_domain.smoke`` in a child process with a bounded timeout and reads the one JSON line it
prints. A timeout, a crash or a result that cannot be read is an error (fail closed). The
scenarios empty the database they run in, so they are pointed at a scratch database
(``OPS_TEST_DATABASE_URL``; without one, a fresh database on the embedded server) and the check
refuses outright to run them in the ops database itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.db import create_ops_engine, describe_url
from ops_domain.readiness.isolation import database_location

CHECK_NAME = "smoke_tests"
RUNNER = (sys.executable, "-m", "ops_domain.smoke")
TEST_DATABASE_ENV = "OPS_TEST_DATABASE_URL"
DEFAULT_TIMEOUT_SECONDS = 900
OUTCOMES = frozenset({"passed", "failed", "error"})


def smoke_check(evaluation: Evaluation) -> CheckResult:
    """The gate's form: the scenarios in the configured scratch database, never the evaluated
    one."""
    return run_smoke_tests(
        evaluation.settings.test_database_url, ops_database_url=evaluation.ops_database_url
    )


def run_smoke_tests(
    database_url: str | None,
    *,
    ops_database_url: str | None = None,
    runner: Sequence[str] = RUNNER,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
) -> CheckResult:
    """Pass only if at least one scenario ran and every one passed. A scenario that could not
    run, a runner that timed out, crashed or printed no result make an ``error``; a failed
    scenario ``fail``; an unreachable scratch database raises."""
    target = describe_url(database_url) if database_url else "a fresh embedded database"
    details: dict[str, object] = {"database": target}
    if database_url:
        if ops_database_url and database_location(database_url) == database_location(
            ops_database_url
        ):
            return CheckResult(
                CHECK_NAME,
                "error",
                f"{TEST_DATABASE_ENV} points at the ops database {target}: the smoke scenarios"
                " empty their database, give them a scratch one",
                details,
            )
        create_ops_engine(database_url).dispose()  # unreachable -> DatabaseUnavailable -> error
    try:
        completed = subprocess.run(
            list(runner),
            env=_runner_env(database_url),
            capture_output=True,
            text=True,
            timeout=timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return CheckResult(
            CHECK_NAME,
            "error",
            f"smoke scenarios did not finish within {timeout_seconds}s",
            details,
        )
    details["runner_exit_code"] = completed.returncode
    outcomes = read_outcomes(completed.stdout)
    if outcomes is None:
        last = completed.stderr.strip().splitlines()[-1:] or [""]
        return CheckResult(
            CHECK_NAME, "error", f"the smoke runner gave no result: {last[0][:200]}", details
        )
    return _judge(outcomes, details)


def _runner_env(database_url: str | None) -> dict[str, str]:
    # the runner is this process's child: it inherits its environment (PATH, settings)
    env = dict(os.environ)
    env.pop(TEST_DATABASE_ENV, None)
    if database_url:
        env[TEST_DATABASE_ENV] = database_url
    return env


def read_outcomes(stdout: str) -> list[dict[str, str]] | None:
    """The scenarios' outcomes from the runner's last output line; None when that line is not
    the runner's result."""
    lines = stdout.strip().splitlines()
    try:
        scenarios = json.loads(lines[-1])["scenarios"] if lines else None
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(scenarios, list) or not all(
        isinstance(item, dict)
        and isinstance(item.get("scenario"), str)
        and item.get("outcome") in OUTCOMES
        for item in scenarios
    ):
        return None
    return scenarios


def _judge(outcomes: list[dict[str, str]], details: dict[str, object]) -> CheckResult:
    count = {kind: sum(item["outcome"] == kind for item in outcomes) for kind in OUTCOMES}
    details.update(
        scenarios={item["scenario"]: item["outcome"] for item in outcomes},
        passed=count["passed"],
        failures=count["failed"],
        errors=count["error"],
        not_passed=[
            f"{item['scenario']}: {item['outcome']}: {item.get('message', '')}"
            for item in outcomes
            if item["outcome"] != "passed"
        ],
    )
    counts = (
        f"{count['passed']}/{len(outcomes)} passed, {count['failed']} failed,"
        f" {count['error']} errored"
    )
    if count["error"]:
        return CheckResult(CHECK_NAME, "error", f"smoke scenarios could not run: {counts}", details)
    if not outcomes or count["failed"]:
        return CheckResult(CHECK_NAME, "fail", f"smoke scenarios: {counts}", details)
    return CheckResult(CHECK_NAME, "pass", f"smoke scenarios: {counts}", details)
