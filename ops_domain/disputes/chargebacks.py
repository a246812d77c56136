"""Chargeback workflow: a chargeback is opened with its dispute case and the evidence
attached to it, then moves along CHARGEBACK_STATES; a refused move is kept as evidence.

The rollback watch counts ``chargeback.transition_refused`` audit rows (a workflow that cannot
progress after a release is a rollback trigger), so a move the state table forbids is recorded
in its own transaction before the error propagates. An input mistake (an unknown status, a
missing note) is refused without a record: it says nothing about the release.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert

from ops_domain.audit.actions import (
    CHARGEBACK_OPEN,
    CHARGEBACK_TRANSITION,
    CHARGEBACK_TRANSITION_REFUSED,
)
from ops_domain.audit.log import record_audit, record_refusal
from ops_domain.cases.service import insert_case, require_text, write_case_notes
from ops_domain.clock import as_utc, utc_now
from ops_domain.config import Settings
from ops_domain.db import lock_row, transaction, update_row
from ops_domain.errors import IllegalTransition, InvalidInput
from ops_domain.merchants.directory import merchant_by_code
from ops_domain.money import positive_money
from ops_domain.rbac.actors import require_actor
from ops_domain.rbac.names import name_actors

from .models import CHARGEBACK_STATES, Chargeback

CHARGEBACK_TEAMS = ("risk", "operation")


def open_chargeback(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    merchant_code: str,
    reason_code: str,
    amount: object,
    currency: str,
    due_at: datetime,
    evidence: Sequence[str],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Open a chargeback the card network raised, with the dispute case that tracks it
    (teams risk and operation, due when the chargeback is) and at least one piece of evidence,
    each kept as a case note (notes are never edited). Audited as ``chargeback.open``."""
    settings.require_currency(currency)
    money = positive_money(amount)
    reason = require_text(reason_code, "network reason code")
    if len(reason) > 16:
        raise InvalidInput(f"a network reason code is at most 16 characters, got {reason!r}")
    pieces = [piece.strip() for piece in evidence if piece and piece.strip()]
    if not pieces:
        raise InvalidInput("a chargeback is opened with its evidence (--evidence, one or more)")
    moment = as_utc(now) if now else utc_now()
    if as_utc(due_at) <= moment:
        raise InvalidInput(f"due_at {due_at.isoformat()} is not in the future")
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, "chargebacks.manage", "chargebacks open")
        merchant = merchant_by_code(session, merchant_code)
        case = insert_case(
            session,
            actor_id=actor.id,
            case_type="dispute",
            priority="high",
            title=f"Chargeback {reason} on {merchant_code}: {money} {currency}",
            teams=CHARGEBACK_TEAMS,
            sla_due_at=as_utc(due_at),
            merchant_id=merchant.id,
        )
        write_case_notes(
            session, [(case["id"], f"evidence: {p}") for p in pieces], author_id=actor.id
        )
        chargeback = (
            session.execute(
                insert(Chargeback)
                .values(
                    case_id=case["id"],
                    merchant_id=merchant.id,
                    network_reason_code=reason,
                    amount=money,
                    currency=currency,
                    due_at=as_utc(due_at),
                )
                .returning(*Chargeback.__table__.columns)
            )
            .mappings()
            .one()
        )
        opened = {**chargeback, "case_no": case["case_no"], "evidence": pieces}
        record_audit(
            session,
            actor_id=actor.id,
            action=CHARGEBACK_OPEN,
            target_type="chargeback",
            target_id=chargeback["id"],
            after={"status": chargeback["status"], "case_id": case["id"], "amount": money},
            details={"evidence": pieces},
        )
        return name_actors(session, opened)


def transition_chargeback(
    engine: Engine,
    *,
    chargeback_id: int,
    to_status: str,
    actor_username: str,
    note: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Move a chargeback to ``to_status`` if CHARGEBACK_STATES allows it (won, lost and closed
    need a note); stamp ``last_transition_at``. A move the table forbids raises
    ``IllegalTransition`` and is recorded; a missing note raises ``InvalidInput`` unrecorded."""
    if to_status not in CHARGEBACK_STATES.states:
        raise InvalidInput(
            f"chargeback status must be one of {', '.join(sorted(CHARGEBACK_STATES.states))},"
            f" got {to_status!r}"
        )
    moment = as_utc(now) if now else utc_now()
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, "chargebacks.manage", "chargebacks")
        current = lock_row(session, Chargeback, chargeback_id, "chargeback")
        try:
            CHARGEBACK_STATES.check(current["status"], to_status, note)
        except IllegalTransition as refusal:
            record_refusal(
                engine,
                actor_id=actor.id,
                action=CHARGEBACK_TRANSITION_REFUSED,
                target_type="chargeback",
                target_id=chargeback_id,
                before={"status": current["status"]},
                details={"from": current["status"], "to": to_status, "reason": str(refusal)},
            )
            raise
        moved = update_row(
            session,
            Chargeback,
            chargeback_id,
            status=to_status,
            last_transition_at=moment,
            note=note or current["note"],
        )
        record_audit(
            session,
            actor_id=actor.id,
            action=CHARGEBACK_TRANSITION,
            target_type="chargeback",
            target_id=chargeback_id,
            before={
                "status": current["status"],
                "last_transition_at": current["last_transition_at"],
            },
            after={"status": to_status, "last_transition_at": moment},
            details={"note": note},
        )
        return name_actors(session, moved)
