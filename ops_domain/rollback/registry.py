"""The one list of rollback triggers, in the runbook's order (SPEC 1 and 7): the rollback watch
reads every trigger in it, an incident names one of them (or ``manual``), and the CLI and the
emergency DAGs offer exactly these names.

Adding a trigger: its module in ``rollback/triggers/`` (a function returning a
``TriggerReading`` built from ``read_evidence``), its entry here, and its tests.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ops_domain.config import RollbackPolicy
from ops_domain.rollback.evidence import Trigger, TriggerReading
from ops_domain.rollback.triggers.chargebacks_stalled import chargebacks_stalled
from ops_domain.rollback.triggers.payouts_failed import payouts_failed
from ops_domain.rollback.triggers.posting_refusals import posting_refusals
from ops_domain.rollback.triggers.recon_break_spike import recon_break_spike

if TYPE_CHECKING:  # a type only: the DAG parse imports this module through the registry
    from ops_domain.rollback.releases import WatchedRelease

TRIGGERS: dict[str, Trigger] = {
    "recon_break_spike": recon_break_spike,
    "payouts_failed": payouts_failed,
    "chargebacks_stalled": chargebacks_stalled,
    "posting_refusals": posting_refusals,
}
TRIGGER_NAMES = tuple(TRIGGERS)
# An incident names the trigger behind it, or "manual" when a person saw the problem first.
INCIDENT_TRIGGERS = (*TRIGGER_NAMES, "manual")


def read_triggers(
    session: Session, release: WatchedRelease, policy: RollbackPolicy, now: datetime
) -> list[TriggerReading]:
    """Every trigger, in runbook order, read in one transaction (one consistent view); each
    reading carries its registered name."""
    return [
        trigger(session, release, policy, now).named(name) for name, trigger in TRIGGERS.items()
    ]
