"""Chargeback workflow: moves along CHARGEBACK_STATES; a refused move is kept as evidence.

The rollback watch counts ``chargeback.transition_refused`` audit rows (a workflow that cannot
progress after a release is a rollback trigger), so a move the state table forbids is recorded
in its own transaction before the error propagates. An input mistake (an unknown status, a
missing note) is refused without a record: it says nothing about the release.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from ops_domain.audit.log import record_audit, record_refusal
from ops_domain.clock import as_utc, utc_now
from ops_domain.db import lock_row, transaction, update_row
from ops_domain.errors import IllegalTransition, InvalidInput
from ops_domain.rbac.actors import require_actor
from ops_domain.rbac.names import name_actors

from .models import CHARGEBACK_STATES, Chargeback


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
                action="chargeback.transition_refused",
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
            action="chargeback.transition",
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
