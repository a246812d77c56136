"""A record's audited history, read back to explain a refusal ("already posted by rita at ...")."""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.errors import IllegalTransition
from ops_domain.transitions import StateMachine

_LAST_CHANGE = text(
    """
    SELECT a.action, u.username, a.created_at
      FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
     WHERE a.target_type = :target_type AND a.target_id = :target_id
     ORDER BY a.id DESC
     LIMIT 1
    """
)


class AlreadyChanged(IllegalTransition):
    """An illegal move on a record someone already moved on: says who did what, and when."""

    def __init__(self, refused: IllegalTransition, last_change: str) -> None:
        super().__init__(refused.machine, refused.from_state, refused.to_state)
        self.last_change = last_change
        self.args = (f"{refused}: already done ({last_change})",)


def last_change(session: Session, target_type: str, target_id: object) -> str | None:
    """``settlement.post by rita at 2026-11-24 09:30:00 UTC``, from the latest audit row."""
    row = session.execute(
        _LAST_CHANGE, {"target_type": target_type, "target_id": str(target_id)}
    ).first()
    if row is None:
        return None
    who = row.username or "the system"
    return f"{row.action} by {who} at {row.created_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def check_move(
    session: Session,
    machine: StateMachine,
    from_state: str,
    to_state: str,
    note: str | None,
    *,
    target_type: str,
    target_id: object,
) -> None:
    """``machine.check``; when the move is illegal, name the record's latest audited change, so
    a second approval says who already decided and when."""
    try:
        machine.check(from_state, to_state, note)
    except IllegalTransition as refused:
        change = last_change(session, target_type, target_id)
        if change is None:
            raise
        raise AlreadyChanged(refused, change) from None
