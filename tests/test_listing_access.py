"""Who may read a list is the domain's rule, whichever adapter asks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ops_domain.db import transaction
from ops_domain.errors import InactiveActor, InvalidInput, UnknownActor
from ops_domain.listing import MAX_DAYS, UncheckedRead, fetch_day_series, read_list
from ops_domain.payouts.queries import list_payouts
from tests.support.factories import Factory


def test_a_list_needs_an_active_login_with_read_permission(
    engine: Engine, factory: Factory
) -> None:
    factory.user("auditor", "sales")  # every role may read lists
    factory.user("gone", "sales", active=False)

    assert read_list(engine, list_payouts, actor_username="auditor", what="payouts") == []
    for username, refusal in [
        ("gone", InactiveActor),
        ("stranger", UnknownActor),
    ]:
        with pytest.raises(refusal):
            read_list(engine, list_payouts, actor_username=username, what="payouts")


def test_a_list_reads_in_a_read_only_transaction(engine: Engine, factory: Factory) -> None:
    factory.user("auditor", "sales")

    def writes(session: Session, **_: object) -> list[dict[str, object]]:
        session.execute(text("CREATE TEMP TABLE t (x int)"))
        return []

    with pytest.raises(DBAPIError, match="read-only transaction"):
        read_list(engine, writes, actor_username="auditor", what="anything")


def test_a_list_query_refuses_a_caller_who_skipped_the_check(
    engine: Engine, factory: Factory
) -> None:
    factory.user("auditor", "sales")
    with transaction(engine) as session, pytest.raises(UncheckedRead, match="read_list"):
        list_payouts(session)
    assert read_list(engine, list_payouts, actor_username="auditor", what="payouts") == []


def test_a_by_day_series_refuses_a_bad_window_and_a_caller_who_skipped_the_check(
    engine: Engine, factory: Factory
) -> None:
    factory.user("auditor", "sales")
    series = text(
        "SELECT CAST(:first_day AS date) AS day, CAST(:last_day AS date) AS last LIMIT :limit"
    )

    def days(session: Session, **window: date) -> list[dict[str, object]]:
        return fetch_day_series(session, series, window["first_day"], window["last_day"], 5)

    def read(first_day: date, last_day: date) -> list[dict[str, object]]:
        return read_list(
            engine,
            days,
            actor_username="auditor",
            what="days",
            first_day=first_day,
            last_day=last_day,
        )

    first, last = date(2026, 1, 1), date(2026, 1, 31)
    assert read(first, last) == [{"day": first, "last": last}]
    with pytest.raises(
        InvalidInput, match=r"^the window ends \(2026-01-01\) before it starts \(2026-01-31\)$"
    ):
        read(last, first)
    with pytest.raises(InvalidInput, match=rf"^a by-day series covers at most {MAX_DAYS} days$"):
        read(first, first + timedelta(days=MAX_DAYS))
    assert read(first, first + timedelta(days=MAX_DAYS - 1))[0]["day"] == first
    with transaction(engine) as session, pytest.raises(UncheckedRead, match="read_list"):
        fetch_day_series(session, series, first, last, 5)
