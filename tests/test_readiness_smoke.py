"""Runbook check 7: the shipped smoke scenarios run in a child process whose one JSON line
says how each went; a failed scenario fails the check by name, a runner that crashes, hangs
or says nothing is an error, and the ops database is refused."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from ops_domain.checks import fail_closed
from ops_domain.config import PROJECT_ROOT, Settings
from ops_domain.errors import InvalidInput
from ops_domain.readiness.smoke import run_smoke_tests
from ops_domain.smoke.expect import ScenarioFailed, expect_equal, expect_refused
from ops_domain.smoke.runner import SCENARIOS, run_scenario, run_scenarios


def printing(*outcomes: tuple[str, str, str]) -> list[str]:
    """A stand-in runner printing ``outcomes`` as the real one does."""
    result = {
        "scenarios": [
            dict(zip(("scenario", "outcome", "message"), o, strict=True)) for o in outcomes
        ]
    }
    return [sys.executable, "-c", f"print('starting'); print({json.dumps(result)!r})"]


def test_every_scenario_passing_passes_with_counts() -> None:
    check = run_smoke_tests(None, runner=printing(("one", "passed", ""), ("two", "passed", "")))

    assert (check.name, check.status) == ("smoke_tests", "pass")
    assert check.summary == "smoke scenarios: 2/2 passed, 0 failed, 0 errored"
    assert check.details["scenarios"] == {"one": "passed", "two": "passed"}


def test_a_failing_scenario_fails_the_check_naming_it() -> None:
    runner = printing(("holds", "passed", ""), ("breaks", "failed", "ScenarioFailed: net"))

    check = run_smoke_tests(None, runner=runner)

    assert check.status == "fail"
    assert check.details["scenarios"] == {"holds": "passed", "breaks": "failed"}
    assert check.details["not_passed"] == ["breaks: failed: ScenarioFailed: net"]


def test_a_scenario_that_could_not_run_is_an_error() -> None:
    check = run_smoke_tests(None, runner=printing(("needs_db", "error", "OperationalError: x")))

    assert check.status == "error"
    assert check.summary == "smoke scenarios could not run: 0/1 passed, 0 failed, 1 errored"


def test_no_scenario_at_all_fails() -> None:
    assert run_smoke_tests(None, runner=printing()).status == "fail"


@pytest.mark.parametrize(
    ("script", "said"),
    [
        ("import sys; sys.exit('runner crashed')", "runner crashed"),
        ("print('no json here')", ""),
        ('print(\'{"scenarios": [{"scenario": "x", "outcome": "fine"}]}\')', ""),
    ],
    ids=["crash", "no result", "unknown outcome"],
)
def test_a_runner_without_a_result_is_an_error(script: str, said: str) -> None:
    check = run_smoke_tests(None, runner=[sys.executable, "-c", script])

    assert check.status == "error"
    assert check.summary == f"the smoke runner gave no result: {said}"


def test_a_runner_over_its_time_budget_is_an_error() -> None:
    check = run_smoke_tests(
        None, runner=[sys.executable, "-c", "import time; time.sleep(30)"], timeout_seconds=2
    )

    assert (check.status, check.summary) == ("error", "smoke scenarios did not finish within 2s")


def test_an_unreachable_target_database_is_an_error() -> None:
    scratch = "postgresql://ops@127.0.0.1:1/scratch"
    check = fail_closed("smoke_tests", lambda: run_smoke_tests(scratch, runner=printing()))

    assert check.status == "error"
    assert "DatabaseUnavailable" in check.summary


def test_the_check_refuses_to_run_in_the_ops_database() -> None:
    check = run_smoke_tests(
        "postgresql://ops:pw@DB.internal:5432/ops",
        ops_database_url="postgres://ops:pw@db.internal/ops",
        runner=printing(("one", "passed", "")),
    )

    assert check.status == "error"
    assert "points at the ops database" in check.summary


def test_the_runner_itself_refuses_the_ops_database(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "OPS_TEST_DATABASE_URL": cli_env["OPS_DATABASE_URL"]}

    ran = subprocess.run(
        [sys.executable, "-m", "ops_domain.smoke"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (ran.returncode, ran.stdout) == (2, "")
    assert "is the ops database" in ran.stderr


def _refuses_nothing(engine: Engine, settings: Settings) -> None:
    with expect_refused(InvalidInput, "needs a note"):
        pass


def _raises_midway(engine: Engine, settings: Settings) -> None:
    raise KeyError("status")


def test_the_runner_names_each_scenario_and_how_it_went(migrated_engine: Engine) -> None:
    outcomes = run_scenarios(migrated_engine, [SCENARIOS[0], _refuses_nothing, _raises_midway])

    assert [outcome.to_dict() for outcome in outcomes] == [
        {"scenario": SCENARIOS[0].__name__, "outcome": "passed", "message": ""},
        {
            "scenario": "_refuses_nothing",
            "outcome": "failed",
            "message": "ScenarioFailed: expected InvalidInput, nothing was refused",
        },
        {"scenario": "_raises_midway", "outcome": "failed", "message": "KeyError: 'status'"},
    ]


def test_a_scenario_whose_database_cannot_be_emptied_did_not_run() -> None:
    unreachable = create_engine("postgresql+psycopg2://ops@127.0.0.1:1/scratch")

    outcome = run_scenario(unreachable, SCENARIOS[0])

    assert (outcome.scenario, outcome.outcome) == (SCENARIOS[0].__name__, "error")
    assert outcome.message.startswith("OperationalError: ")


def test_expectations_say_what_differed() -> None:
    with pytest.raises(ScenarioFailed, match=r"net: expected 98, got 97"):
        expect_equal(97, 98, "net")
    with (
        pytest.raises(ScenarioFailed, match=r"does not say 'needs a note'"),
        expect_refused(InvalidInput, "needs a note"),
    ):
        raise InvalidInput("amount must be positive")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def test_the_scenarios_ship_with_the_package_and_the_image_copies_no_tests() -> None:
    shipped = (PROJECT_ROOT / "ops_domain").rglob("*.py")
    reading_tests = [
        path.name
        for path in shipped
        if any(module.split(".")[0] == "tests" for module in _imported_modules(path))
    ]

    assert reading_tests == []
    assert "tests" not in (PROJECT_ROOT / "Dockerfile").read_text().split()


@pytest.mark.slow
def test_cli_runs_the_shipped_scenarios(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPS_TEST_DATABASE_URL", raising=False)

    code, out, _ = cli("run_smoke_tests", "--json")

    result = json.loads(out)
    assert result["details"]["not_passed"] == []
    assert result["details"]["scenarios"] == {s.__name__: "passed" for s in SCENARIOS}
    assert (code, result["status"], len(SCENARIOS)) == (0, "pass", 10)
