"""Which accounting period a run acts on, and the permission its action needs (domain rule)."""

from __future__ import annotations

from datetime import date

import pytest

from ops_domain.accounting.period_choice import chosen_period, month_of, period_action_permission
from ops_domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("day", "month"),
    [
        (date(2026, 10, 1), (date(2026, 10, 1), date(2026, 10, 31))),
        (date(2028, 2, 14), (date(2028, 2, 1), date(2028, 2, 29))),
        (date(2027, 2, 28), (date(2027, 2, 1), date(2027, 2, 28))),
        (date(2026, 12, 31), (date(2026, 12, 1), date(2026, 12, 31))),
    ],
)
def test_a_period_left_to_the_schedule_is_the_calendar_month(
    day: date, month: tuple[date, date]
) -> None:
    assert month_of(day) == month
    assert chosen_period(None, None, business_date=day, named_by_a_person=False) == month


def test_a_named_period_is_taken_as_given_and_checked() -> None:
    first, last = date(2026, 11, 1), date(2026, 11, 15)
    business_date = date(2026, 11, 23)

    assert chosen_period(first, last, business_date=business_date, named_by_a_person=True) == (
        first,
        last,
    )
    for start, end, complaint in [
        (None, None, "manual runs must give period_start and period_end"),
        (first, None, "give both"),
        (None, last, "give both"),
        (last, first, "is after period end"),
    ]:
        with pytest.raises(InvalidInput, match=complaint):
            chosen_period(start, end, business_date=business_date, named_by_a_person=True)


def test_closing_and_reopening_need_their_own_permissions() -> None:
    assert period_action_permission("close") == "periods.close"
    assert period_action_permission("open") == "periods.reopen"
    with pytest.raises(InvalidInput, match="action must be one of close, open"):
        period_action_permission("delete")
