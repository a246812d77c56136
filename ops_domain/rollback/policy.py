"""The rollback watch's triggers, thresholds and switches (read from the environment).

``OPS_ROLLBACK_BREAKS_ABS`` (default 5) and ``OPS_ROLLBACK_BREAKS_REL`` (default 0.5): the
reconciliation-break trigger fires only when the rise over the snapshot exceeds both.
``OPS_ROLLBACK_POSTING_REFUSALS`` (default 0): postings refused by period-close controls since
the release that are tolerated (0: any refusal fires). ``OPS_ROLLBACK_CHARGEBACK_REFUSALS``
(default 2): refused chargeback transitions tolerated since the release, so one operator
slip does not recommend a rollback (a chargeback past due without a transition always fires).
``OPS_AUTO_FREEZE_ON_ROLLBACK`` (default
false): a firing trigger freezes payouts globally. ``OPS_ROLLBACK_WATCH_HOURS`` (default 24):
how long after its release the scheduled watch keeps looking at a release.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal

from ops_domain.clock import require_hours
from ops_domain.config import _env_decimal, _env_int
from ops_domain.errors import InvalidInput

INCIDENT_SLA_HOURS = 4
# every emergency action after a bad release (incident, reconciliation, backfill, rollback)
EMERGENCY_PERMISSION = "emergency.act"
MAX_INCIDENT_SLA_HOURS = 72
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class RollbackPolicy:
    breaks_abs: int = 5
    breaks_rel: Decimal = Decimal("0.5")
    posting_refusals: int = 0
    auto_freeze: bool = False
    watch_hours: int = 24
    chargeback_refusals: int = 2

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> RollbackPolicy:
        env = dict(os.environ if env is None else env)
        relative = _env_decimal(env, "OPS_ROLLBACK_BREAKS_REL", "0.5")
        if not relative.is_finite() or relative < 0:
            raise InvalidInput(f"OPS_ROLLBACK_BREAKS_REL must be 0 or more, got {relative}")
        return cls(
            breaks_abs=_env_int(env, "OPS_ROLLBACK_BREAKS_ABS", 5),
            breaks_rel=relative,
            posting_refusals=_env_int(env, "OPS_ROLLBACK_POSTING_REFUSALS", 0),
            chargeback_refusals=_env_int(env, "OPS_ROLLBACK_CHARGEBACK_REFUSALS", 2),
            auto_freeze=_env_flag(env, "OPS_AUTO_FREEZE_ON_ROLLBACK"),
            watch_hours=int(
                require_hours(
                    max(1, _env_int(env, "OPS_ROLLBACK_WATCH_HOURS", 24)),
                    "OPS_ROLLBACK_WATCH_HOURS",
                )
            ),
        )


def _env_flag(env: dict[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise InvalidInput(f"{name} must be true or false, got {env[name]!r}")
