"""Time is timezone-aware UTC; a business date is the UTC date. Tests pin ``now``."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

from ops_domain.errors import InvalidInput

# Business dates outside this range are typing mistakes, and near date.min/max day arithmetic
# overflows: refuse them as input instead of failing inside a job.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)
MAX_HOURS = 24 * 365 * 10  # an SLA or look-back threshold longer than ten years is a mistake


def utc_now() -> datetime:
    return datetime.now(UTC)


def business_date(moment: datetime) -> date:
    return as_utc(moment).date()


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput(f"timestamp {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_window(first: date, last: date) -> tuple[datetime, datetime]:
    """Half-open UTC instant range covering business dates ``first``..``last`` inclusive."""
    require_window(first, last)
    return start_of_day(first), start_of_day(last + timedelta(days=1))


def require_date_in_range(day: date, *, field: str) -> date:
    """A business date lies between ``EARLIEST_DATE`` and ``LATEST_DATE``."""
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise InvalidInput(f"{field} {day} is outside {EARLIEST_DATE}..{LATEST_DATE}")
    return day


def parse_date(raw: str, *, field: str) -> date:
    try:
        day = date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a date YYYY-MM-DD, got {raw!r}") from None
    return require_date_in_range(day, field=field)


def parse_timestamp(raw: str, *, field: str) -> datetime:
    """Parse an ISO-8601 timestamp; one without a zone is read as UTC."""
    try:
        moment = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be an ISO-8601 timestamp, got {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    require_date_in_range(moment.date(), field=field)  # first: 9999-12-31 -05:00 overflows
    require_date_in_range(moment.astimezone(UTC).date(), field=f"{field} (in UTC)")
    return moment.astimezone(UTC)


def require_window(first: date, last: date) -> None:
    """Both ends are sane business dates and the window is not reversed."""
    require_date_in_range(first, field="period start")
    require_date_in_range(last, field="period end")
    if first > last:
        raise InvalidInput(f"period start {first} is after period end {last}")


def require_hours(value: float, name: str) -> float:
    """A threshold in hours is finite, non-negative and at most ``MAX_HOURS``."""
    if not math.isfinite(value) or not 0 <= value <= MAX_HOURS:
        raise InvalidInput(
            f"{name} must be a non-negative number of hours, at most {MAX_HOURS}, got {value:g}"
        )
    return value
