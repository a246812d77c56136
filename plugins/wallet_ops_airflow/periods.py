"""Which accounting period a governance run acts on, from its Params or its data interval."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

from wallet_ops_airflow.refusal import refuse
from wallet_ops_airflow.run_request import RunRequest


def month_of(day: date) -> tuple[date, date]:
    """First and last day of the calendar month containing ``day``."""
    _, days = calendar.monthrange(day.year, day.month)
    return day.replace(day=1), day.replace(day=days)


def requested_period(params: dict[str, Any], request: RunRequest) -> tuple[date, date]:
    """Both dates from the Params, else the month of the business date (the month that just
    ended, on the monthly schedule); a manual run must name its period explicitly."""
    start, end = params.get("period_start"), params.get("period_end")
    if start is None and end is None:
        if request.manual:
            raise refuse("manual runs must give period_start and period_end")
        return month_of(request.business_date)
    if start is None or end is None:
        raise refuse("give both period_start and period_end, or neither")
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    if last < first:
        raise refuse(f"period_end {last} is before period_start {first}")
    return first, last
