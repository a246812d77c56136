"""Reinstating a release after a false alarm: ``rollback_recommended -> released``.

The rollback watch only recommends; a checker who has reviewed the evidence may decide that
the release stays. The decision is stored on the release like the gate's and the rollback's
(``decided_by``, ``decided_at``, ``decision_note``) and audited ``release.reinstated``. The
watch counts what happened since the latest decision, so the reviewed evidence does not fire
again, while anything new does; the break spike still compares the open breaks with the
release snapshot. The ``rollback_trigger`` alerts are not closed here: each is closed by a
person who has handled it (while one stays open, a new firing of its trigger raises no second
alert), so the reinstatement names them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import RELEASE_REINSTATED
from ops_domain.audit.log import record_audit
from ops_domain.clock import as_utc, utc_now
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput
from ops_domain.rbac.actors import Actor, require_checker
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT, require_environment
from ops_domain.readiness.gate import require_release_id
from ops_domain.readiness.models import RELEASE_STATES
from ops_domain.rollback.emergency import require_emergency_actor
from ops_domain.rollback.releases import load_release
from ops_domain.rollback.watch import ALERT_TYPE, RECOMMENDED

REINSTATED = "released"
assert RECOMMENDED in RELEASE_STATES.sources_of(REINSTATED)


@dataclass(frozen=True)
class Reinstatement:
    """The recorded decision to keep a release, and the alerts still left for a person."""

    release_id: str
    status: str
    note: str
    decided_by: str
    decided_at: datetime
    open_alerts: list[dict[str, Any]] = field(default_factory=list)

    def text(self) -> list[str]:
        lines = [
            f"release {self.release_id} reinstated (released): decided by {self.decided_by}"
            f" at {self.decided_at.isoformat()}: {self.note}",
            "The rollback watch now counts only what happens from this decision on.",
        ]
        if self.open_alerts:
            lines.append(
                "Rollback trigger alert(s) left open for a person to close once handled"
                " (python -m ops_domain alerts update --alert-id N --to closed --note '...'"
                " --actor-username <you>):"
            )
        lines += [
            f"  alert #{alert['id']} ({alert['status']}): {alert['title']}"
            for alert in self.open_alerts
        ]
        return lines


def reinstate_release(
    engine: Engine,
    *,
    release_id: str,
    actor_username: str,
    note: str | None,
    environment: str = DEFAULT_ENVIRONMENT,
    now: datetime | None = None,
) -> Reinstatement:
    """Move a ``rollback_recommended`` release back to ``released``: a checker's decision
    (risk, admin, super_admin) with a note, audited. Any other status is refused."""
    release_id = require_release_id(release_id)
    environment = require_environment(environment)
    moment = as_utc(now) if now is not None else utc_now()
    with transaction(engine) as session:
        actor = require_emergency_actor(session, actor_username, "reinstate_release")
        require_checker(actor, None, note, "reinstating a release")
        release = load_release(session, release_id, environment, lock=True)
        if release["status"] != RECOMMENDED:
            raise InvalidInput(
                f"release {release_id} is {release['status']}: only a release marked"
                f" {RECOMMENDED} can be reinstated"
            )
        _mark_reinstated(session, actor, release, (note or "").strip(), moment)
        return Reinstatement(
            release_id=release_id,
            status=REINSTATED,
            note=(note or "").strip(),
            decided_by=actor.username,
            decided_at=moment,
            open_alerts=_open_trigger_alerts(session, release["id"]),
        )


def _mark_reinstated(
    session: Session, actor: Actor, release: dict[str, Any], note: str, moment: datetime
) -> None:
    session.execute(
        text(
            "UPDATE releases SET status = :to, decision_note = :note, decided_by = :actor,"
            " decided_at = :at WHERE id = :id"
        ),
        {"to": REINSTATED, "note": note, "actor": actor.id, "at": moment, "id": release["id"]},
    )
    record_audit(
        session,
        actor_id=actor.id,
        action=RELEASE_REINSTATED,
        target_type="release",
        target_id=release["release_id"],
        before={"status": release["status"], "watching_since": release["watching_since"]},
        after={"status": REINSTATED, "watching_since": moment},
        details={"note": note},
    )


def _open_trigger_alerts(session: Session, release_row_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            """
            SELECT id, title, status FROM alerts
             WHERE alert_type = :type AND target_type = 'release_trigger'
               AND split_part(target_id, ':', 1) = CAST(:release AS text)
               AND status <> 'closed'
             ORDER BY id
            """
        ),
        {"type": ALERT_TYPE, "release": release_row_id},
    ).mappings()
    return [dict(row) for row in rows]
