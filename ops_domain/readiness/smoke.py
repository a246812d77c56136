"""Runbook check 7: the smoke-marked end-to-end scenarios pass against the target server.

The suite runs in a pytest subprocess with a bounded timeout, its results read from a JUnit
XML report (never scraped from text). The subprocess loads no installed pytest plugin (the
scenarios need none, and importing Hypothesis's alone cost more CPU than the scenarios on
the gate's critical path). The suite empties the database it runs in, so it is
pointed at a scratch database (``OPS_TEST_DATABASE_URL``; without one, a fresh database on the
embedded server) and refuses outright to run in the ops database itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.config import PROJECT_ROOT
from ops_domain.db import create_ops_engine, describe_url
from ops_domain.readiness.isolation import database_location

CHECK_NAME = "smoke_tests"
SMOKE_SUITE = PROJECT_ROOT / "tests" / "smoke"
TEST_DATABASE_ENV = "OPS_TEST_DATABASE_URL"
DEFAULT_TIMEOUT_SECONDS = 900


@dataclass
class SmokeOutcome:
    """Counts from the JUnit report, and which tests did not pass."""

    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    not_passed: list[str] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped


def smoke_check(evaluation: Evaluation) -> CheckResult:
    """The gate's form: the suite in the configured scratch database, never the evaluated one."""
    return run_smoke_tests(
        evaluation.settings.test_database_url, ops_database_url=evaluation.ops_database_url
    )


def run_smoke_tests(
    database_url: str | None,
    *,
    ops_database_url: str | None = None,
    suite: Path = SMOKE_SUITE,
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS,
) -> CheckResult:
    """Pass only if at least one smoke test ran and every one passed. Tests that could not
    run (fixture errors, timeout) make an ``error``; failures ``fail``; an unreachable scratch
    database raises."""
    target = describe_url(database_url) if database_url else "a fresh embedded database"
    details: dict[str, object] = {"database": target, "suite": str(suite)}
    if not suite.is_dir():
        return CheckResult(CHECK_NAME, "error", f"smoke suite not found at {suite}", details)
    if database_url:
        if ops_database_url and database_location(database_url) == database_location(
            ops_database_url
        ):
            return CheckResult(
                CHECK_NAME,
                "error",
                f"{TEST_DATABASE_ENV} points at the ops database {target}: the smoke suite"
                " empties its database, give it a scratch one",
                details,
            )
        create_ops_engine(database_url).dispose()  # unreachable -> DatabaseUnavailable -> error
    with tempfile.TemporaryDirectory(prefix="ops-smoke-") as scratch:
        report = Path(scratch) / "smoke.xml"
        try:
            completed = subprocess.run(
                _pytest_command(suite, report),
                cwd=PROJECT_ROOT,
                env=_subprocess_env(database_url),
                capture_output=True,
                text=True,
                timeout=timeout_seconds,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return CheckResult(
                CHECK_NAME,
                "error",
                f"smoke suite did not finish within {timeout_seconds}s",
                details,
            )
        details["pytest_exit_code"] = completed.returncode
        if not report.exists():
            last = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or [""]
            return CheckResult(
                CHECK_NAME, "error", f"pytest wrote no report: {last[0][:200]}", details
            )
        outcome = read_junit(report)
    return _judge(outcome, details)


def _pytest_command(suite: Path, report: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(PROJECT_ROOT / "pyproject.toml"),
        "--rootdir",
        str(PROJECT_ROOT),
        "-m",
        "smoke",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        str(suite),
    ]


def _subprocess_env(database_url: str | None) -> dict[str, str]:
    # the pytest child is this process's child: it inherits its environment (PATH, settings)
    env = dict(os.environ)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.pop(TEST_DATABASE_ENV, None)
    if database_url:
        env[TEST_DATABASE_ENV] = database_url
    return env


def read_junit(report: Path) -> SmokeOutcome:
    """Sum every test suite in a JUnit XML report and name the tests that did not pass."""
    # The report is the file our own pytest child just wrote, not outside input.
    root = ElementTree.parse(report).getroot()  # noqa: S314
    outcome = SmokeOutcome()
    for suite in root.iter("testsuite"):
        outcome.tests += int(suite.get("tests", 0))
        outcome.failures += int(suite.get("failures", 0))
        outcome.errors += int(suite.get("errors", 0))
        outcome.skipped += int(suite.get("skipped", 0))
    for case in root.iter("testcase"):
        verdicts = [child.tag for child in case if child.tag in {"failure", "error", "skipped"}]
        if verdicts:
            outcome.not_passed.append(f"{case.get('name')}: {verdicts[0]}")
    return outcome


def _judge(outcome: SmokeOutcome, details: dict[str, object]) -> CheckResult:
    details.update(
        tests=outcome.tests,
        passed=outcome.passed,
        failures=outcome.failures,
        errors=outcome.errors,
        skipped=outcome.skipped,
        not_passed=outcome.not_passed[:20],
    )
    counts = (
        f"{outcome.passed}/{outcome.tests} passed, {outcome.failures} failed,"
        f" {outcome.errors} errored, {outcome.skipped} skipped"
    )
    if outcome.errors:
        return CheckResult(CHECK_NAME, "error", f"smoke tests could not run: {counts}", details)
    if outcome.tests == 0 or outcome.failures or outcome.skipped:
        return CheckResult(CHECK_NAME, "fail", f"smoke tests: {counts}", details)
    return CheckResult(CHECK_NAME, "pass", f"smoke tests: {counts}", details)
