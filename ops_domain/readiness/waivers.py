"""Approved exceptions: a maker requests a waiver of a readiness counter, a checker decides.

A waiver names the items it lifts (each must exist and currently count toward the counter) or
allows up to a count, never more than the items blocking that counter now (a waiver is for the
blockers someone looked at, not a blank cheque for future ones: at approval it is stamped with
the items blocking then, and covers no others); it belongs to one release in one environment
and expires at most ``OPS_WAIVER_MAX_DAYS`` (default 14) days ahead. The approver holds a checker
role and is not the requester; approving needs a note and an unexpired waiver whose count still
fits the blockers. Every request and decision is audited; a refused self-approval is recorded
as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import (
    WAIVER_APPROVE,
    WAIVER_APPROVE_REFUSED,
    WAIVER_REJECT,
    WAIVER_REJECT_REFUSED,
    WAIVER_REQUEST,
)
from ops_domain.audit.log import record_audit, record_refusal
from ops_domain.clock import as_utc, utc_now
from ops_domain.config import WAIVER_MAX_DAYS_ENV
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput, MakerCheckerViolation, NotFound
from ops_domain.jsonable import jsonable
from ops_domain.rbac.actors import Actor, require_actor, require_checker
from ops_domain.rbac.models import User
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT, require_environment
from ops_domain.readiness.models import READINESS_COUNTERS, WAIVER_STATES, ReadinessWaiver
from ops_domain.readiness.snapshot import COUNTED_ITEMS, counted_items

TARGET_TYPE = "readiness_waiver"
REQUEST_PERMISSION = "waivers.request"
DECISION_PERMISSION = "waivers.approve"  # approve or reject: a checker's
# a decision's audit action, and the action recording its refusal by maker-checker
DECISIONS = {
    "approved": (WAIVER_APPROVE, WAIVER_APPROVE_REFUSED),
    "rejected": (WAIVER_REJECT, WAIVER_REJECT_REFUSED),
}


@dataclass(frozen=True)
class WaiverRecord:
    """A waiver as people read it: scope, who asked, who decided, and until when."""

    id: int
    counter: str
    item_ids: list[int] | None
    max_count: int | None
    reason: str
    release_id: str
    environment: str
    status: str
    requested_by: str
    approved_by: str | None
    decision_note: str | None
    expires_at: datetime
    decided_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self)


def request_waiver(
    engine: Engine,
    *,
    actor_username: str,
    counter: str,
    reason: str,
    expires_at: datetime,
    release_id: str,
    environment: str = DEFAULT_ENVIRONMENT,
    item_ids: list[int] | None = None,
    max_count: int | None = None,
    now: datetime | None = None,
    max_days: int,
) -> WaiverRecord:
    """Record a pending waiver. Refused unless exactly one scope is given, the items all
    currently count toward ``counter`` (a count at most the items blocking it now), the reason
    is stated and ``expires_at`` is ahead by at most ``max_days`` (the adapters pass
    ``Settings.waiver_max_days``, ``OPS_WAIVER_MAX_DAYS``)."""
    now = now or utc_now()
    environment = require_environment(environment)
    _validate_request(
        counter=counter,
        reason=reason,
        expires_at=expires_at,
        release_id=release_id,
        item_ids=item_ids,
        max_count=max_count,
        now=now,
        max_days=max_days,
    )
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, REQUEST_PERMISSION, "waivers request")
        if item_ids is not None:
            _require_counted(session, counter, item_ids)
        if max_count is not None:
            _require_blocking_at_least(session, counter, max_count)
        waiver = ReadinessWaiver(
            counter=counter,
            item_ids=sorted(set(item_ids)) if item_ids is not None else None,
            max_count=max_count,
            reason=reason.strip(),
            release_id=release_id.strip(),
            environment=environment,
            status="pending",
            requested_by=actor.id,
            expires_at=as_utc(expires_at),
            created_at=now,
        )
        session.add(waiver)
        session.flush()
        record = _record(session, waiver)
        record_audit(
            session,
            actor_id=actor.id,
            action=WAIVER_REQUEST,
            target_type=TARGET_TYPE,
            target_id=waiver.id,
            after=record.to_dict(),
        )
        return record


def approve_waiver(
    engine: Engine,
    *,
    waiver_id: int,
    actor_username: str,
    note: str,
    now: datetime | None = None,
) -> WaiverRecord:
    """A checker other than the requester approves a pending, unexpired waiver with a note."""
    return _decide(engine, waiver_id, actor_username, note, "approved", now=now or utc_now())


def reject_waiver(
    engine: Engine,
    *,
    waiver_id: int,
    actor_username: str,
    note: str,
    now: datetime | None = None,
) -> WaiverRecord:
    """A checker other than the requester rejects a pending waiver with a note."""
    return _decide(engine, waiver_id, actor_username, note, "rejected", now=now or utc_now())


def _validate_request(
    *,
    counter: str,
    reason: str,
    expires_at: datetime,
    release_id: str,
    item_ids: list[int] | None,
    max_count: int | None,
    now: datetime,
    max_days: int,
) -> None:
    if counter not in READINESS_COUNTERS:
        raise InvalidInput(
            f"counter {counter!r} is not a readiness counter ({', '.join(READINESS_COUNTERS)})"
        )
    if (item_ids is None) == (max_count is None):
        raise InvalidInput("a waiver names item ids or a maximum count, exactly one of them")
    if item_ids is not None and not item_ids:
        raise InvalidInput("an item waiver needs at least one item id")
    if max_count is not None and max_count <= 0:
        raise InvalidInput(f"max count must be positive, got {max_count}")
    if not (reason and reason.strip()):
        raise InvalidInput("a waiver needs a reason")
    if not (release_id and release_id.strip()):
        raise InvalidInput("a waiver belongs to a release: give a release id")
    if as_utc(expires_at) <= now:
        raise InvalidInput(f"expires_at {expires_at.isoformat()} is not in the future")
    latest = now + timedelta(days=max_days)
    if as_utc(expires_at) > latest:
        raise InvalidInput(
            f"expires_at {expires_at.isoformat()} is more than {max_days} day(s) ahead"
            f" ({WAIVER_MAX_DAYS_ENV}): a waiver expires by {latest.isoformat()} at the latest"
        )


def _require_counted(session: Session, counter: str, item_ids: list[int]) -> None:
    uncounted = sorted(set(item_ids) - counted_items(session, counter, item_ids))
    if uncounted:
        raise InvalidInput(
            f"item(s) {', '.join(map(str, uncounted))} do not exist or do not count toward"
            f" {counter}: only items currently blocking can be waived"
        )


def _blocking_items(session: Session, counter: str) -> list[int]:
    """The items blocking ``counter`` now: all a count waiver approved now may ever cover."""
    return sorted(session.execute(text(COUNTED_ITEMS[counter])).scalars())


def _require_blocking_at_least(session: Session, counter: str, max_count: int) -> None:
    blocking = session.execute(
        text(f"SELECT count(*) FROM ({COUNTED_ITEMS[counter]}) AS items")
    ).scalar_one()
    if max_count > blocking:
        raise InvalidInput(
            f"max count {max_count} exceeds the {blocking} item(s) blocking {counter} now:"
            " a count waiver covers at most the items currently blocking"
        )


def _decide(
    engine: Engine, waiver_id: int, actor_username: str, note: str, to_state: str, *, now: datetime
) -> WaiverRecord:
    verb = "approve" if to_state == "approved" else "reject"
    action, refused = DECISIONS[to_state]
    checker: Actor | None = None
    try:
        with transaction(engine) as session:
            checker = require_actor(session, actor_username, DECISION_PERMISSION, f"waivers {verb}")
            waiver = session.get(ReadinessWaiver, waiver_id, with_for_update=True)
            if waiver is None:
                raise NotFound("readiness waiver", waiver_id)
            require_checker(checker, waiver.requested_by, note, action)
            WAIVER_STATES.check(waiver.status, to_state, note)
            if to_state == "approved" and waiver.expires_at <= now:
                raise InvalidInput(
                    f"waiver #{waiver_id} expired at {waiver.expires_at.isoformat()}:"
                    " request a new one"
                )
            if to_state == "approved" and waiver.max_count is not None:
                waiver.covered_item_ids = _blocking_items(session, waiver.counter)
                _require_blocking_at_least(session, waiver.counter, waiver.max_count)
            before = _record(session, waiver).to_dict()
            waiver.status = to_state
            waiver.decision_note = note.strip()
            waiver.decided_at = now
            if to_state == "approved":
                waiver.approved_by = checker.id
            session.flush()
            record = _record(session, waiver)
            record_audit(
                session,
                actor_id=checker.id,
                action=action,
                target_type=TARGET_TYPE,
                target_id=waiver_id,
                before=before,
                after=record.to_dict(),
                details={"note": note.strip()},
            )
            return record
    except MakerCheckerViolation as exc:
        record_refusal(
            engine,
            actor_id=checker.id if checker else None,
            action=refused,
            target_type=TARGET_TYPE,
            target_id=waiver_id,
            details={"reason": str(exc)},
        )
        raise


def _record(session: Session, waiver: ReadinessWaiver) -> WaiverRecord:
    ids = [waiver.requested_by, waiver.approved_by]
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    return WaiverRecord(
        id=waiver.id,
        counter=waiver.counter,
        item_ids=list(waiver.item_ids) if waiver.item_ids is not None else None,
        max_count=waiver.max_count,
        reason=waiver.reason,
        release_id=waiver.release_id,
        environment=waiver.environment,
        status=waiver.status,
        requested_by=names[waiver.requested_by],
        approved_by=names.get(waiver.approved_by) if waiver.approved_by else None,
        decision_note=waiver.decision_note,
        expires_at=waiver.expires_at,
        decided_at=waiver.decided_at,
    )
