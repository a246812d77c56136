"""One registry of release checks: the report, the verdict and the DAG's groups read it."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import create_engine

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.config import Settings
from ops_domain.runbook.registry import (
    CHECK_NAMES,
    RELEASE_CHECKS,
    RELEASE_CHECKS_BY_NAME,
    check_groups,
)
from tests.support.factories import DEFAULT_TIME

NOWHERE = create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/nowhere")


def evaluation() -> Evaluation:
    return Evaluation(NOWHERE, Settings(), "r1", "staging", DEFAULT_TIME)


def test_every_check_is_registered_once_and_grouped() -> None:
    assert len(set(CHECK_NAMES)) == len(RELEASE_CHECKS)
    assert {group: tuple(c.name for c in checks) for group, checks in check_groups().items()} == {
        "database": ("migrations", "rbac", "db_isolation"),
        "business_state": ("readiness_snapshot", "data_quality"),
        "platform": ("keycloak_hardening", "metrics"),
        "end_to_end": ("smoke_tests",),
    }


def test_a_check_that_raises_is_an_error_under_its_registered_name() -> None:
    def lost(evaluation: Evaluation) -> CheckResult:
        raise ConnectionError("no route to 127.0.0.1:1\nsecond line with a password")

    check = replace(RELEASE_CHECKS_BY_NAME["migrations"], check=lost)

    result = check.run(evaluation())

    assert (result.name, result.status) == ("migrations", "error")
    assert result.summary == "ConnectionError: no route to 127.0.0.1:1"


def test_a_result_under_another_name_is_an_error_never_renamed() -> None:
    check = replace(
        RELEASE_CHECKS_BY_NAME["rbac"],
        check=lambda evaluation: CheckResult("rbac_v2", "pass", "all good"),
    )

    result = check.run(evaluation())

    assert (result.name, result.status) == ("rbac", "error")
    assert "rbac_v2" in result.summary


def test_every_registered_check_reports_under_its_name_even_when_nothing_is_reachable() -> None:
    skipped = {"smoke_tests"}  # runs a pytest child: covered by test_readiness_smoke
    results = [check.run(evaluation()) for check in RELEASE_CHECKS if check.name not in skipped]

    assert [r.name for r in results] == [n for n in CHECK_NAMES if n not in skipped]
    assert all(r.status in {"error", "fail"} for r in results)
