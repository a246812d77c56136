"""Running one registered release check as the report and the release DAG run it."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.config import Settings
from ops_domain.runbook.registry import RELEASE_CHECKS_BY_NAME
from tests.support.factories import DEFAULT_TIME

RELEASE = "2026.11.20-1"


def run_registered(
    name: str,
    engine: Engine | None = None,
    settings: Settings | None = None,
    *,
    environment: str = "production",
) -> CheckResult:
    """The registry's check ``name`` (fail-closed) for ``RELEASE`` at ``DEFAULT_TIME``; a check
    that never touches the database may leave ``engine`` out."""
    engine = engine or create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/unused")
    evaluation = Evaluation(engine, settings or Settings(), RELEASE, environment, DEFAULT_TIME)
    return RELEASE_CHECKS_BY_NAME[name].run(evaluation)
