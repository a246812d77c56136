"""Runbook check 7: the smoke runner reads pass/fail counts from pytest's JUnit report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops_domain.checks import fail_closed
from ops_domain.readiness.smoke import run_smoke_tests

PASSING = """
import pytest

@pytest.mark.smoke
def test_one():
    assert 1 + 1 == 2

@pytest.mark.smoke
def test_two():
    assert "ops".upper() == "OPS"

def test_not_smoke_is_not_run():
    raise AssertionError("only smoke-marked tests run")
"""
FAILING = """
import pytest

@pytest.mark.smoke
def test_holds():
    assert True

@pytest.mark.smoke
def test_breaks():
    assert 2 + 2 == 5
"""
ERRORING = """
import pytest

@pytest.fixture
def target():
    raise ConnectionError("database gone")

@pytest.mark.smoke
def test_needs_target(target):
    assert target
"""
NO_SMOKE = """
def test_plain():
    assert True
"""


def suite(tmp_path: Path, body: str) -> Path:
    (tmp_path / "test_scenarios.py").write_text(body)
    return tmp_path


def test_all_smoke_tests_passing_passes_with_counts(tmp_path: Path) -> None:
    check = run_smoke_tests(None, suite=suite(tmp_path, PASSING))

    assert (check.name, check.status) == ("smoke_tests", "pass")
    assert check.summary == "smoke tests: 2/2 passed, 0 failed, 0 errored, 0 skipped"
    assert (check.details["tests"], check.details["pytest_exit_code"]) == (2, 0)


def test_one_failing_smoke_test_fails_and_is_named(tmp_path: Path) -> None:
    check = run_smoke_tests(None, suite=suite(tmp_path, FAILING))

    assert check.status == "fail"
    assert (check.details["passed"], check.details["failures"]) == (1, 1)
    assert check.details["not_passed"] == ["test_breaks: failure"]


def test_a_smoke_test_that_cannot_run_is_an_error(tmp_path: Path) -> None:
    check = run_smoke_tests(None, suite=suite(tmp_path, ERRORING))

    assert check.status == "error"
    assert check.details["not_passed"] == ["test_needs_target: error"]


def test_no_smoke_test_at_all_fails(tmp_path: Path) -> None:
    check = run_smoke_tests(None, suite=suite(tmp_path, NO_SMOKE))

    assert check.status == "fail"
    assert check.details["tests"] == 0


def test_the_suite_runs_without_installed_plugins(tmp_path: Path) -> None:
    body = (
        "import pytest\n\n@pytest.mark.smoke\ndef test_bare(request):\n"
        "    assert request.config.pluginmanager.get_plugin('hypothesispytest') is None\n"
    )

    check = run_smoke_tests(None, suite=suite(tmp_path, body))

    assert check.status == "pass", check.details["not_passed"]


def test_a_suite_over_its_time_budget_is_an_error(tmp_path: Path) -> None:
    slow = "import time, pytest\n\n@pytest.mark.smoke\ndef test_slow():\n    time.sleep(30)\n"

    check = run_smoke_tests(None, suite=suite(tmp_path, slow), timeout_seconds=3)

    assert check.status == "error"
    assert check.summary == "smoke suite did not finish within 3s"


def test_an_unreachable_target_database_is_an_error(tmp_path: Path) -> None:
    scratch = "postgresql://ops@127.0.0.1:1/scratch"
    check = fail_closed(
        "smoke_tests", lambda: run_smoke_tests(scratch, suite=suite(tmp_path, PASSING))
    )

    assert check.status == "error"
    assert "DatabaseUnavailable" in check.summary


def test_it_refuses_to_run_in_the_ops_database(tmp_path: Path) -> None:
    check = run_smoke_tests(
        "postgresql://ops:pw@DB.internal:5432/ops",
        ops_database_url="postgres://ops:pw@db.internal/ops",
        suite=suite(tmp_path, PASSING),
    )

    assert check.status == "error"
    assert "points at the ops database" in check.summary


def test_a_missing_suite_is_an_error(tmp_path: Path) -> None:
    check = run_smoke_tests(None, suite=tmp_path / "nowhere")

    assert check.status == "error"


@pytest.mark.slow
def test_cli_runs_the_real_smoke_suite(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPS_TEST_DATABASE_URL", raising=False)

    code, out, _ = cli("run_smoke_tests", "--json")

    result = json.loads(out)
    assert result["details"]["not_passed"] == []
    assert (code, result["status"], result["details"]["tests"]) == (0, "pass", 10)
