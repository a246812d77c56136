"""Emergency actions after a bad release (SPEC 1 and 7), for risk, operation, admin, super_admin.

Freezing and lifting payout freezes are ``ops_domain.payouts.freezes`` as they are (a freeze
needs a reason; only a checker other than its setter lifts it). Here: opening the incident
case, the targeted reconciliation and settlement backfill, and recording the rollback
decision. An emergency never widens anyone's rights: a reconciliation or a backfill run in an
emergency also needs the rights of that job, so it is what the job itself would do, audited
the same way, with its exactly-once and rerun guarantees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import RELEASE_ROLLED_BACK
from ops_domain.audit.log import record_audit
from ops_domain.cases.service import insert_case, require_choice, require_text
from ops_domain.clock import as_utc, utc_now
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput
from ops_domain.jobs import JobResult
from ops_domain.merchants.directory import merchant_by_code
from ops_domain.rbac.actors import Actor, require_actor
from ops_domain.rbac.names import name_actors
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT, require_environment
from ops_domain.readiness.gate import require_release_id
from ops_domain.readiness.models import RELEASE_STATES
from ops_domain.reconciliation.runs import reconcile
from ops_domain.reconciliation.statements import ExternalStatement
from ops_domain.rollback.emergency_actions import emergency_permission
from ops_domain.rollback.policy import (
    INCIDENT_SLA_HOURS,
    MAX_INCIDENT_SLA_HOURS,
)
from ops_domain.rollback.registry import INCIDENT_TRIGGERS
from ops_domain.rollback.releases import load_release
from ops_domain.settlement_automation import automate_settlements

INCIDENT_TEAMS = ("risk", "operation")
ACTIVE_CASE_STATES = ("open", "in_progress", "escalated")
# Namespace of the per-(release, trigger) advisory lock that keeps one incident open.
INCIDENT_LOCK_SPACE = 4_517_007
ROLLED_BACK = "rolled_back"


def require_emergency_actor(session: Session, actor_username: str, action: str) -> Actor:
    return require_actor(
        session, actor_username, emergency_permission(action), f"emergency {action}"
    )


def open_incident(
    engine: Engine,
    *,
    actor_username: str,
    release_id: str | None,
    trigger: str,
    title: str | None = None,
    sla_hours: int = INCIDENT_SLA_HOURS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Open a ``critical`` ``incident`` case, assigned to the teams risk AND operation, due in
    ``sla_hours``: for any release id (a hotfix, a release never gated here) or for none (then
    it needs a title). While an incident for the same release and trigger is active (open, in
    progress or escalated) it is returned instead (``newly_opened`` False)."""
    release_id = require_release_id(release_id) if release_id is not None else None
    require_choice(trigger, INCIDENT_TRIGGERS, "trigger")
    if release_id is None and not title:
        raise InvalidInput("an incident without a release id needs a title (--title)")
    if not 1 <= sla_hours <= MAX_INCIDENT_SLA_HOURS:
        raise InvalidInput(f"sla_hours must be 1..{MAX_INCIDENT_SLA_HOURS}, got {sla_hours}")
    moment = as_utc(now) if now is not None else utc_now()
    with transaction(engine) as session:
        actor = require_emergency_actor(session, actor_username, "open_incident")
        if release_id is not None:
            session.execute(
                text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"),
                {"space": INCIDENT_LOCK_SPACE, "key": f"{release_id}\n{trigger}"},
            )
            active = _active_incident(session, release_id, trigger)
            if active is not None:
                return name_actors(session, {**active, "newly_opened": False})
        case = insert_case(
            session,
            actor_id=actor.id,
            case_type="incident",
            priority="critical",
            title=require_text(title, "title") if title else f"Release {release_id}: {trigger}",
            teams=INCIDENT_TEAMS,
            sla_due_at=moment + timedelta(hours=sla_hours),
            release_id=release_id,
            trigger=trigger,
        )
        return name_actors(session, {**case, "newly_opened": True})


def _active_incident(session: Session, release_id: str, trigger: str) -> dict[str, Any] | None:
    row = session.execute(
        text(
            """
            SELECT c.*, array_agg(r.name ORDER BY r.name) AS teams
              FROM cases c
              JOIN case_assignments a ON a.case_id = c.id
              JOIN roles r ON r.id = a.role_id
             WHERE c.case_type = 'incident' AND c.release_id = :release_id
               AND c.trigger = :trigger AND c.status = ANY(CAST(:active AS text[]))
             GROUP BY c.id
             ORDER BY c.id
             LIMIT 1
            """
        ),
        {"release_id": release_id, "trigger": trigger, "active": list(ACTIVE_CASE_STATES)},
    ).first()
    return None if row is None else row._asdict()


