"""Releasing through the real gate in tests: every runbook check, the real readiness snapshot."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.readiness.gate import GateVerdict
from ops_domain.readiness.snapshot import CHECK_NAME, take_snapshot
from ops_domain.runbook.registry import CHECK_NAMES, RELEASE_CHECKS
from ops_domain.runbook.report import record_release_verdict

# the release DAG's check tasks (group.check), as the registry declares them
CHECK_TASKS = frozenset(f"{check.group}.{check.name}" for check in RELEASE_CHECKS)


def release_through_gate(
    engine: Engine,
    release_id: str,
    *,
    actor_username: str,
    now: datetime,
    environment: str = "production",
) -> GateVerdict:
    """Store a gate verdict whose readiness snapshot is measured on the database as it is
    (with the release's approved waivers); the other runbook checks pass. The release is
    marked released only if the snapshot passes, exactly as the gate decides."""
    with transaction(engine) as session:
        snapshot = take_snapshot(session, release_id=release_id, environment=environment, now=now)
    checks = [
        snapshot.as_check() if name == CHECK_NAME else CheckResult(name, "pass", f"{name} ok")
        for name in CHECK_NAMES
    ]
    evaluation = Evaluation(engine, Settings(), release_id, environment, now)
    return record_release_verdict(evaluation, actor_username=actor_username, checks=checks).verdict
