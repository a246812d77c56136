"""Dispute refunds: requested by a maker, decided by a checker, then executed or failed.

A refund is capped by its source event: the event amount minus every earlier refund of that
event that is not rejected or failed. ``pending -> approved | rejected`` needs a checker who is
not the maker; ``approved -> executed | failed`` needs someone other than the maker. Every move
carries a note and an audit row, and is noted on the refund's case.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import (
    REFUND_APPROVE,
    REFUND_EXECUTE,
    REFUND_FAIL,
    REFUND_REJECT,
    REFUND_REQUEST,
)
from ops_domain.audit.log import record_audit
from ops_domain.cases.service import insert_case, lock_case, require_text, write_case_notes
from ops_domain.clock import as_utc, utc_now
from ops_domain.config import Settings
from ops_domain.db import lock_row, transaction, update_row
from ops_domain.errors import InvalidInput, NotFound
from ops_domain.merchants.models import CashflowEvent
from ops_domain.money import positive_money
from ops_domain.rbac.actors import (
    Actor,
    require_actor,
    require_checker,
    require_different_person,
    require_note,
)
from ops_domain.rbac.names import name_actors

from .models import REFUND_STATES, RefundRequest

REFUND_COLUMNS = tuple(RefundRequest.__table__.c)
REFUND_CASE_TEAMS = ("customer_service", "risk")
SPENT_STATUSES = sorted(REFUND_STATES.states - {"rejected", "failed"})
VERBS = {"approved": "approve", "rejected": "reject", "executed": "execute", "failed": "fail"}
DECISION_ACTIONS = {
    "approved": REFUND_APPROVE,
    "rejected": REFUND_REJECT,
    "executed": REFUND_EXECUTE,
    "failed": REFUND_FAIL,
}
CHECKER_DECISIONS = ("approved", "rejected")
# Serialises refund requests per source event without row-locking the event itself, which
# the settlement job must be free to claim (it skips locked events).
_LOCK_EVENT_REFUNDS = text(
    "SELECT pg_advisory_xact_lock(hashtext('refund_requests.source_event_id'),"
    " CAST(:event_id % 2147483647 AS integer))"
)


def request_refund(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    source_event_id: int,
    amount: object,
    reason: str,
    customer_ref: str,
    case_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Request a refund of (part of) a credit event; without a case, open a ``refund`` case.

    The cap check and the insert happen under a per-event lock, so two concurrent requests
    can never together refund more than the event.
    """
    value = positive_money(amount)
    reason = require_text(reason, "refund reason")
    customer_ref = require_text(customer_ref, "customer reference")
    moment = as_utc(now) if now else utc_now()
    sla_due_at = moment + timedelta(hours=settings.refund_sla_hours)
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, "refunds.request", "refunds request")
        event = _source_event(session, source_event_id)
        settings.require_currency(event["currency"])
        _require_within_cap(session, event, value)
        if case_id is None:
            case_id = insert_case(
                session,
                actor_id=actor.id,
                case_type="refund",
                priority="medium",
                title=f"Refund dispute on event #{event['id']} for {customer_ref}",
                teams=REFUND_CASE_TEAMS,
                sla_due_at=sla_due_at,
                merchant_id=event["merchant_id"],
            )["id"]
        else:
            _require_case_for(session, case_id, event)
        refund = dict(
            session.execute(
                insert(RefundRequest)
                .values(
                    case_id=case_id,
                    merchant_id=event["merchant_id"],
                    customer_ref=customer_ref,
                    source_event_id=event["id"],
                    amount=value,
                    currency=event["currency"],
                    reason=reason,
                    maker_id=actor.id,
                    sla_due_at=sla_due_at,
                    created_at=moment,
                )
                .returning(*REFUND_COLUMNS)
            )
            .mappings()
            .one()
        )
        record_audit(
            session,
            actor_id=actor.id,
            action=REFUND_REQUEST,
            target_type="refund_request",
            target_id=refund["id"],
            after=refund,
        )
        return name_actors(session, refund)


def _source_event(session: Session, event_id: int) -> dict[str, Any]:
    session.execute(_LOCK_EVENT_REFUNDS, {"event_id": event_id})
    event = (
        session.execute(
            select(
                CashflowEvent.id,
                CashflowEvent.merchant_id,
                CashflowEvent.direction,
                CashflowEvent.amount,
                CashflowEvent.currency,
            ).where(CashflowEvent.id == event_id)
        )
        .mappings()
        .one_or_none()
    )
    if event is None:
        raise NotFound("cashflow event", event_id)
    if event["direction"] != "credit":
        raise InvalidInput(f"event #{event_id} is a debit; only a payment to the merchant refunds")
    return dict(event)