def targeted_reconciliation(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    window_start: date,
    window_end: date,
    statement: ExternalStatement,
    currency: str | None = None,
    merchant_code: str | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Re-run reconciliation for a merchant and/or a currency over a window against the
    supplied statement, opening a break per mismatch not already open. Without a currency,
    the merchant's settlement currency is reconciled."""
    if currency is None and merchant_code is None:
        raise InvalidInput("a targeted reconciliation needs a currency, a merchant or both")
    with transaction(engine) as session:
        require_emergency_actor(session, actor_username, "targeted_reconciliation")
        currency = currency or merchant_by_code(session, merchant_code or "").settlement_currency
    return reconcile(
        engine,
        settings,
        actor_username=actor_username,
        currency=currency,
        window_start=window_start,
        window_end=window_end,
        statement=statement,
        merchant_code=merchant_code,
        now=now,
        dry_run=dry_run,
    )


def backfill_settlements(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    period_start: date | str | None,
    period_end: date | str | None,
    currency: str | None = None,
    create_payouts: bool = False,
    now: datetime | None = None,
    dry_run: bool = False,
    idempotency_key: str | None = None,
) -> JobResult:
    """Settle a past window with the settlement job itself: every event still exactly once,
    payouts (when asked) only for what this backfill settled, still held by any active freeze.
    The window must be explicit; it may be longer than a daily run's (no
    ``OPS_SETTLEMENT_MAX_WINDOW_DAYS`` cap) but never end after the current business date."""
    if period_start is None or period_end is None:
        raise InvalidInput("a settlement backfill needs both period_start and period_end")
    with transaction(engine) as session:
        require_emergency_actor(session, actor_username, "backfill_settlements")
    return automate_settlements(
        engine,
        settings,
        actor_username=actor_username,
        period_start=period_start,
        period_end=period_end,
        currency=currency,
        create_payouts=create_payouts,
        backfill=True,
        now=now,
        dry_run=dry_run,
        idempotency_key=idempotency_key,
    )


@dataclass(frozen=True)
class RollbackDecision:
    """The recorded decision to restore the previous release, and what people do next."""

    release_id: str
    environment: str
    status: str
    reason: str
    decided_by: str
    decided_at: datetime
    newly_recorded: bool
    previous_release: str | None
    next_steps: list[str] = field(default_factory=list)

    def text(self) -> str:
        state = "recorded" if self.newly_recorded else "was already recorded"
        lines = [
            f"rollback of release {self.release_id} ({self.environment}) {state}: decided by"
            f" {self.decided_by}"
            f" at {self.decided_at.isoformat()}: {self.reason}",
            "The deploy itself happens outside this platform. Next steps:",
        ]
        lines += [f"  {number}. {step}" for number, step in enumerate(self.next_steps, start=1)]
        return "\n".join(lines)


def record_rollback(
    engine: Engine,
    *,
    release_id: str,
    reason: str,
    actor_username: str,
    environment: str = DEFAULT_ENVIRONMENT,
    now: datetime | None = None,
) -> RollbackDecision:
    """Mark a released (or rollback-recommended) release of ``environment`` ``rolled_back``
    with the reason and who decided, audited. Recording it again returns the first decision
    unchanged."""
    release_id = require_release_id(release_id)
    environment = require_environment(environment)
    if not (reason and reason.strip()):
        raise InvalidInput("recording a rollback needs a reason")
    moment = as_utc(now) if now is not None else utc_now()
    with transaction(engine) as session:
        actor = require_emergency_actor(session, actor_username, "record_rollback")
        release = load_release(session, release_id, environment, lock=True)
        newly = release["status"] != ROLLED_BACK
        if newly:
            RELEASE_STATES.check(release["status"], ROLLED_BACK, reason)
            _mark_rolled_back(session, actor, release, reason.strip(), moment)
        decision = _decision(session, release["id"])
        previous = _previous_release(session, release["id"])
        return RollbackDecision(
            **decision,
            newly_recorded=newly,
            previous_release=previous["release_id"] if previous else None,
            next_steps=next_steps(session, release_id, environment, previous),
        )


def _mark_rolled_back(
    session: Session, actor: Actor, release: dict[str, Any], reason: str, moment: datetime
) -> None:
    session.execute(
        text(
            "UPDATE releases SET status = :to, decision_note = :reason, decided_by = :actor,"
            " decided_at = :at WHERE id = :id"
        ),
        {"to": ROLLED_BACK, "reason": reason, "actor": actor.id, "at": moment, "id": release["id"]},
    )
    record_audit(
        session,
        actor_id=actor.id,
        action=RELEASE_ROLLED_BACK,
        target_type="release",
        target_id=release["release_id"],
        before={"status": release["status"]},
        after={"status": ROLLED_BACK, "decided_at": moment},
        details={"reason": reason},
    )


def _decision(session: Session, release_row_id: int) -> dict[str, Any]:
    row = session.execute(
        text(
            """
            SELECT r.release_id, r.environment, r.status, r.decision_note AS reason,
                   u.username AS decided_by, r.decided_at
              FROM releases r JOIN users u ON u.id = r.decided_by
             WHERE r.id = :id
            """
        ),
        {"id": release_row_id},
    ).one()
    return row._asdict()


def _previous_release(session: Session, release_row_id: int) -> dict[str, Any] | None:
    """The latest other release of the same environment that is still ``released`` and was
    released before this one."""
    row = session.execute(
        text(
            """
            SELECT p.release_id, p.released_at, p.released_snapshot_id
              FROM releases r
              JOIN releases p ON p.environment = r.environment AND p.id <> r.id
             WHERE r.id = :id AND p.status = 'released'
               AND p.released_at < r.released_at
             ORDER BY p.released_at DESC, p.id DESC
             LIMIT 1
            """
        ),
        {"id": release_row_id},
    ).first()
    return None if row is None else row._asdict()


def next_steps(
    session: Session, release_id: str, environment: str, previous: dict[str, Any] | None
) -> list[str]:
    """The runbook after the decision, naming the real releases, freezes and incidents."""
    freezes = session.execute(
        text(
            """
            SELECT f.id, coalesce('merchant ' || m.code, 'global') AS scope
              FROM payout_freezes f LEFT JOIN merchants m ON m.id = f.merchant_id
             WHERE f.lifted_at IS NULL ORDER BY f.id
            """
        )
    ).all()
    incidents = session.scalars(
        text(
            "SELECT case_no FROM cases WHERE case_type = 'incident' AND release_id = :release_id"
            " AND status = ANY(CAST(:active AS text[])) ORDER BY id"
        ),
        {"release_id": release_id, "active": list(ACTIVE_CASE_STATES)},
    ).all()
    return [
        _redeploy_step(release_id, previous),
        "After the redeploy, evaluate what runs: python -m ops_domain release_readiness_report"
        f" --release-id {previous['release_id'] if previous else '<previous release>'}"
        f" --environment {environment}"
        " --actor-username <you> (it also checks the database schema against the code).",
        _freeze_step(freezes),
        _incident_step(release_id, incidents),
    ]


def _redeploy_step(release_id: str, previous: dict[str, Any] | None) -> str:
    if previous is None:
        return (
            f"Redeploy the release that preceded {release_id} from your deployment pipeline's"
            " history (no earlier release of this environment is recorded here)."
        )
    released_at = previous["released_at"].isoformat()
    return (
        f"Redeploy release {previous['release_id']} (released {released_at}, gate snapshot"
        f" #{previous['released_snapshot_id']}) with your deployment pipeline."
    )


def _freeze_step(freezes: list[Any]) -> str:
    if not freezes:
        return (
            "No payout freeze is active. To stop payouts until the redeploy is verified:"
            " python -m ops_domain emergency freeze_payouts --reason '...' --actor-username <you>"
        )
    listed = ", ".join(f"#{row.id} ({row.scope})" for row in freezes)
    return (
        f"Payout freeze(s) {listed} stay active until reconciliation is clean; each is lifted by"
        " a checker other than its setter: python -m ops_domain emergency lift_payout_freeze"
        " --freeze-id N --note '...' --actor-username <checker>"
    )


def _incident_step(release_id: str, incidents: list[str]) -> str:
    if not incidents:
        return (
            "Open the incident for the record: python -m ops_domain emergency open_incident"
            f" --release-id {release_id} --trigger manual --actor-username <you>"
        )
    return (
        f"Note the rollback on incident case(s) {', '.join(incidents)} and resolve them once the"
        " rollback watch of the restored release stays quiet."
    )
