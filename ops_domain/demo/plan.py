"""What a demo seed produces: scale, seed, business date, and the instants derived from them.

Every timestamp in the demo is a fixed offset from the business date ``D`` (never the wall
clock), so the same seed, date and scale give the same data. ``as_of`` (D+1 06:00 UTC) is the
instant the demo story runs its jobs at: items called overdue are overdue from then on, fresh
ones stay fresh for at least a day after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ops_domain.errors import InvalidInput

DEMO_CURRENCIES = ("USD", "EUR", "IDR")
HISTORY_DAYS = 6  # D-7 .. D-2 are settled and paid out
WINDOW_DAYS = 2  # D-1 .. D hold the unsettled events the settlement job picks up


@dataclass(frozen=True)
class Scale:
    """Volume merchants and events per merchant per day, on top of the fixed story."""

    name: str
    merchants: int
    events_per_day: int

    @property
    def volume_events(self) -> int:
        return self.merchants * self.events_per_day * (HISTORY_DAYS + WINDOW_DAYS)


SCALES = {
    scale.name: scale
    for scale in (
        Scale("small", merchants=24, events_per_day=16),
        Scale("medium", merchants=1_000, events_per_day=13),
        Scale("large", merchants=10_000, events_per_day=13),
    )
}


@dataclass(frozen=True)
class DemoPlan:
    scale: Scale
    seed: int
    business_date: date

    @classmethod
    def build(cls, scale: str, seed: int, business_date: date) -> DemoPlan:
        if scale not in SCALES:
            raise InvalidInput(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
        if not 0 <= seed < 2**31:
            raise InvalidInput(f"seed must be between 0 and 2147483647, got {seed}")
        return cls(SCALES[scale], seed, business_date)

    def day(self, offset: int) -> date:
        """The business date ``offset`` days from D (negative: earlier)."""
        return self.business_date + timedelta(days=offset)

    def at(self, offset: int, hour: int, minute: int = 0) -> datetime:
        """``hour:minute`` UTC on day D+``offset``."""
        return datetime.combine(self.day(offset), time(hour, minute), tzinfo=UTC)

    @property
    def as_of(self) -> datetime:
        return self.at(1, 6)

    @property
    def first_history_day(self) -> date:
        return self.day(-(HISTORY_DAYS + 1))

    @property
    def window(self) -> tuple[date, date]:
        """Business dates of the unsettled events: the day before D, and D."""
        return self.day(-1), self.business_date

    @property
    def month_start(self) -> date:
        return self.business_date.replace(day=1)

    @property
    def previous_month(self) -> tuple[date, date]:
        last = self.month_start - timedelta(days=1)
        return last.replace(day=1), last

    @property
    def month_end(self) -> date:
        following = (self.month_start + timedelta(days=32)).replace(day=1)
        return following - timedelta(days=1)
