"""The rollback watch: read the four triggers for a release, and act when one fires.

A firing trigger raises one ``critical`` ``rollback_trigger`` alert per (release, trigger) (the
alerts' partial unique index keeps it single across reruns and overlapping runs), marks the
release ``rollback_recommended`` (once, audited) and, when ``OPS_AUTO_FREEZE_ON_ROLLBACK`` is
on, freezes payouts globally with the release and the triggers as the reason (freezing a
frozen scope changes nothing). The freeze comes first: it is what protects money. A dry run
reads the same triggers and reports what it would do, changing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.alerts.service import AlertSpec, raise_alerts
from ops_domain.audit.actions import RELEASE_ROLLBACK_RECOMMENDED
from ops_domain.audit.log import record_audit
from ops_domain.clock import as_utc, utc_now
from ops_domain.config import RollbackPolicy, Settings
from ops_domain.db import transaction
from ops_domain.jobs import JobContext, JobResult, JobSpec, run_job
from ops_domain.jsonable import jsonable
from ops_domain.payouts.freezes import Freeze, freeze_payouts
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT, require_environment
from ops_domain.readiness.gate import require_release_id
from ops_domain.readiness.models import RELEASE_STATES
from ops_domain.rollback.evidence import TriggerReading
from ops_domain.rollback.policy import EMERGENCY_PERMISSION
from ops_domain.rollback.registry import read_triggers
from ops_domain.rollback.releases import WatchedRelease, watched_release

WATCH_JOB = JobSpec("rollback_watch", EMERGENCY_PERMISSION)
ALERT_TYPE = "rollback_trigger"
RECOMMENDED = "rollback_recommended"


@dataclass
class WatchOutcome:
    """What one watch found and did (filled in by the job body)."""

    triggers: list[TriggerReading] = field(default_factory=list)
    alerts_raised: list[dict[str, Any]] = field(default_factory=list)
    release_marked: bool = False
    freeze: Freeze | None = None


@dataclass(frozen=True)
class WatchReport:
    release: WatchedRelease
    checked_at: datetime
    outcome: WatchOutcome
    job: JobResult

    @property
    def firing(self) -> list[TriggerReading]:
        return [reading for reading in self.outcome.triggers if reading.firing]

    @property
    def verdict(self) -> str:
        return RECOMMENDED if self.firing else "ok"

    def to_dict(self) -> dict[str, Any]:
        """The job result's keys plus the release, each trigger and the verdict. A dry run's
        alerts carry no id: it drew ids it rolled back, which no alert will ever have."""
        freeze = self.outcome.freeze
        alerts = self.outcome.alerts_raised
        if self.job.dry_run:
            alerts = [{k: v for k, v in alert.items() if k != "id"} for alert in alerts]
        return jsonable(
            {
                **self.job.to_dict(),
                "release_id": self.release.release_id,
                "released_at": self.release.released_at,
                "watching_since": self.release.watching_since,
                "snapshot_id": self.release.snapshot_id,
                "checked_at": self.checked_at,
                "verdict": self.verdict,
                "triggers": [reading.to_dict() for reading in self.outcome.triggers],
                "alerts_raised": alerts,
                "environment": self.release.environment,
                "release_marked": self.outcome.release_marked,
                "freeze": freeze,
            }
        )


def rollback_watch(
    engine: Engine,
    settings: Settings,
    *,
    release_id: str,
    actor_username: str,
    environment: str = DEFAULT_ENVIRONMENT,
    now: datetime | None = None,
    dry_run: bool = False,
    idempotency_key: str | None = None,
    policy: RollbackPolicy | None = None,
) -> WatchReport:
    """Compare the present with the release's snapshot; on a firing trigger alert, recommend
    the rollback and (when configured) freeze payouts. Rerun-safe: nothing is done twice."""
    release_id = require_release_id(release_id)
    environment = require_environment(environment)
    policy = policy or settings.rollback
    moment = as_utc(now) if now is not None else utc_now()
    with transaction(engine) as session:
        release = watched_release(session, release_id, environment)
    outcome = WatchOutcome()
    result = run_job(
        engine,
        WATCH_JOB,
        actor_username=actor_username,
        parameters={
            "release_id": release_id,
            "environment": environment,
            "now": moment,
            "policy": jsonable(policy),
        },
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        settings=settings,
        body=lambda ctx: _watch(ctx, release, policy, moment, outcome),
    )
    return WatchReport(release, moment, outcome, result)


def _watch(
    ctx: JobContext,
    release: WatchedRelease,
    policy: RollbackPolicy,
    now: datetime,
    outcome: WatchOutcome,
) -> None:
    outcome.triggers = ctx.run_batch(lambda session: read_triggers(session, release, policy, now))
    firing = [reading for reading in outcome.triggers if reading.firing]
    for reading in outcome.triggers:
        ctx.result.messages.append(f"{reading.name}: {reading.status}: {reading.summary}")
    ctx.result.add("triggers_firing", len(firing))
    ctx.result.add_items("firing_triggers", [_headline(reading) for reading in firing])
    if not firing:
        ctx.result.add("alerts_raised", 0)
        return
    if policy.auto_freeze:
        _freeze(ctx, release, firing, outcome)
    outcome.alerts_raised, outcome.release_marked = ctx.run_batch(
        lambda session: _recommend_rollback(session, ctx.actor.id, release, firing)
    )
    ctx.result.add("alerts_raised", len(outcome.alerts_raised))
    ctx.result.add("release_marked", int(outcome.release_marked))


def _headline(reading: TriggerReading) -> dict[str, Any]:
    return {
        "trigger": reading.name,
        "count": reading.evidence.count,
        "first_seen": reading.evidence.first_seen,
    }


def freeze_reason(release: WatchedRelease, firing: list[TriggerReading]) -> str:
    names = ", ".join(reading.name for reading in firing)
    return f"rollback watch: release {release.release_id}: trigger(s) firing: {names}"


def _freeze(
    ctx: JobContext,
    release: WatchedRelease,
    firing: list[TriggerReading],
    outcome: WatchOutcome,
) -> None:
    """Freeze payouts globally (its own transaction, committed before anything else)."""
    if ctx.dry_run:
        ctx.result.messages.append("would freeze payouts globally (OPS_AUTO_FREEZE_ON_ROLLBACK)")
        return
    outcome.freeze = freeze_payouts(
        ctx.engine,
        actor_username=ctx.actor.username,
        reason=freeze_reason(release, firing),
        repeat_ok=True,
    )
    ctx.result.add("payouts_frozen", int(outcome.freeze.newly_set))
    state = "set" if outcome.freeze.newly_set else "already active"
    ctx.result.messages.append(f"global payout freeze #{outcome.freeze.id} {state}")


def alert_specs(release: WatchedRelease, firing: list[TriggerReading]) -> list[AlertSpec]:
    """One critical alert per (release, trigger); the release's row id keeps the target
    within the alerts' 64-character target column whatever the release id's length."""
    return [
        AlertSpec(
            alert_type=ALERT_TYPE,
            severity="critical",
            target_type="release_trigger",
            target_id=f"{release.id}:{reading.name}",
            title=f"Rollback trigger {reading.name} firing after release {release.release_id}",
            message=reading.summary,
        )
        for reading in firing
    ]


def _recommend_rollback(
    session: Session, actor_id: int, release: WatchedRelease, firing: list[TriggerReading]
) -> tuple[list[dict[str, Any]], bool]:
    alerts = raise_alerts(session, alert_specs(release, firing), actor_id=actor_id)
    marked = session.execute(
        text(
            "UPDATE releases SET status = :to WHERE id = :id"
            " AND status = ANY(CAST(:sources AS text[])) RETURNING id"
        ),
        {
            "to": RECOMMENDED,
            "id": release.id,
            "sources": sorted(RELEASE_STATES.sources_of(RECOMMENDED)),
        },
    ).scalar_one_or_none()
    if marked is not None:
        record_audit(
            session,
            actor_id=actor_id,
            action=RELEASE_ROLLBACK_RECOMMENDED,
            target_type="release",
            target_id=release.release_id,
            before={"status": release.status},
            after={"status": RECOMMENDED},
            details={"triggers": [_headline(reading) for reading in firing]},
        )
    return alerts, marked is not None
