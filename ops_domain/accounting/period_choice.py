"""Which accounting period a run acts on, and which permission its action needs.

A period is named by its first and last day, or left to the run: then it is the calendar
month of the run's business date (the monthly close runs on the 1st for the month that just
ended). A person must name the period they act on; only a schedule may leave it out.
"""

from __future__ import annotations

import calendar
from datetime import date

from ops_domain.accounting.periods import ACTIONS, CLOSE_JOB, REOPEN_JOB
from ops_domain.clock import require_window
from ops_domain.errors import InvalidInput


def month_of(day: date) -> tuple[date, date]:
    """First and last day of the calendar month containing ``day``."""
    _, days = calendar.monthrange(day.year, day.month)
    return day.replace(day=1), day.replace(day=days)


def chosen_period(
    start: date | None, end: date | None, *, business_date: date, named_by_a_person: bool
) -> tuple[date, date]:
    """Both days as given, else the month of ``business_date`` when a schedule chose."""
    if start is None and end is None:
        if named_by_a_person:
            raise InvalidInput("manual runs must give period_start and period_end")
        return month_of(business_date)
    if start is None or end is None:
        raise InvalidInput("give both period_start and period_end, or neither")
    require_window(start, end)
    return start, end


def period_action_permission(action: str) -> str:
    """Closing needs ``periods.close``; re-opening, a checker decision, ``periods.reopen``."""
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    return (CLOSE_JOB if action == "close" else REOPEN_JOB).permission
