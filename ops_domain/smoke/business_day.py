"""The business day every scenario happens on, the instant it acts, and settling that day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from ops_domain.config import Settings
from ops_domain.settlement_automation import automate_settlements
from ops_domain.smoke.builders import DEFAULT_DAY, DEFAULT_TIME

NOW = DEFAULT_TIME + timedelta(days=1)


def settle_day(engine: Engine, settings: Settings, actor: str) -> dict:
    """Settle ``DEFAULT_DAY`` with payouts, as ``actor``; the job's report."""
    result = automate_settlements(
        engine,
        settings,
        actor_username=actor,
        period_start=DEFAULT_DAY,
        period_end=DEFAULT_DAY,
        create_payouts=True,
        now=NOW,
    )
    return result.to_dict()