def remaining_refundable(session: Session, event: dict[str, Any]) -> Decimal:
    """Event amount minus the refunds of it that are not rejected or failed."""
    spent = session.scalar(
        select(func.coalesce(func.sum(RefundRequest.amount), 0)).where(
            RefundRequest.source_event_id == event["id"],
            RefundRequest.status.in_(SPENT_STATUSES),
        )
    )
    return event["amount"] - Decimal(spent)


def _require_within_cap(session: Session, event: dict[str, Any], amount: Decimal) -> None:
    remaining = remaining_refundable(session, event)
    if amount > remaining:
        raise InvalidInput(
            f"refund of {amount} {event['currency']} exceeds what is left to refund on event"
            f" #{event['id']}: {remaining} of {event['amount']}"
        )


def _require_case_for(session: Session, case_id: int, event: dict[str, Any]) -> None:
    case = lock_case(session, case_id)
    if case["status"] in {"resolved", "closed"}:
        raise InvalidInput(f"case {case['case_no']} is {case['status']}; open a new case")
    if case["merchant_id"] not in {None, event["merchant_id"]}:
        raise InvalidInput(
            f"case {case['case_no']} belongs to merchant #{case['merchant_id']},"
            f" event #{event['id']} to merchant #{event['merchant_id']}"
        )


def approve_refund(
    engine: Engine, *, refund_id: int, actor_username: str, note: str, now: datetime | None = None
) -> dict[str, Any]:
    """A checker other than the maker approves a pending refund, with a note."""
    return _decide(
        engine, "approved", refund_id=refund_id, actor_username=actor_username, note=note, now=now
    )


def reject_refund(
    engine: Engine, *, refund_id: int, actor_username: str, note: str, now: datetime | None = None
) -> dict[str, Any]:
    """A checker other than the maker rejects a pending refund, with a note."""
    return _decide(
        engine, "rejected", refund_id=refund_id, actor_username=actor_username, note=note, now=now
    )


def execute_refund(
    engine: Engine, *, refund_id: int, actor_username: str, note: str, now: datetime | None = None
) -> dict[str, Any]:
    """Record that an approved refund was paid out (by someone other than its maker)."""
    return _decide(
        engine, "executed", refund_id=refund_id, actor_username=actor_username, note=note, now=now
    )


def fail_refund(
    engine: Engine, *, refund_id: int, actor_username: str, note: str, now: datetime | None = None
) -> dict[str, Any]:
    """Record that an approved refund could not be paid; its amount becomes refundable again."""
    return _decide(
        engine, "failed", refund_id=refund_id, actor_username=actor_username, note=note, now=now
    )


def _decide(
    engine: Engine,
    to_status: str,
    *,
    refund_id: int,
    actor_username: str,
    note: str,
    now: datetime | None,
) -> dict[str, Any]:
    """Approving or rejecting takes a checker; executing or failing, anyone but the maker."""
    verb = VERBS[to_status]
    action = f"refund {verb}"
    by_checker = to_status in CHECKER_DECISIONS
    permission = "refunds.decide" if by_checker else "refunds.execute"
    moment = as_utc(now) if now else utc_now()
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, permission, f"refunds {verb}")
        refund = lock_row(session, RefundRequest, refund_id, "refund request")
        values: dict[str, Any] = {}
        if by_checker:
            require_checker(actor, refund["maker_id"], note, action)
            values = {"checker_id": actor.id, "checker_note": note.strip(), "decided_at": moment}
        else:
            require_different_person(actor, refund["maker_id"], action)
            require_note(note, action)
        return _move(
            session,
            refund,
            actor=actor,
            to_status=to_status,
            note=note,
            moment=moment,
            values=values,
        )


def _move(
    session: Session,
    refund: dict[str, Any],
    *,
    actor: Actor,
    to_status: str,
    note: str,
    moment: datetime,
    values: dict[str, Any],
) -> dict[str, Any]:
    REFUND_STATES.check(refund["status"], to_status, note)
    moved = update_row(session, RefundRequest, refund["id"], status=to_status, **values)
    record_audit(
        session,
        actor_id=actor.id,
        action=DECISION_ACTIONS[to_status],
        target_type="refund_request",
        target_id=refund["id"],
        before={"status": refund["status"]},
        after={"status": to_status, **values},
        details={"note": note.strip(), "at": moment},
    )
    if refund["case_id"] is not None:
        write_case_notes(
            session,
            [(refund["case_id"], f"Refund {refund['refund_no']} {to_status}: {note.strip()}")],
            author_id=actor.id,
        )
    return name_actors(session, moved)
