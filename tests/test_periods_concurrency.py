"""A posting and a period close of the same currency serialize: the later one sees the first."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.accounting.journals import approve_journal_approval, submit_journal
from ops_domain.accounting.periods import lock_currency_periods, manage_accounting_period
from ops_domain.config import Settings
from ops_domain.errors import PeriodClosed
from ops_domain.jobs import JobResult
from tests.support.advisory_locks import advisory_lock_waiters
from tests.support.factories import Factory

pytestmark = pytest.mark.reliability

DAY = date(2026, 11, 20)


def wait_until_blocked_on_advisory_lock(engine: Engine, waiters: int = 1) -> None:
    """Poll until ``waiters`` sessions wait for an advisory lock (fails after 20 s)."""
    for _ in range(400):
        with engine.begin() as conn:
            waiting = advisory_lock_waiters(conn)
        if waiting >= waiters:
            return
        time.sleep(0.05)
    pytest.fail("the second transaction never waited for the period lock")


@pytest.fixture
def pending_post(engine: Engine, factory: Factory) -> int:
    fiona = factory.user("fiona", "finance")
    factory.user("rita", "risk")
    cash, fees = factory.account("1000-CASH"), factory.account("4000-FEES", "revenue")
    entry_id = factory.journal(fiona, [(cash, "10.00", None), (fees, None, "10.00")])
    return submit_journal(engine, entry_id=entry_id, actor_username="fiona")["id"]


def test_a_posting_waits_for_a_close_in_progress_and_is_then_refused(
    engine: Engine, factory: Factory, pending_post: int
) -> None:
    with Session(engine) as closing, closing.begin():
        lock_currency_periods(closing, "USD", exclusive=True)
        with ThreadPoolExecutor(1) as pool:
            posting: Future[object] = pool.submit(
                approve_journal_approval,
                engine,
                approval_id=pending_post,
                actor_username="rita",
                note="ok",
            )
            wait_until_blocked_on_advisory_lock(engine)
            closing.execute(
                text(
                    "INSERT INTO accounting_periods (currency, period_start, period_end, status)"
                    " VALUES ('USD', '2026-11-01', '2026-11-30', 'closed')"
                )
            )
            closing.commit()
            with pytest.raises(PeriodClosed):
                posting.result(timeout=30)
    assert factory.count("journal_entries", "status = 'posted'") == 0
    assert factory.count("audit_log", "action = 'journal.post_refused'") == 1


def test_a_close_waits_for_a_posting_in_progress_and_then_sees_no_blocker(
    engine: Engine, factory: Factory, settings: Settings, pending_post: int
) -> None:
    with Session(engine) as posting, posting.begin():
        lock_currency_periods(posting, "USD", exclusive=False)
        posting.execute(text("UPDATE journal_approvals SET status = 'approved'"))
        with ThreadPoolExecutor(1) as pool:
            closing: Future[JobResult] = pool.submit(
                manage_accounting_period,
                engine,
                settings,
                actor_username="fiona",
                period_start=date(2026, 11, 1),
                period_end=date(2026, 11, 30),
                currency="USD",
                action="close",
            )
            wait_until_blocked_on_advisory_lock(engine)
            posting.execute(text("UPDATE journal_entries SET status = 'posted'"))
            posting.commit()
            assert closing.result(timeout=30).counts == {"periods_closed": 1}
    assert factory.count("accounting_periods", "status = 'closed'") == 1
