"""The validated inputs of one settlement run: its window, currency, shard and options.

A window ends at the latest on the current business date (of ``now``) and spans at most
``settings.settlement_max_window_days`` unless the run is an explicit ``backfill``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ops_domain.clock import as_utc, day_window, parse_date, require_window, utc_now
from ops_domain.config import Settings
from ops_domain.errors import InvalidInput


@dataclass(frozen=True)
class SettlementRun:
    """The validated inputs of one run."""

    period_start: date
    period_end: date
    currency: str | None
    create_payouts: bool
    backfill: bool
    now: datetime
    shard: tuple[int, int] | None

    def scope_params(self) -> dict[str, Any]:
        window_start, window_end = day_window(self.period_start, self.period_end)
        shard_index, shard_count = self.shard if self.shard else (None, None)
        return {
            "window_start": window_start,
            "window_end": window_end,
            "currency": self.currency,
            "shard_index": shard_index,
            "shard_count": shard_count,
        }

    def parameters(self) -> dict[str, Any]:
        """The run's inputs as its ``job_runs`` row records them."""
        return {
            "period_start": self.period_start,
            "period_end": self.period_end,
            "currency": self.currency,
            "create_payouts": self.create_payouts,
            "backfill": self.backfill,
            "now": self.now,
            "shard": list(self.shard) if self.shard else None,
        }


def validated_run(
    settings: Settings,
    *,
    period_start: date | str | None,
    period_end: date | str | None,
    currency: str | None,
    create_payouts: bool,
    backfill: bool,
    now: datetime | None,
    shard: tuple[int, int] | None,
) -> SettlementRun:
    """The run's inputs, checked; default window: yesterday..today of ``now``."""
    moment = as_utc(now) if now is not None else utc_now()
    today = moment.date()
    first = _as_date(period_start, "period_start", today - timedelta(days=1))
    last = _as_date(period_end, "period_end", today)
    require_window(first, last)
    _require_settleable_window(settings, first, last, today, backfill=backfill)
    if shard is not None:
        index, count = shard
        if count < 1 or not 0 <= index < count:
            raise InvalidInput(f"shard must be (index, count) with 0 <= index < count, got {shard}")
    return SettlementRun(
        period_start=first,
        period_end=last,
        currency=settings.require_currency(currency) if currency is not None else None,
        create_payouts=create_payouts,
        backfill=backfill,
        now=moment,
        shard=(shard[0], shard[1]) if shard is not None else None,
    )


def _require_settleable_window(
    settings: Settings, first: date, last: date, today: date, *, backfill: bool
) -> None:
    """Nothing is settled ahead of its business date, and a long window is a deliberate
    backfill, not a typo in a daily run."""
    if last > today:
        raise InvalidInput(
            f"the window ends {last}, after the current business date {today}:"
            " a day is settled once it has begun, never ahead"
        )
    days = (last - first).days + 1
    if days > settings.settlement_max_window_days and not backfill:
        raise InvalidInput(
            f"the window {first}..{last} spans {days} days, more than"
            f" OPS_SETTLEMENT_MAX_WINDOW_DAYS ({settings.settlement_max_window_days}):"
            " settle a longer window as an explicit backfill (emergency backfill_settlements)"
        )


def _as_date(value: date | str | None, field: str, default: date) -> date:
    if value is None:
        return default
    if isinstance(value, datetime):
        raise InvalidInput(f"{field} must be a date, got the timestamp {value.isoformat()}")
    if isinstance(value, date):
        return value
    return parse_date(value, field=field)
