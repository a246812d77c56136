"""One registry of release checks: the report, the gate and the DAG's groups read it."""

from __future__ import annotations

from sqlalchemy import create_engine

from ops_domain.config import Settings
from ops_domain.readiness.gate import RUNBOOK_CHECKS
from ops_domain.readiness.registry import CHECK_NAMES, READINESS_CHECKS, check_groups
from ops_domain.readiness.report import SnapshotCheck, readiness_checks
from tests.support.factories import DEFAULT_TIME


def test_every_check_is_registered_once_and_grouped() -> None:
    assert len(set(CHECK_NAMES)) == len(READINESS_CHECKS)
    assert check_groups() == {
        "database": ("migrations", "rbac", "db_isolation"),
        "business_state": ("readiness_snapshot", "data_quality"),
        "platform": ("keycloak_hardening", "metrics"),
        "end_to_end": ("smoke_tests",),
    }


def test_the_report_and_the_gate_run_exactly_the_registered_checks_in_order() -> None:
    engine = create_engine("postgresql+psycopg2://nobody@/nowhere")  # never connected
    snapshot = SnapshotCheck(engine, "r1", "staging", DEFAULT_TIME)

    named = readiness_checks(engine, Settings.from_env(), {}, snapshot)

    assert [name for name, _ in named] == list(CHECK_NAMES) == list(RUNBOOK_CHECKS)
