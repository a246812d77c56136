"""Payout decisions: ``pending -> sent -> settled | failed``, ``failed -> pending`` by resubmission.

Sending, settling and failing are checker decisions (decision 0008): never by the payout's
maker, settled or failed by someone other than its sender, and above the currency's
second-approval limit sent only after a first approval by another checker. Every decision has
a note, runs under a row lock on the payout and is audited with before/after. A freeze blocks
sending and settling. Settling marks the settlement ``paid``; a settled payout has no way out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import (
    PAYOUT_APPROVE,
    PAYOUT_FAIL,
    PAYOUT_RESUBMIT,
    PAYOUT_SEND,
    PAYOUT_SETTLE,
    SETTLEMENT_PAY,
)
from ops_domain.audit.history import check_move
from ops_domain.audit.log import record_audit
from ops_domain.clock import as_utc, utc_now
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput, MakerCheckerViolation, NotFound
from ops_domain.payouts.freezes import refuse_if_frozen
from ops_domain.payouts.models import PAYOUT_STATES
from ops_domain.rbac.actors import Actor, require_actor, require_different_person, require_note
from ops_domain.settlements.models import SETTLEMENT_STATES


@dataclass(frozen=True)
class PayoutDecision:
    """One kind of decision: target state (None: the first approval, which moves nothing),
    permission, whether a freeze blocks it, the column stamped with its moment."""

    command: str
    action: str
    to_state: str | None
    permission: str
    blocked_by_freeze: bool
    stamp_column: str | None


SEND = PayoutDecision("payouts send", PAYOUT_SEND, "sent", "payouts.decide", True, "sent_at")
SETTLE = PayoutDecision(
    "payouts settle", PAYOUT_SETTLE, "settled", "payouts.decide", True, "settled_at"
)
FAIL = PayoutDecision("payouts fail", PAYOUT_FAIL, "failed", "payouts.decide", False, "failed_at")
RESUBMIT = PayoutDecision(
    "payouts resubmit", PAYOUT_RESUBMIT, "pending", "payouts.resubmit", False, None
)
APPROVE = PayoutDecision(
    "payouts approve", PAYOUT_APPROVE, None, "payouts.decide", False, "approved_at"
)


@dataclass(frozen=True)
class PayoutState:
    id: int
    payout_reference: str
    settlement_id: int
    status: str
    attempt: int
    amount: str
    currency: str
    failure_reason: str | None
    approved_by: str | None
    sent_by: str | None


def approve_payout(
    engine: Engine,
    settings: Settings,
    *,
    payout_id: int,
    actor_username: str,
    note: str,
    now: datetime | None = None,
) -> PayoutState:
    """First approval of a pending payout by a checker who did not make it; above the
    currency's second-approval limit, another checker may then send it."""
    return _decide(
        engine,
        settings,
        APPROVE,
        payout_id=payout_id,
        actor_username=actor_username,
        note=note,
        now=now,
    )


def send_payout(
    engine: Engine,
    settings: Settings,
    *,
    payout_id: int,
    actor_username: str,
    note: str,
    now: datetime | None = None,
) -> PayoutState:
    """Release a pending payout to its channel (refused while a freeze applies); above the
    currency's second-approval limit only after another checker's first approval."""
    return _decide(
        engine,
        settings,
        SEND,
        payout_id=payout_id,
        actor_username=actor_username,
        note=note,
        now=now,
    )


def settle_payout(
    engine: Engine,
    settings: Settings,
    *,
    payout_id: int,
    actor_username: str,
    note: str,
    now: datetime | None = None,
) -> PayoutState:
    """Confirm a sent payout arrived; its settlement becomes ``paid``. Refused while frozen."""
    return _decide(
        engine,
        settings,
        SETTLE,
        payout_id=payout_id,
        actor_username=actor_username,
        note=note,
        now=now,
    )


def fail_payout(
    engine: Engine,
    settings: Settings,
    *,
    payout_id: int,
    actor_username: str,
    note: str,
    reason: str,
    now: datetime | None = None,
) -> PayoutState:
    """Record that a sent payout bounced, with the channel's reason."""
    if not (reason and reason.strip()):
        raise InvalidInput("failing a payout needs a reason")
    return _decide(
        engine,
        settings,
        FAIL,
        payout_id=payout_id,
        actor_username=actor_username,
        note=note,
        now=now,
        extra={"reason": reason.strip()},
    )


def resubmit_payout(
    engine: Engine,
    settings: Settings,
    *,
    payout_id: int,
    actor_username: str,
    note: str,
    now: datetime | None = None,
) -> PayoutState:
    """Put a failed payout back to ``pending`` for another attempt (attempt counter + 1); the
    new attempt needs its own approvals."""
    return _decide(
        engine,
        settings,
        RESUBMIT,
        payout_id=payout_id,
        actor_username=actor_username,
        note=note,
        now=now,
    )


def _decide(
    engine: Engine,
    settings: Settings,
    decision: PayoutDecision,
    *,
    payout_id: int,
    actor_username: str,
    note: str,
    now: datetime | None,
    extra: dict[str, Any] | None = None,
) -> PayoutState:
    moment = as_utc(now) if now is not None else utc_now()
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, decision.permission, decision.command)
        before = _locked_payout(session, payout_id)
        what = f"{decision.command} {before['payout_reference']}"
        if decision.to_state is None:
            _require_approvable(settings, before, what)
        else:
            check_move(
                session,
                PAYOUT_STATES,
                before["status"],
                decision.to_state,
                note,
                target_type="payout",
                target_id=payout_id,
            )
        require_different_person(actor, before["maker_id"], what)
        require_note(note, what)
        if decision is SEND:
            _require_second_approval(settings, actor, before, what)
        if decision in (SETTLE, FAIL) and actor.id == before["sent_by_id"]:
            raise MakerCheckerViolation(f"{what}: {actor.username!r} sent it")
        if decision.blocked_by_freeze:
            refuse_if_frozen(session, before["merchant_id"], what)
        _apply(
            session,
            decision,
            payout_id=payout_id,
            actor=actor,
            note=note.strip(),
            moment=moment,
            extra=extra or {},
        )
        if decision is SETTLE:
            _mark_settlement_paid(session, before["settlement_id"], actor, moment)
        return _audited_state(session, actor, decision.action, before, note, extra=extra)


