"""The release gate: the one place that turns check results into a verdict and stores it.

Ready only if every check passed or was waived; an ``error`` check (target unreachable, an
exception) makes the verdict ``error``, which is never ready. Every evaluation is stored as a
release snapshot (who, when, each check, the counters, the waivers applied). Only a ready
verdict over every runbook check (``runbook.report.record_release_verdict`` passes the
registry's names) marks the release ``released`` in its environment (once): the counters-only
gate is evidence, not a release decision. When the evaluation itself cannot run
or be stored, the gate raises ``ReadinessNotEvaluated``: no answer is never a yes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ops_domain.audit.actions import RELEASE_GATE_EVALUATED, RELEASE_RELEASED
from ops_domain.audit.log import record_audit
from ops_domain.checks import CheckResult
from ops_domain.clock import utc_now
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.errors import InfrastructureError, InvalidInput, ReadinessNotEvaluated
from ops_domain.jsonable import jsonable
from ops_domain.rbac.actors import Actor, require_actor
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT, require_environment
from ops_domain.readiness.models import READINESS_COUNTERS, ReleaseSnapshot
from ops_domain.readiness.snapshot import GateEvidence, take_snapshot

GATE_PERMISSION = "release.gate"
GATE_JSON_KEYS = (
    "is_ready",
    "failed_checks",
    "waived_checks",
    "pending_refunds",
    "failed_payouts",
    "open_recon_breaks",
    "open_high_alerts",
    "waivers",
    "release_id",
    "generated_at",
    "failed_counters",
    "waived_counters",
    "verdict",
    "counted",
    "waived",
)
# Only a candidate becomes released here: a release under a rollback recommendation is a
# person's decision, not something a later green gate run may quietly undo.
MARK_RELEASED_SQL = text(
    """
    INSERT INTO releases (release_id, environment, status, released_snapshot_id, released_at,
                          decided_by, decided_at, created_at)
    VALUES (:release_id, :environment, 'released', :snapshot_id, :now, :actor_id, :now, :now)
    ON CONFLICT (release_id, environment) DO UPDATE
       SET status = 'released', released_snapshot_id = EXCLUDED.released_snapshot_id,
           released_at = EXCLUDED.released_at, decided_by = EXCLUDED.decided_by,
           decided_at = EXCLUDED.decided_at
     WHERE releases.status = 'candidate'
    RETURNING id
    """
)


@dataclass(frozen=True)
class GateVerdict:
    """What one evaluation decided, and the snapshot that is its evidence."""

    snapshot_id: int
    verdict: str
    failed_checks: list[str]
    waived_checks: list[str]
    release_id: str
    generated_at: datetime
    released: bool

    @property
    def is_ready(self) -> bool:
        return self.verdict == "ready"


@dataclass(frozen=True)
class GateReport:
    """The gate's answer: the verdict with the counters and waivers it rests on.

    ``failed_checks`` / ``waived_checks`` name the checks the verdict was decided over (the
    gate's checks are the four counters, SPEC 5.4; the full report's are the runbook checks);
    ``failed_counters`` / ``waived_counters`` always name counters.
    """

    verdict: GateVerdict
    evidence: GateEvidence

    @property
    def counters(self) -> dict[str, int]:
        return self.evidence.blocking

    @property
    def counted(self) -> dict[str, int]:
        return self.evidence.counted

    @property
    def waivers(self) -> list[dict[str, Any]]:
        return self.evidence.waivers

    @property
    def waived(self) -> dict[str, int]:
        """Per counter, the items the waivers lifted: counted minus still blocking."""
        return {
            name: self.counted.get(name, 0) - self.counters.get(name, 0)
            for name in READINESS_COUNTERS
        }

    @property
    def is_ready(self) -> bool:
        return self.verdict.is_ready

    def to_dict(self) -> dict[str, Any]:
        """Exactly the documented gate keys (``GATE_JSON_KEYS``: the SPEC's, then the counter
        lists, the verdict, and the raw and waived counts beside the blocking ones)."""
        return jsonable(
            {
                "is_ready": self.is_ready,
                "failed_checks": self.verdict.failed_checks,
                "waived_checks": self.verdict.waived_checks,
                **{name: self.counters.get(name) for name in GATE_JSON_KEYS[3:7]},
                "waivers": self.waivers,
                "release_id": self.verdict.release_id,
                "generated_at": self.verdict.generated_at,
                "failed_counters": self.evidence.failed_counters,
                "waived_counters": self.evidence.waived_counters,
                "verdict": self.verdict.verdict,
                "counted": {name: self.counted.get(name, 0) for name in READINESS_COUNTERS},
                "waived": self.waived,
            }
        )


def require_named_once(checks: Sequence[CheckResult], expected: Sequence[str]) -> None:
    """Evidence names each expected check exactly once; any other set of names is refused,
    so a gate that ran other checks than it should never stores a verdict."""
    names = sorted(check.name for check in checks)
    if names != sorted(expected):
        raise InvalidInput(
            f"gate evidence names the checks {', '.join(names) or 'none'}: it must name each"
            f" of {', '.join(expected)} once"
        )


def decide_verdict(checks: Sequence[CheckResult]) -> tuple[str, list[str], list[str]]:
    """(verdict, failed check names, waived check names); no checks at all is an error."""
    failed = [check.name for check in checks if not check.passed]
    waived = [check.name for check in checks if check.status == "waived"]
    if not checks or any(check.status == "error" for check in checks):
        return "error", failed, waived
    return ("not_ready" if failed else "ready"), failed, waived


def record_gate_verdict(
    engine: Engine,
    *,
    actor_username: str,
    release_id: str,
    environment: str,
    checks: Sequence[CheckResult],
    evidence: GateEvidence,
    now: datetime,
    runbook: Sequence[str] = (),
) -> GateVerdict:
    """Decide and store the snapshot (audited). ``runbook`` names the registry's checks when
    ``checks`` are the full runbook's: then a ready verdict marks a candidate release
    released. Without it the checks must be the readiness counters (the counters-only gate).
    """
    require_named_once(checks, runbook or READINESS_COUNTERS)
    verdict, failed, waived = decide_verdict(checks)
    with could_not_evaluate(release_id), transaction(engine) as session:
        actor = require_actor(session, actor_username, GATE_PERMISSION, "release gate")
        snapshot = ReleaseSnapshot(
            release_id=release_id,
            environment=environment,
            actor_id=actor.id,
            checks=[check.to_dict() for check in checks],
            counters=jsonable(evidence.stored_counters()),
            waivers_applied=jsonable(evidence.waivers),
            verdict=verdict,
            created_at=now,
        )
        session.add(snapshot)
        session.flush()
        record_audit(
            session,
            actor_id=actor.id,
            action=RELEASE_GATE_EVALUATED,
            target_type="release",
            target_id=release_id,
            after={"snapshot_id": snapshot.id, "verdict": verdict, "failed_checks": failed},
            details={"environment": environment, "waived_checks": waived},
        )
        released = False
        if verdict == "ready" and runbook:
            released = _mark_released(
                session,
                actor,
                release_id=release_id,
                environment=environment,
                snapshot_id=snapshot.id,
                now=now,
            )
        return GateVerdict(snapshot.id, verdict, failed, waived, release_id, now, released)


def release_readiness_gate(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str | None = None,
    release_id: str,
    environment: str = DEFAULT_ENVIRONMENT,
    now: datetime | None = None,
) -> GateReport:
    """Runbook step 4: evaluate the readiness counters with the release's approved waivers,
    store the evaluation, and answer ready or not. The actor defaults to the service account."""
    now = now or utc_now()
    actor_username = actor_username or settings.service_actor
    release_id = require_release_id(release_id)
    environment = require_environment(environment)
    with could_not_evaluate(release_id), transaction(engine) as session:
        require_actor(session, actor_username, GATE_PERMISSION, "release gate")
        snapshot = take_snapshot(session, release_id=release_id, environment=environment, now=now)
    evidence = snapshot.evidence()
    verdict = record_gate_verdict(
        engine,
        actor_username=actor_username,
        release_id=release_id,
        environment=environment,
        checks=snapshot.counter_checks(),
        evidence=evidence,
        now=now,
    )
    return GateReport(verdict, evidence)


def require_release_id(release_id: str | None) -> str:
    if not (release_id and release_id.strip()):
        raise InvalidInput("a release id is required (e.g. --release-id 2026.11.24-1)")
    if len(release_id.strip()) > 100:
        raise InvalidInput("a release id is at most 100 characters")
    return release_id.strip()


@contextmanager
def could_not_evaluate(release_id: str) -> Iterator[None]:
    """A lost database or a failing statement means no verdict, reported as such."""
    try:
        yield
    except (SQLAlchemyError, InfrastructureError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReadinessNotEvaluated(
            f"could not evaluate release {release_id}: {first_line}"[:300]
        ) from exc


def _mark_released(
    session: Session,
    actor: Actor,
    *,
    release_id: str,
    environment: str,
    snapshot_id: int,
    now: datetime,
) -> bool:
    released = session.execute(
        MARK_RELEASED_SQL,
        {
            "release_id": release_id,
            "environment": environment,
            "snapshot_id": snapshot_id,
            "actor_id": actor.id,
            "now": now,
        },
    ).scalar_one_or_none()
    if released is not None:
        record_audit(
            session,
            actor_id=actor.id,
            action=RELEASE_RELEASED,
            target_type="release",
            target_id=release_id,
            after={"status": "released", "released_snapshot_id": snapshot_id},
        )
    return released is not None
