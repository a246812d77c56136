"""accounting_period_governance end to end: blockers are listed before anything is closed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, text

from ops_domain.accounting.journals import void_journal
from tests.airflow.support import run_dag
from tests.support.factories import Factory

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

OCTOBER = {"period_start": "2026-10-01", "period_end": "2026-10-31"}


def periods(engine: Engine) -> list[tuple]:
    with engine.begin() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT currency, period_start, period_end, status FROM accounting_periods"
                    " ORDER BY currency"
                )
            )
        ]


def test_close_with_blockers_fails_listing_them_and_closes_once_they_are_cleared(
    airflow_db: dict[str, str],
    engine: Engine,
    factory: Factory,
    capfd: pytest.CaptureFixture[str],
) -> None:
    maker = factory.user("fiona", "finance")
    cash, revenue = factory.account("1000"), factory.account("4000", "revenue")
    draft = factory.journal(
        maker, [(cash, "10.00", None), (revenue, None, "10.00")], entry_date=date(2026, 10, 30)
    )
    conf = {**OCTOBER, "currency": "USD", "action": "close"}

    blocked = run_dag("accounting_period_governance", conf, login="fiona")

    assert blocked.state == "failed"
    assert blocked.tasks["list_blockers[0]"] == "failed"
    assert blocked.tasks["apply"] == "upstream_failed"
    output = capfd.readouterr()
    log = output.out + output.err
    assert "USD 2026-10-01..2026-10-31: 1 blocker(s)" in log
    assert "  - draft entry JE-" in log
    assert periods(engine) == []

    void_journal(engine, entry_id=draft, actor_username="fiona", note="duplicate of JE-2")
    closed = run_dag("accounting_period_governance", conf, login="fiona")

    assert closed.state == "success", closed.tasks
    assert closed.xcom("apply")["counts"] == {"periods_closed": 1}
    assert periods(engine) == [("USD", date(2026, 10, 1), date(2026, 10, 31), "closed")]


def test_a_manual_run_without_a_period_fails_before_touching_the_books(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    factory.user("fiona", "finance")
    before = factory.table_checksums()

    run = run_dag("accounting_period_governance", login="fiona")

    assert run.state == "failed"
    assert run.tasks["plan_periods"] == "failed"
    assert run.tasks["list_blockers"] == "upstream_failed"
    assert factory.table_checksums() == before
