"""The runbook's emergency actions after a bad release (SPEC 1 and 7) and the permission each
needs: the domain functions check it, and every adapter (the CLI's ``emergency`` commands, one
Airflow DAG per action, the Operations Center) reads it here instead of choosing its own."""

from __future__ import annotations

from ops_domain.errors import InvalidInput
from ops_domain.payouts.freezes import FREEZE_PERMISSION, LIFT_PERMISSION
from ops_domain.rollback.policy import EMERGENCY_PERMISSION

EMERGENCY_ACTION_PERMISSIONS: dict[str, str] = {
    "freeze_payouts": FREEZE_PERMISSION,
    "lift_payout_freeze": LIFT_PERMISSION,  # a checker's, never the one who froze
    "open_incident": EMERGENCY_PERMISSION,
    "targeted_reconciliation": EMERGENCY_PERMISSION,  # also the reconciliation rights
    "backfill_settlements": EMERGENCY_PERMISSION,  # also the settlement rights
    "record_rollback": EMERGENCY_PERMISSION,
    "reinstate_release": EMERGENCY_PERMISSION,  # by a checker
}


def emergency_permission(action: str) -> str:
    """The permission ``action`` needs; an action the runbook does not know is bad input."""
    try:
        return EMERGENCY_ACTION_PERMISSIONS[action]
    except KeyError:
        known = ", ".join(EMERGENCY_ACTION_PERMISSIONS)
        raise InvalidInput(f"no emergency action {action!r}: one of {known}") from None
