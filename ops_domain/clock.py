"""Time is timezone-aware UTC; a business date is the UTC date. Tests pin ``now``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from ops_domain.errors import InvalidInput


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
    return start_of_day(first), start_of_day(last + timedelta(days=1))


def parse_date(raw: str, *, field: str) -> date:
    try:
        return date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a date YYYY-MM-DD, got {raw!r}") from None


def parse_timestamp(raw: str, *, field: str) -> datetime:
    """Parse an ISO-8601 timestamp; one without a zone is read as UTC."""
    try:
        moment = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be an ISO-8601 timestamp, got {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def require_window(first: date, last: date) -> None:
    if first > last:
        raise InvalidInput(f"period start {first} is after period end {last}")
