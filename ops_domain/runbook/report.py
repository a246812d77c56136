"""The full release-readiness report: every runbook check in order, then the verdict.

Each check runs through its registry entry (fail-closed, once). The verdict over them is
decided and stored by ``record_release_verdict``, which the release DAG's gate task calls too:
both read the counters and waivers from the snapshot check's result (``GateEvidence.of``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.clock import utc_now
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.rbac.actors import require_actor
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT, require_environment
from ops_domain.readiness.gate import (
    GATE_PERMISSION,
    GateReport,
    could_not_evaluate,
    record_gate_verdict,
    require_release_id,
)
from ops_domain.readiness.snapshot import GateEvidence
from ops_domain.runbook.registry import CHECK_NAMES, RELEASE_CHECKS


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


def release_readiness_report(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str | None = None,
    release_id: str,
    environment: str = DEFAULT_ENVIRONMENT,
    now: datetime | None = None,
) -> ReportResult:
    """Run every check (fail closed), then decide and store the verdict as the gate does.
    The actor is checked first: a wrong actor is refused before any check touches anything."""
    actor_username = actor_username or settings.service_actor
    release_id = require_release_id(release_id)
    evaluation = Evaluation(
        engine, settings, release_id, require_environment(environment), now or utc_now()
    )
    with could_not_evaluate(release_id), transaction(engine) as session:
        require_actor(session, actor_username, GATE_PERMISSION, "release readiness report")
    checks = [check.run(evaluation) for check in RELEASE_CHECKS]
    with could_not_evaluate(release_id):
        gate = record_release_verdict(evaluation, actor_username=actor_username, checks=checks)
    return ReportResult(checks, gate, evaluation.environment)


def record_release_verdict(
    evaluation: Evaluation, *, actor_username: str, checks: Sequence[CheckResult]
) -> GateReport:
    """Decide and store the verdict over every registered check (refused unless ``checks``
    name each exactly once); a ready verdict releases the release in its environment."""
    evidence = GateEvidence.of(checks)
    verdict = record_gate_verdict(
        evaluation.engine,
        actor_username=actor_username,
        release_id=evaluation.release_id,
        environment=evaluation.environment,
        checks=checks,
        evidence=evidence,
        now=evaluation.now,
        runbook=CHECK_NAMES,
    )
    return GateReport(verdict, evidence)