def _require_approvable(settings: Settings, payout: dict[str, Any], what: str) -> None:
    """A first approval is for a pending payout above the second-approval limit, given once."""
    if payout["status"] != "pending":
        raise InvalidInput(f"{what}: only a pending payout is approved, it is {payout['status']}")
    if _second_approval_limit(settings, payout) is None:
        raise InvalidInput(
            f"{what}: {payout['amount']} {payout['currency']} is within the"
            f" {payout['currency']} second-approval limit: one checker sends it"
        )
    if payout["approved_by"] is not None:
        raise MakerCheckerViolation(f"{what}: already approved by {payout['approved_by']!r}")


def _require_second_approval(
    settings: Settings, actor: Actor, payout: dict[str, Any], what: str
) -> None:
    """Above the currency's limit a payout leaves only with two checkers: approver and sender."""
    limit = _second_approval_limit(settings, payout)
    if limit is None:
        return
    above = f"{payout['amount']} {payout['currency']} is above the {payout['currency']}"
    above += f" second-approval limit {limit}"
    if payout["approved_by"] is None:
        raise MakerCheckerViolation(
            f"{what}: {above}: it needs a first approval ({APPROVE.command}) by another checker"
        )
    if payout["approved_by_id"] == actor.id:
        raise MakerCheckerViolation(
            f"{what}: {above} and {actor.username!r} gave the first approval:"
            " a second checker sends it"
        )


def _second_approval_limit(settings: Settings, payout: dict[str, Any]) -> Decimal | None:
    """The limit ``payout`` is above, or None when one checker may send it."""
    limit = settings.payout_second_approval_limit_for(payout["currency"])
    return limit if Decimal(payout["amount"]) > limit else None


def _audited_state(
    session: Session,
    actor: Actor,
    action: str,
    before: dict[str, Any],
    note: str,
    *,
    extra: dict[str, Any] | None = None,
) -> PayoutState:
    after = _locked_payout(session, before["id"])
    record_audit(
        session,
        actor_id=actor.id,
        action=action,
        target_type="payout",
        target_id=before["id"],
        before=_audited(before),
        after=_audited(after),
        details={"note": note.strip(), **(extra or {})},
    )
    return PayoutState(**{field: after[field] for field in PayoutState.__dataclass_fields__})


def _locked_payout(session: Session, payout_id: int) -> dict[str, Any]:
    row = session.execute(
        text(
            """
            SELECT p.id, p.payout_reference, p.settlement_id, p.merchant_id, p.maker_id,
                   p.status, p.attempt, p.amount::text AS amount, p.currency, p.failure_reason,
                   p.approved_by AS approved_by_id, approver.username AS approved_by,
                   p.sent_by AS sent_by_id, sender.username AS sent_by
              FROM payouts p
              LEFT JOIN users approver ON approver.id = p.approved_by
              LEFT JOIN users sender ON sender.id = p.sent_by
             WHERE p.id = :id
               FOR UPDATE OF p
            """
        ),
        {"id": payout_id},
    ).first()
    if row is None:
        raise NotFound("payout", payout_id)
    return row._asdict()


def _apply(
    session: Session,
    decision: PayoutDecision,
    *,
    payout_id: int,
    actor: Actor,
    note: str,
    moment: datetime,
    extra: dict[str, Any],
) -> None:
    if decision is APPROVE:  # names the first approver; the payout stays where it is
        assignments = ["approved_by = :actor"]
    else:
        assignments = ["status = :to_state", "last_checker_id = :actor", "last_note = :note"]
    if decision.stamp_column:
        assignments.append(f"{decision.stamp_column} = :moment")
    if decision is FAIL:
        assignments.append("failure_reason = :reason")
    if decision is SEND:
        assignments.append("sent_by = :actor")
    if decision is RESUBMIT:
        # a new attempt is a new release of money: its approvals start again
        assignments += ["attempt = attempt + 1", "approved_by = NULL", "approved_at = NULL"]
        assignments.append("sent_by = NULL")
    session.execute(
        text(f"UPDATE payouts SET {', '.join(assignments)} WHERE id = :id"),
        {
            "to_state": decision.to_state,
            "actor": actor.id,
            "note": note,
            "moment": moment,
            "reason": extra.get("reason"),
            "id": payout_id,
        },
    )


def _mark_settlement_paid(
    session: Session, settlement_id: int, actor: Actor, moment: datetime
) -> None:
    status = session.execute(
        text("SELECT status FROM settlements WHERE id = :id FOR UPDATE"), {"id": settlement_id}
    ).scalar_one()
    SETTLEMENT_STATES.check(status, "paid")
    session.execute(
        text("UPDATE settlements SET status = 'paid', paid_at = :at WHERE id = :id"),
        {"at": moment, "id": settlement_id},
    )
    record_audit(
        session,
        actor_id=actor.id,
        action=SETTLEMENT_PAY,
        target_type="settlement",
        target_id=settlement_id,
        before={"status": status},
        after={"status": "paid"},
    )


def _audited(payout: dict[str, Any]) -> dict[str, Any]:
    return {
        key: payout[key]
        for key in ("status", "attempt", "failure_reason", "approved_by", "sent_by")
    }
