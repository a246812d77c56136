"""The full release-readiness report: every runbook check in order, then the gate's verdict.

Each check runs wrapped in ``fail_closed`` (an exception is an ``error``, never a pass); the
checks other capabilities own are imported when they run, so a missing module is an error
too. The verdict is decided and stored by ``record_gate_verdict``, the same as the gate's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from ops_domain.checks import CheckResult, fail_closed
from ops_domain.clock import utc_now
from ops_domain.config import Settings
from ops_domain.db import OPS_DATABASE_ENV, transaction
from ops_domain.rbac.actors import require_actor
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT, require_environment
from ops_domain.readiness.gate import (
    GATE_PERMISSION,
    GateReport,
    could_not_evaluate,
    record_gate_verdict,
    require_release_id,
)
from ops_domain.readiness.isolation import check_db_isolation
from ops_domain.readiness.migrations_check import check_migrations
from ops_domain.readiness.rbac_check import check_rbac
from ops_domain.readiness.registry import READINESS_CHECKS
from ops_domain.readiness.smoke import TEST_DATABASE_ENV, run_smoke_tests
from ops_domain.readiness.snapshot import CHECK_NAME as SNAPSHOT_CHECK
from ops_domain.readiness.snapshot import ReadinessSnapshot, gate_evidence, take_snapshot

METRICS_URL_ENV = "OPS_METRICS_URL"
DEFAULT_METRICS_URL = "http://127.0.0.1:9464/metrics"
PROMETHEUS_URL_ENV = "OPS_PROMETHEUS_URL"
METRICS_TOKEN_ENV = "OPS_METRICS_TOKEN"  # noqa: S105 (the setting's name, not a secret)
ISOLATION_STRICT_ENV = "OPS_DB_ISOLATION_STRICT"

NamedCheck = tuple[str, Callable[[], CheckResult]]


@dataclass
class SnapshotCheck:
    """The readiness-snapshot check, keeping the snapshot for the verdict's counters."""

    engine: Engine
    release_id: str
    environment: str
    now: datetime
    taken: ReadinessSnapshot | None = None

    def __call__(self) -> CheckResult:
        with transaction(self.engine) as session:
            self.taken = take_snapshot(
                session, release_id=self.release_id, environment=self.environment, now=self.now
            )
        return self.taken.as_check()


@dataclass(frozen=True)
class ReportResult:
    """Every check's result and the verdict stored for them."""

    checks: list[CheckResult]
    gate: GateReport
    environment: str

    @property
    def is_ready(self) -> bool:
        return self.gate.is_ready

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.gate.to_dict(),
            "environment": self.environment,
            "snapshot_id": self.gate.verdict.snapshot_id,
            "checks": [check.to_dict() for check in self.checks],
        }

    def table(self) -> str:
        """One row per check (status, summary) under a headline with the verdict."""
        verdict = self.gate.verdict
        headline = (
            f"release {verdict.release_id} ({self.environment}):"
            f" {'READY' if self.is_ready else 'NOT READY'}"
            f" [snapshot #{verdict.snapshot_id}, {verdict.generated_at.isoformat()}]"
        )
        width = max(len(check.name) for check in self.checks)
        rows = [f"{'check'.ljust(width)}  status  summary"]
        rows += [
            f"{check.name.ljust(width)}  {check.status.ljust(6)}  {check.summary}"
            for check in self.checks
        ]
        return "\n".join([headline, *rows])


def readiness_checks(
    engine: Engine, settings: Settings, env: Mapping[str, str], snapshot: SnapshotCheck
) -> list[NamedCheck]:
    """The registry's checks in its order, each with its runner (a check without one is a
    ``KeyError`` here, found by the first report, never a silently skipped check)."""
    ops_url = env.get(OPS_DATABASE_ENV) or engine.url.render_as_string(hide_password=False)
    runners: dict[str, Callable[[], CheckResult]] = {
        "migrations": lambda: check_migrations(engine),
        "rbac": lambda: check_rbac(engine),
        "db_isolation": lambda: check_db_isolation(env, strict=_strict_isolation(env)),
        SNAPSHOT_CHECK: snapshot,
        "keycloak_hardening": lambda: _keycloak_hardening(env),
        "metrics": lambda: _metrics(env),
        "smoke_tests": lambda: run_smoke_tests(
            env.get(TEST_DATABASE_ENV) or None, ops_database_url=ops_url
        ),
        "data_quality": lambda: _data_quality(engine, settings),
    }
    return [(check.name, runners[check.name]) for check in READINESS_CHECKS]


def release_readiness_report(
    engine: Engine,
    settings: Settings,
    env: Mapping[str, str],
    *,
    actor_username: str | None = None,
    release_id: str,
    environment: str = DEFAULT_ENVIRONMENT,
    now: datetime | None = None,
) -> ReportResult:
    """Run every check (fail closed), then decide and store the verdict as the gate does.
    The actor is checked first: a wrong actor is refused before any check touches anything."""
    now = now or utc_now()
    actor_username = actor_username or settings.service_actor
    release_id = require_release_id(release_id)
    environment = require_environment(environment)
    with could_not_evaluate(release_id), transaction(engine) as session:
        require_actor(session, actor_username, GATE_PERMISSION, "release readiness report")
    snapshot = SnapshotCheck(engine, release_id, environment, now)
    checks = [
        run_registered(name, run) for name, run in readiness_checks(engine, settings, env, snapshot)
    ]
    stored, waivers = gate_evidence(checks)
    counters = snapshot.taken.blocking_counts() if snapshot.taken else {}
    with could_not_evaluate(release_id):
        verdict = record_gate_verdict(
            engine,
            actor_username=actor_username,
            release_id=release_id,
            environment=environment,
            checks=checks,
            counters=stored,
            waivers=waivers,
            now=now,
        )
    taken = snapshot.taken
    failed = taken.counters_with("fail") if taken else []
    waived = taken.counters_with("waived") if taken else []
    counted = taken.counted() if taken else {}
    gate = GateReport(verdict, counters, waivers, failed, waived, counted)
    return ReportResult(checks, gate, environment)


def run_registered(name: str, run: Callable[[], CheckResult]) -> CheckResult:
    """One registered check as the CLI report and the gate's task both run it: fail-closed
    (a runner that cannot even import its module is an ``error``), under the registry's name
    whatever the module returned."""
    result = fail_closed(name, run)
    if result.name != name:
        return CheckResult(name, result.status, result.summary, result.details)
    return result


def _strict_isolation(env: Mapping[str, str]) -> bool:
    return (env.get(ISOLATION_STRICT_ENV) or "1").strip().lower() not in {"0", "false", "no"}


def _keycloak_hardening(env: Mapping[str, str]) -> CheckResult:
    from ops_domain.readiness.keycloak import check_keycloak_hardening_result

    return check_keycloak_hardening_result(env)


def _metrics(env: Mapping[str, str]) -> CheckResult:
    from ops_domain.metrics.check import check_metrics_result

    return check_metrics_result(
        env.get(METRICS_URL_ENV) or DEFAULT_METRICS_URL,
        prometheus_url=env.get(PROMETHEUS_URL_ENV) or None,
        token=env.get(METRICS_TOKEN_ENV) or None,
    )


def _data_quality(engine: Engine, settings: Settings) -> CheckResult:
    from ops_domain.data_quality.service import data_quality_check

    return data_quality_check(engine, settings)
