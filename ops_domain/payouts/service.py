"""Payout decisions: ``pending -> sent -> settled | failed``, ``failed -> pending`` by resubmission.

Every decision is taken by someone other than the payout's maker, with a note, under a row
lock on the payout, and audited with before/after. A freeze blocks sending and settling.
Settling marks the settlement ``paid``; a settled payout has no way out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.history import check_move
from ops_domain.audit.log import record_audit
from ops_domain.clock import as_utc, utc_now
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput, NotFound
from ops_domain.payouts.freezes import refuse_if_frozen
from ops_domain.payouts.models import PAYOUT_STATES
from ops_domain.rbac.actors import Actor, require_actor, require_different_person, require_note
from ops_domain.settlements.models import SETTLEMENT_STATES


@dataclass(frozen=True)
class PayoutDecision:
    """One kind of move: target state, permission, whether a freeze blocks it, extra columns."""

    command: str
    action: str
    to_state: str
    permission: str
    blocked_by_freeze: bool
    stamp_column: str | None


SEND = PayoutDecision("payouts send", "payout.send", "sent", "payouts.decide", True, "sent_at")
SETTLE = PayoutDecision(
    "payouts settle", "payout.settle", "settled", "payouts.decide", True, "settled_at"
)
FAIL = PayoutDecision("payouts fail", "payout.fail", "failed", "payouts.decide", False, "failed_at")
RESUBMIT = PayoutDecision(
    "payouts resubmit", "payout.resubmit", "pending", "payouts.resubmit", False, None
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


def send_payout(
    engine: Engine, *, payout_id: int, actor_username: str, note: str, now: datetime | None = None
) -> PayoutState:
    """Release a pending payout to its channel (refused while a freeze applies)."""
    return _decide(
        engine, SEND, payout_id=payout_id, actor_username=actor_username, note=note, now=now
    )


def settle_payout(
    engine: Engine, *, payout_id: int, actor_username: str, note: str, now: datetime | None = None
) -> PayoutState:
    """Confirm a sent payout arrived; its settlement becomes ``paid``. Refused while frozen."""
    return _decide(
        engine, SETTLE, payout_id=payout_id, actor_username=actor_username, note=note, now=now
    )


def fail_payout(
    engine: Engine,
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
        FAIL,
        payout_id=payout_id,
        actor_username=actor_username,
        note=note,
        now=now,
        extra={"reason": reason.strip()},
    )


def resubmit_payout(
    engine: Engine, *, payout_id: int, actor_username: str, note: str, now: datetime | None = None
) -> PayoutState:
    """Put a failed payout back to ``pending`` for another attempt (attempt counter + 1)."""
    return _decide(
        engine, RESUBMIT, payout_id=payout_id, actor_username=actor_username, note=note, now=now
    )


def _decide(
    engine: Engine,
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
        check_move(
            session,
            PAYOUT_STATES,
            before["status"],
            decision.to_state,
            note,
            target_type="payout",
            target_id=payout_id,
        )
        what = f"{decision.command} {before['payout_reference']}"
        require_different_person(actor, before["maker_id"], what)
        require_note(note, what)
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
        after = _locked_payout(session, payout_id)
        record_audit(
            session,
            actor_id=actor.id,
            action=decision.action,
            target_type="payout",
            target_id=payout_id,
            before=_audited(before),
            after=_audited(after),
            details={"note": note.strip(), **(extra or {})},
        )
        return PayoutState(**{field: after[field] for field in PayoutState.__dataclass_fields__})


def _locked_payout(session: Session, payout_id: int) -> dict[str, Any]:
    row = session.execute(
        text(
            """
            SELECT id, payout_reference, settlement_id, merchant_id, maker_id, status, attempt,
                   amount::text AS amount, currency, failure_reason
              FROM payouts WHERE id = :id FOR UPDATE
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
    assignments = ["status = :to_state", "last_checker_id = :actor", "last_note = :note"]
    if decision.stamp_column:
        assignments.append(f"{decision.stamp_column} = :moment")
    if decision is FAIL:
        assignments.append("failure_reason = :reason")
    if decision is RESUBMIT:
        assignments.append("attempt = attempt + 1")
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
        action="settlement.pay",
        target_type="settlement",
        target_id=settlement_id,
        before={"status": status},
        after={"status": "paid"},
    )


def _audited(payout: dict[str, Any]) -> dict[str, Any]:
    return {key: payout[key] for key in ("status", "attempt", "failure_reason")}
