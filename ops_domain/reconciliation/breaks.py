"""Resolving reconciliation breaks: a maker proposes, a checker approves or rejects.

A break is ``resolved`` only by an approved resolution. The checker's authority comes from the
policy (the ``reconciliation.approve_resolution`` permission of the declared matrix), never
from the maker, and the checker is never the maker (also a CHECK constraint).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import (
    BREAK_RESOLUTION_APPROVE,
    BREAK_RESOLUTION_PROPOSE,
    BREAK_RESOLUTION_REJECT,
    RECONCILIATION_BREAK_IN_REVIEW,
    RECONCILIATION_BREAK_OPEN,
    RECONCILIATION_BREAK_RESOLVED,
)
from ops_domain.audit.log import record_audit
from ops_domain.clock import utc_now
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput, NotFound
from ops_domain.rbac.actors import Actor, require_actor, require_different_person, require_note
from ops_domain.rbac.names import name_actors
from ops_domain.reconciliation.models import BREAK_STATES, RESOLUTION_STATES

PROPOSE_PERMISSION = "reconciliation.propose_resolution"
APPROVE_PERMISSION = "reconciliation.approve_resolution"
# The audit action of each move of a break (a rejected resolution sends it back to open).
BREAK_MOVES = {
    "in_review": RECONCILIATION_BREAK_IN_REVIEW,
    "resolved": RECONCILIATION_BREAK_RESOLVED,
    "open": RECONCILIATION_BREAK_OPEN,
}

_BREAK_COLUMNS = (
    "id, break_no, run_id, category, status, currency, merchant_id, business_date, difference,"
    " updated_at"
)
_RESOLUTION_COLUMNS = (
    "id, break_id, status, resolution_note, maker_id, checker_id, checker_note, created_at,"
    " decided_at"
)


def propose_resolution(
    engine: Engine,
    *,
    break_id: int,
    actor_username: str,
    note: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The maker explains how the break is settled; the break goes ``open -> in_review``."""
    require_note(note, "proposing a break resolution")
    moment = now or utc_now()
    with transaction(engine) as session:
        maker = require_actor(session, actor_username, PROPOSE_PERMISSION, "recon-breaks propose")
        before = _locked_break(session, break_id)
        BREAK_STATES.check(before["status"], "in_review")
        resolution = dict(
            session.execute(
                text(
                    f"""
                    INSERT INTO reconciliation_break_resolutions
                        (break_id, resolution_note, maker_id, created_at)
                    VALUES (:break_id, :note, :maker, :now)
                    RETURNING {_RESOLUTION_COLUMNS}
                    """
                ),
                {"break_id": break_id, "note": note.strip(), "maker": maker.id, "now": moment},
            )
            .one()
            ._mapping
        )
        after = _move_break(session, maker, before, "in_review", moment)
        _audit_resolution(session, maker, BREAK_RESOLUTION_PROPOSE, None, resolution)
        return name_actors(session, {"break": after, "resolution": resolution})


def approve_resolution(
    engine: Engine,
    *,
    break_id: int,
    actor_username: str,
    note: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A checker other than the maker approves the pending resolution: the break is resolved."""
    return _decide(engine, break_id, actor_username, note, now, approve=True)


def reject_resolution(
    engine: Engine,
    *,
    break_id: int,
    actor_username: str,
    note: str | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A checker other than the maker rejects the pending resolution: the break is open again."""
    return _decide(engine, break_id, actor_username, note, now, approve=False)


def _decide(
    engine: Engine,
    break_id: int,
    actor_username: str,
    note: str | None,
    now: datetime | None,
    *,
    approve: bool,
) -> dict[str, Any]:
    decision, break_state = ("approved", "resolved") if approve else ("rejected", "open")
    command = f"recon-breaks {'approve' if approve else 'reject'}"
    moment = now or utc_now()
    with transaction(engine) as session:
        checker = require_actor(session, actor_username, APPROVE_PERMISSION, command)
        before_break = _locked_break(session, break_id)
        pending = _pending_resolution(session, before_break)
        require_different_person(
            checker, pending["maker_id"], f"{command} {before_break['break_no']}"
        )
        require_note(note, command)
        RESOLUTION_STATES.check(pending["status"], decision, note)
        BREAK_STATES.check(before_break["status"], break_state, note)
        resolution = dict(
            session.execute(
                text(
                    f"""
                    UPDATE reconciliation_break_resolutions
                       SET status = :decision, checker_id = :checker, checker_note = :note,
                           decided_at = :now
                     WHERE id = :id
                    RETURNING {_RESOLUTION_COLUMNS}
                    """
                ),
                {
                    "id": pending["id"],
                    "decision": decision,
                    "checker": checker.id,
                    "note": note.strip() if note else note,
                    "now": moment,
                },
            )
            .one()
            ._mapping
        )
        after = _move_break(session, checker, before_break, break_state, moment)
        _audit_resolution(
            session,
            checker,
            BREAK_RESOLUTION_APPROVE if approve else BREAK_RESOLUTION_REJECT,
            pending,
            resolution,
        )
        return name_actors(session, {"break": after, "resolution": resolution})


def _locked_break(session: Session, break_id: int) -> dict[str, Any]:
    row = session.execute(
        text(f"SELECT {_BREAK_COLUMNS} FROM reconciliation_breaks WHERE id = :id FOR UPDATE"),
        {"id": break_id},
    ).one_or_none()
    if row is None:
        raise NotFound("reconciliation break", break_id)
    return dict(row._mapping)


def _pending_resolution(session: Session, break_row: dict[str, Any]) -> dict[str, Any]:
    row = session.execute(
        text(
            f"""
            SELECT {_RESOLUTION_COLUMNS} FROM reconciliation_break_resolutions
             WHERE break_id = :id AND status = 'pending' FOR UPDATE
            """
        ),
        {"id": break_row["id"]},
    ).one_or_none()
    if row is None:
        raise InvalidInput(f"break {break_row['break_no']} has no pending resolution to decide")
    return dict(row._mapping)


def _move_break(
    session: Session, actor: Actor, before: dict[str, Any], status: str, now: datetime
) -> dict[str, Any]:
    after = dict(
        session.execute(
            text(
                f"""
                UPDATE reconciliation_breaks SET status = :status, updated_at = :now
                 WHERE id = :id
                RETURNING {_BREAK_COLUMNS}
                """
            ),
            {"id": before["id"], "status": status, "now": now},
        )
        .one()
        ._mapping
    )
    record_audit(
        session,
        actor_id=actor.id,
        action=BREAK_MOVES[status],
        target_type="reconciliation_break",
        target_id=before["id"],
        before=before,
        after=after,
    )
    return after


def _audit_resolution(
    session: Session,
    actor: Actor,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    record_audit(
        session,
        actor_id=actor.id,
        action=action,
        target_type="break_resolution",
        target_id=after["id"],
        before=before,
        after=after,
    )
