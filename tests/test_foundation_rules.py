"""Pure rules: money parsing, time, settings, status machines (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ops_domain.accounting.models import ENTRY_STATES, PERIOD_STATES
from ops_domain.alerts.models import ALERT_STATES
from ops_domain.cases.models import CASE_STATES
from ops_domain.clock import (
    MAX_HOURS,
    day_window,
    parse_date,
    parse_timestamp,
    require_hours,
    require_window,
)
from ops_domain.config import Settings
from ops_domain.disputes.models import CHARGEBACK_STATES, REFUND_STATES
from ops_domain.errors import IllegalTransition, InvalidInput
from ops_domain.money import positive_money, to_money
from ops_domain.payouts.models import PAYOUT_STATES
from ops_domain.settlements.models import SETTLEMENT_STATES


@pytest.mark.parametrize(
    ("machine", "allowed", "refused"),
    [
        (
            PAYOUT_STATES,
            [("pending", "sent"), ("sent", "settled"), ("sent", "failed"), ("failed", "pending")],
            [
                ("settled", "pending"),
                ("pending", "settled"),
                ("settled", "failed"),
                ("failed", "settled"),
            ],
        ),
        (
            SETTLEMENT_STATES,
            [("draft", "posted"), ("posted", "paid")],
            [("paid", "draft"), ("draft", "paid")],
        ),
        (
            REFUND_STATES,
            [
                ("pending", "approved"),
                ("pending", "rejected"),
                ("approved", "executed"),
                ("approved", "failed"),
            ],
            [("rejected", "approved"), ("pending", "executed"), ("executed", "failed")],
        ),
        (
            CHARGEBACK_STATES,
            [
                ("open", "represented"),
                ("represented", "pre_arbitration"),
                ("pre_arbitration", "lost"),
                ("open", "lost"),
                ("won", "closed"),
                ("lost", "closed"),
            ],
            [("open", "won"), ("closed", "open"), ("represented", "lost")],
        ),
        (
            CASE_STATES,
            [
                ("open", "in_progress"),
                ("open", "escalated"),
                ("escalated", "in_progress"),
                ("resolved", "closed"),
            ],
            [("closed", "open"), ("open", "closed"), ("resolved", "escalated")],
        ),
        (ALERT_STATES, [("open", "closed"), ("in_review", "open")], [("closed", "open")]),
        (
            ENTRY_STATES,
            [("draft", "posted"), ("draft", "void")],
            [("posted", "void"), ("void", "posted"), ("posted", "draft")],
        ),
        (PERIOD_STATES, [("open", "closed"), ("closed", "open")], [("open", "open")]),
    ],
)
def test_transition_tables_allow_exactly_the_listed_moves(machine, allowed, refused) -> None:
    for src, dst in allowed:
        machine.check(src, dst, note="because")
    for src, dst in refused:
        with pytest.raises(IllegalTransition, match=f"{src} -> {dst}"):
            machine.check(src, dst, note="because")


def test_terminal_moves_need_a_note() -> None:
    with pytest.raises(InvalidInput, match="needs a note"):
        PAYOUT_STATES.check("sent", "settled", note="  ")


def test_sources_of_gives_the_where_clause_of_a_set_based_move() -> None:
    assert PAYOUT_STATES.sources_of("pending") == {"failed"}
    assert CASE_STATES.sources_of("escalated") == {"open", "in_progress"}


@pytest.mark.parametrize("raw", ["abc", "1.005", "NaN", "Infinity", "1e30", ""])
def test_money_refuses_junk_extra_places_and_overflow(raw: str) -> None:
    with pytest.raises(InvalidInput):
        to_money(raw)


@pytest.mark.parametrize("raw", ["1e3", "1E+3", "10.5e-1", "1_000", "0x10"])
def test_money_refuses_exponent_notation(raw: str) -> None:
    with pytest.raises(InvalidInput, match=r"must be a plain decimal amount like 1000\.00"):
        to_money(raw)
    assert to_money(" 1000.5 ") == Decimal("1000.50")
    assert to_money("-.5") == Decimal("-0.50")


def test_money_is_decimal_never_float() -> None:
    assert to_money("10.5") == Decimal("10.50")
    with pytest.raises(InvalidInput, match="not a float"):
        to_money(10.5)
    with pytest.raises(InvalidInput, match="greater than zero"):
        positive_money("0")


def test_business_day_window_is_half_open_utc() -> None:
    start, end = day_window(date(2026, 11, 1), date(2026, 11, 2))
    assert start == datetime(2026, 11, 1, tzinfo=UTC)
    assert end == datetime(2026, 11, 3, tzinfo=UTC)


def test_dates_and_timestamps_are_validated() -> None:
    with pytest.raises(InvalidInput, match="period_start must be a date"):
        parse_date("2026-13-01", field="period_start")
    with pytest.raises(InvalidInput, match="after period end"):
        require_window(date(2026, 11, 2), date(2026, 11, 1))
    assert parse_timestamp("2026-11-01T10:00:00", field="now").tzinfo is not None
    assert parse_timestamp("2026-11-01T10:00:00+07:00", field="now").hour == 3


@pytest.mark.parametrize(
    ("first", "last"), [(date(1, 1, 1), date(2026, 1, 1)), (date(2026, 1, 1), date(9999, 12, 31))]
)
def test_dates_outside_1970_to_2999_are_refused_before_any_arithmetic(
    first: date, last: date
) -> None:
    with pytest.raises(InvalidInput, match=r"outside 1970-01-01\.\.2999-12-31"):
        day_window(first, last)
    with pytest.raises(InvalidInput, match=r"outside 1970-01-01\.\.2999-12-31"):
        require_window(first, last)
    with pytest.raises(InvalidInput, match="--period-end 9999-12-31 is outside"):
        parse_date("9999-12-31", field="--period-end")
    with pytest.raises(InvalidInput, match="--now 0001-01-01 is outside"):
        parse_timestamp("0001-01-01T00:00:00+05:00", field="--now")
    assert day_window(date(1970, 1, 1), date(2999, 12, 31))[1] == datetime(3000, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("hours", [-1, float("nan"), float("inf"), 1e9, MAX_HOURS + 1])
def test_hours_thresholds_are_bounded_to_ten_years(hours: float) -> None:
    with pytest.raises(
        InvalidInput, match=f"must be a non-negative number of hours, at most {MAX_HOURS}"
    ):
        require_hours(hours, "fallback SLA hours")
    assert require_hours(MAX_HOURS, "fallback SLA hours") == 87_600
    with pytest.raises(InvalidInput, match="OPS_REFUND_SLA_HOURS"):
        Settings.from_env({"OPS_REFUND_SLA_HOURS": "1000000000"})


def test_settings_refuse_bad_configuration_by_name() -> None:
    with pytest.raises(InvalidInput, match="OPS_ENABLED_CURRENCIES"):
        Settings.from_env({"OPS_ENABLED_CURRENCIES": "usd"})
    with pytest.raises(InvalidInput, match="OPS_BATCH_SIZE"):
        Settings.from_env({"OPS_BATCH_SIZE": "-1"})
    with pytest.raises(InvalidInput, match="OPS_AUTO_POST_LIMIT"):
        Settings.from_env({"OPS_AUTO_POST_LIMIT": "lots"})
    settings = Settings.from_env({"OPS_ENABLED_CURRENCIES": "USD, EUR"})
    assert settings.require_currency("EUR") == "EUR"
    with pytest.raises(InvalidInput, match="GBP is not enabled"):
        settings.require_currency("GBP")
    with pytest.raises(InvalidInput, match="3-letter"):
        settings.require_currency("eur")


def test_auto_post_limits_are_per_currency_with_a_default() -> None:
    settings = Settings.from_env({"OPS_AUTO_POST_LIMITS": "IDR:150000000.00, EUR:9000"})
    assert settings.auto_post_limit_for("IDR") == Decimal("150000000.00")
    assert settings.auto_post_limit_for("EUR") == Decimal("9000")
    assert settings.auto_post_limit_for("USD") == Decimal("10000.00")
    with pytest.raises(InvalidInput, match="OPS_AUTO_POST_LIMITS"):
        Settings.from_env({"OPS_AUTO_POST_LIMITS": "idr:5"})
    with pytest.raises(InvalidInput, match="OPS_AUTO_POST_LIMITS"):
        Settings.from_env({"OPS_AUTO_POST_LIMITS": "IDR:lots"})


def test_payout_second_approval_limits_are_per_currency_with_a_default() -> None:
    settings = Settings.from_env(
        {
            "OPS_PAYOUT_SECOND_APPROVAL_LIMIT": "5000",
            "OPS_PAYOUT_SECOND_APPROVAL_LIMITS": "IDR:150000000.00",
        }
    )
    assert settings.payout_second_approval_limit_for("IDR") == Decimal("150000000.00")
    assert settings.payout_second_approval_limit_for("USD") == Decimal("5000")
    assert Settings.from_env({}).payout_second_approval_limit_for("EUR") == Decimal("10000.00")
    with pytest.raises(InvalidInput, match="OPS_PAYOUT_SECOND_APPROVAL_LIMITS"):
        Settings.from_env({"OPS_PAYOUT_SECOND_APPROVAL_LIMITS": "IDR:lots"})
