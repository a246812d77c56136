"""Payout freezes: while one applies, no payout is created, sent or settled in its scope.

A freeze is global or for one merchant; it is active until lifted, and only a checker other
than the person who set it may lift it. ``ACTIVE_FREEZE`` is the one definition of "which
freeze applies to this merchant", used by payout creation and by send/settle alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import PAYOUT_FREEZE, PAYOUT_FREEZE_LIFT
from ops_domain.audit.log import record_audit
from ops_domain.clock import as_utc, utc_now
from ops_domain.db import transaction
from ops_domain.errors import AlreadyFrozen, IllegalTransition, InvalidInput, NotFound, PayoutFrozen
from ops_domain.merchants.directory import merchant_by_code
from ops_domain.rbac.actors import require_actor, require_checker

# A correlated sub-select: the active freeze (global first) applying to ``{merchant}``, a SQL
# expression for the merchant id. Lateral-join it as ``f`` to get f.id, f.scope, f.reason.
FREEZE_PERMISSION = "emergency.act"
LIFT_PERMISSION = "emergency.lift_freeze"  # a checker's, never the one who froze

ACTIVE_FREEZE = """
    SELECT f.id, f.scope, f.reason
      FROM payout_freezes f
     WHERE f.lifted_at IS NULL
       AND (f.scope = 'global' OR f.merchant_id = {merchant})
     ORDER BY f.scope = 'global' DESC, f.id
     LIMIT 1
"""


def active_freeze_sql(merchant_expression: str) -> str:
    """``ACTIVE_FREEZE`` bound to a merchant-id SQL expression (a column or a parameter)."""
    return ACTIVE_FREEZE.format(merchant=merchant_expression)


@dataclass(frozen=True)
class Freeze:
    id: int
    scope: str
    merchant_code: str | None
    reason: str
    set_by: str
    set_at: datetime
    lifted_by: str | None = None
    lifted_at: datetime | None = None
    newly_set: bool = False


def refuse_if_frozen(session: Session, merchant_id: int, action: str) -> None:
    """Raise ``PayoutFrozen`` naming the freeze if one applies to ``merchant_id``."""
    freeze = session.execute(
        text(active_freeze_sql("CAST(:merchant_id AS bigint)")), {"merchant_id": merchant_id}
    ).first()
    if freeze is not None:
        raise PayoutFrozen(
            f"{action} refused: payout freeze #{freeze.id} ({freeze.scope}) is active:"
            f" {freeze.reason}"
        )


def freeze_payouts(
    engine: Engine,
    *,
    actor_username: str,
    reason: str,
    merchant_code: str | None = None,
    repeat_ok: bool = False,
) -> Freeze:
    """Freeze payouts globally or for one merchant. Freezing a scope an active freeze already
    covers is refused naming that freeze (a person learns it was already done, by whom and
    why); with ``repeat_ok`` (the rollback watch, rerun every few minutes) the active freeze is
    returned unchanged (``newly_set`` False)."""
    if not (reason and reason.strip()):
        raise InvalidInput("a payout freeze needs a reason")
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, FREEZE_PERMISSION, "payouts freeze")
        merchant_id = merchant_by_code(session, merchant_code).id if merchant_code else None
        scope = "global" if merchant_id is None else "merchant"
        new_id = session.execute(
            text(
                """
                INSERT INTO payout_freezes (scope, merchant_id, reason, set_by)
                VALUES (:scope, :merchant_id, :reason, :actor)
                ON CONFLICT (scope, coalesce(merchant_id, 0)) WHERE lifted_at IS NULL
                DO NOTHING
                RETURNING id
                """
            ),
            {
                "scope": scope,
                "merchant_id": merchant_id,
                "reason": reason.strip(),
                "actor": actor.id,
            },
        ).scalar()
        if new_id is not None:
            record_audit(
                session,
                actor_id=actor.id,
                action=PAYOUT_FREEZE,
                target_type="payout_freeze",
                target_id=new_id,
                after={"scope": scope, "merchant_code": merchant_code, "reason": reason.strip()},
            )
            return _load(session, new_id, newly_set=True)
        existing = session.execute(
            text(
                "SELECT id FROM payout_freezes WHERE lifted_at IS NULL AND scope = :scope"
                " AND merchant_id IS NOT DISTINCT FROM :merchant_id"
            ),
            {"scope": scope, "merchant_id": merchant_id},
        ).scalar_one()
        active = _load(session, existing)
    if not repeat_ok:
        where = f"merchant {merchant_code}" if merchant_code else "globally"
        raise AlreadyFrozen(
            f"payouts are already frozen {where} by freeze #{active.id} (set by {active.set_by}"
            f" at {active.set_at.isoformat()}: {active.reason}): nothing changed",
            active,
        )
    return active


def lift_payout_freeze(
    engine: Engine,
    *,
    freeze_id: int,
    actor_username: str,
    note: str,
    now: datetime | None = None,
) -> Freeze:
    """Lift an active freeze: a checker, never the person who set it, with a note."""
    lifted_at = as_utc(now) if now is not None else utc_now()
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, LIFT_PERMISSION, "payouts lift-freeze")
        row = session.execute(
            text("SELECT set_by, lifted_at FROM payout_freezes WHERE id = :id FOR UPDATE"),
            {"id": freeze_id},
        ).first()
        if row is None:
            raise NotFound("payout freeze", freeze_id)
        if row.lifted_at is not None:
            raise IllegalTransition("payout_freeze", "lifted", "lifted")
        require_checker(actor, row.set_by, note, "lifting a payout freeze")
        session.execute(
            text(
                "UPDATE payout_freezes SET lifted_by = :actor, lifted_at = :at, lift_note = :note"
                " WHERE id = :id"
            ),
            {"actor": actor.id, "at": lifted_at, "note": note.strip(), "id": freeze_id},
        )
        record_audit(
            session,
            actor_id=actor.id,
            action=PAYOUT_FREEZE_LIFT,
            target_type="payout_freeze",
            target_id=freeze_id,
            before={"active": True},
            after={"active": False, "note": note.strip()},
        )
        return _load(session, freeze_id)


def _load(session: Session, freeze_id: int, *, newly_set: bool = False) -> Freeze:
    row = session.execute(
        text(
            """
            SELECT f.id, f.scope, m.code AS merchant_code, f.reason, setter.username AS set_by,
                   f.set_at, lifter.username AS lifted_by, f.lifted_at
              FROM payout_freezes f
              LEFT JOIN merchants m ON m.id = f.merchant_id
              JOIN users setter ON setter.id = f.set_by
              LEFT JOIN users lifter ON lifter.id = f.lifted_by
             WHERE f.id = :id
            """
        ),
        {"id": freeze_id},
    ).one()
    return Freeze(**row._asdict(), newly_set=newly_set)
