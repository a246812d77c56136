"""Accounting period governance: close blockers, idempotent close, re-open with a reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from ops_domain.accounting.periods import manage_accounting_period
from ops_domain.config import Settings
from ops_domain.errors import (
    ActorNotAllowed,
    InvalidInput,
    MakerCheckerViolation,
    NotFound,
    PeriodCloseBlocked,
)
from ops_domain.jobs import JobResult
from tests.support.factories import Factory

START, END = date(2026, 11, 1), date(2026, 11, 30)
INSIDE, OUTSIDE = date(2026, 11, 20), date(2026, 12, 1)
CLI = Callable[..., tuple[int, str, str]]


@pytest.fixture
def books(factory: Factory) -> Factory:
    factory.user("fiona", "finance")
    factory.user("rita", "risk")
    factory.user("ada", "admin")
    factory.user("otto", "operation")
    factory.account("1000-CASH", "asset")
    factory.account("4000-FEES", "revenue")
    factory.account("1000-CASH", "asset", currency="EUR")
    factory.account("4000-FEES", "revenue", currency="EUR")
    return factory


def close(engine: Engine, settings: Settings, **overrides: Any) -> JobResult:
    args: dict[str, Any] = {
        "actor_username": "fiona",
        "period_start": START,
        "period_end": END,
        "currency": "USD",
        "action": "close",
    }
    return manage_accounting_period(engine, settings, **{**args, **overrides})


def reopen(engine: Engine, settings: Settings, **overrides: Any) -> JobResult:
    args: dict[str, Any] = {"actor_username": "ada", "action": "open", "reason": "late invoices"}
    return close(engine, settings, **{**args, **overrides})


def periods(engine: Engine) -> list[tuple[str, date, date, str]]:
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT currency, period_start, period_end, status FROM accounting_periods"
                " ORDER BY currency, period_start"
            )
        ).all()
    return [tuple(row) for row in rows]


def user_id(engine: Engine, username: str) -> int:
    with engine.begin() as conn:
        return conn.execute(
            text("SELECT id FROM users WHERE username = :name"), {"name": username}
        ).scalar_one()


def account_ids(engine: Engine, currency: str) -> tuple[int, int]:
    with engine.begin() as conn:
        rows = dict(
            conn.execute(
                text("SELECT code, id FROM accounts WHERE currency = :c"), {"c": currency}
            ).all()
        )
    return rows["1000-CASH"], rows["4000-FEES"]


def draft_entry(engine: Engine, factory: Factory, day: date = INSIDE, currency: str = "USD") -> int:
    cash, fees = account_ids(engine, currency)
    return factory.journal(
        user_id(engine, "fiona"),
        [(cash, "10.00", None), (fees, None, "10.00")],
        entry_date=day,
        currency=currency,
    )


def pending_approval(engine: Engine, factory: Factory) -> int:
    entry_id = draft_entry(engine, factory)
    with engine.begin() as conn:
        return conn.execute(
            text(
                "INSERT INTO journal_approvals (entry_id, kind, requested_by)"
                " VALUES (:entry, 'post', :user) RETURNING id"
            ),
            {"entry": entry_id, "user": user_id(engine, "fiona")},
        ).scalar_one()


def make_blocker(kind: str, engine: Engine, factory: Factory) -> str:
    """Create one blocker of ``kind`` for USD 2026-11-01..30; return how it is described."""
    if kind == "draft_entry":
        draft_entry(engine, factory)
        return "draft entry JE-"
    if kind == "pending_approval":
        approval_id = pending_approval(engine, factory)
        return f"pending post approval #{approval_id} of JE-"
    if kind in {"open_break", "in_review_break"}:
        status = "open" if kind == "open_break" else "in_review"
        factory.recon_break(user_id(engine, "fiona"), business_date=INSIDE, status=status)
        return f"{status} reconciliation break BRK-"
    factory.period(date(2026, 11, 15), date(2026, 12, 15))
    return "overlaps open period 2026-11-15..2026-12-15"


@pytest.mark.parametrize(
    "kind", ["draft_entry", "pending_approval", "open_break", "in_review_break", "overlap"]
)
def test_close_is_refused_naming_each_blocker(
    engine: Engine, settings: Settings, books: Factory, kind: str
) -> None:
    described = make_blocker(kind, engine, books)
    before = periods(engine)

    with pytest.raises(PeriodCloseBlocked) as refused:
        close(engine, settings)

    assert described in str(refused.value)
    assert periods(engine) == before
    assert books.count("audit_log", "action = 'accounting_period.close'") == 0
    assert books.count("job_runs", "outcome = 'failed' AND NOT dry_run") == 1


def test_every_blocker_is_listed_at_once(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    descriptions = [
        make_blocker(kind, engine, books)
        for kind in ("draft_entry", "pending_approval", "open_break", "overlap")
    ]
    with pytest.raises(PeriodCloseBlocked) as refused:
        close(engine, settings)
    message = str(refused.value)
    assert all(description in message for description in descriptions)
    # the pending approval's entry is itself a draft: 2 drafts, 1 approval, 1 break, 1 overlap
    assert "5 blocker(s)" in message
    assert len(refused.value.blockers) == 5


def test_items_outside_the_window_or_currency_and_resolved_breaks_do_not_block(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    draft_entry(engine, books, day=OUTSIDE)
    draft_entry(engine, books, currency="EUR")
    fiona = user_id(engine, "fiona")
    books.recon_break(fiona, business_date=INSIDE, currency="EUR")
    books.recon_break(fiona, business_date=OUTSIDE)
    books.recon_break(fiona, business_date=INSIDE, status="resolved")
    books.period(date(2026, 10, 1), date(2026, 10, 31), status="closed")

    result = close(engine, settings)

    assert result.counts == {"periods_closed": 1}
    assert ("USD", START, END, "closed") in periods(engine)


def test_close_succeeds_once_the_blockers_are_cleared(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    entry_id = draft_entry(engine, books)
    with pytest.raises(PeriodCloseBlocked):
        close(engine, settings)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE journal_entries SET status = 'void', void_note = 'dup' WHERE id = :id"),
            {"id": entry_id},
        )

    result = close(engine, settings)

    assert result.counts == {"periods_closed": 1}
    (period,) = result.to_dict()["items"]["periods"]
    assert (period["status"], period["closed_by"]) == ("closed", "fiona")
    assert books.audit_actions("accounting_period") == ["accounting_period.close"]


def test_an_open_period_with_the_same_bounds_is_closed_in_place(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    period_id = books.period(START, END)
    result = close(engine, settings)
    assert result.items["periods"][0]["id"] == period_id
    assert periods(engine) == [("USD", START, END, "closed")]


def test_closing_twice_is_a_reported_no_op(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    close(engine, settings)
    again = close(engine, settings)

    assert again.counts == {"periods_already_closed": 1}
    assert "already closed" in again.messages[0]
    assert periods(engine) == [("USD", START, END, "closed")]
    assert books.audit_actions("accounting_period") == ["accounting_period.close"]


def test_reopen_needs_a_reason(engine: Engine, settings: Settings, books: Factory) -> None:
    close(engine, settings)
    before = books.table_checksums()
    with pytest.raises(InvalidInput, match="needs a reason"):
        reopen(engine, settings, reason="  ")
    assert books.table_checksums() == before


@pytest.mark.parametrize("actor", ["fiona", "rita", "otto"])
def test_reopen_needs_a_checker_allowed_to_reopen(
    engine: Engine, settings: Settings, books: Factory, actor: str
) -> None:
    close(engine, settings)
    before = books.table_checksums()
    with pytest.raises(ActorNotAllowed, match="admin, super_admin"):
        reopen(engine, settings, actor_username=actor)
    assert books.table_checksums() == before


def test_reopen_records_who_and_why_and_raises_a_period_reopened_alert(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    closed = close(engine, settings)
    period_id = closed.items["periods"][0]["id"]

    result = reopen(engine, settings)

    assert result.counts == {"periods_reopened": 1, "alerts_raised": 1}
    with engine.begin() as conn:
        period = conn.execute(
            text("SELECT * FROM accounting_periods WHERE id = :id"), {"id": period_id}
        ).one()
        alert = conn.execute(
            text("SELECT alert_type, severity, status, target_type, target_id FROM alerts")
        ).one()
    assert period.status == "open"
    assert period.reopened_by == user_id(engine, "ada")
    assert period.reopen_reason == "late invoices"
    assert tuple(alert) == ("period_reopened", "high", "open", "accounting_period", str(period_id))
    assert books.audit_actions("accounting_period") == [
        "accounting_period.close",
        "accounting_period.reopen",
    ]
    assert books.audit_actions("alert.") == ["alert.raise"]

    again = reopen(engine, settings)
    assert again.counts == {"periods_already_open": 1}
    assert books.count("alerts") == 1


def test_reopen_of_an_unknown_period_is_refused(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    with pytest.raises(NotFound, match="USD 2026-11-01"):
        reopen(engine, settings)


def test_posting_is_possible_again_after_reopen(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    from ops_domain.accounting.journals import approve_journal_approval, submit_journal
    from ops_domain.errors import PeriodClosed

    entry_id = draft_entry(engine, books)
    with engine.begin() as conn:
        conn.execute(text("UPDATE journal_entries SET status = 'void', void_note = 'x'"))
    close(engine, settings)
    late = draft_entry(engine, books)
    with pytest.raises(PeriodClosed, match="draft it again in an open period"):
        submit_journal(engine, entry_id=late, actor_username="fiona")

    reopen(engine, settings)
    approval = submit_journal(engine, entry_id=late, actor_username="fiona")
    approve_journal_approval(engine, approval_id=approval["id"], actor_username="rita", note="ok")

    assert books.count("journal_entries", "status = 'posted'") == 1
    assert books.count("journal_entries", "id = :id AND status = 'void'", id=entry_id) == 1
    assert books.count("audit_log", "action = 'journal.post_refused'") == 1  # the submit


def without_job_runs(sums: dict[str, str]) -> dict[str, str]:
    return {table: digest for table, digest in sums.items() if table != "job_runs"}


def test_dry_run_lists_the_blockers_records_a_failed_run_and_changes_nothing_else(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    described = make_blocker("open_break", engine, books)
    before = books.table_checksums()

    result = close(engine, settings, dry_run=True)

    assert result.dry_run
    assert result.counts == {"blockers": 1}
    assert described in result.messages[1]
    assert result.items["blockers"][0]["kind"] == "open_break"
    assert without_job_runs(books.table_checksums()) == without_job_runs(before)
    with engine.begin() as conn:
        run = conn.execute(text("SELECT id, dry_run, outcome, error FROM job_runs")).one()
    assert (run.id, run.dry_run, run.outcome) == (result.job_run_id, True, "failed")
    assert run.error.startswith("cannot close USD period 2026-11-01..2026-11-30: 1 blocker(s)")


def test_dry_run_of_a_clean_close_reports_what_the_real_run_does(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    before = books.table_checksums()
    dry = close(engine, settings, dry_run=True)
    assert without_job_runs(books.table_checksums()) == without_job_runs(before)

    real = close(engine, settings)

    assert dry.counts == real.counts == {"periods_closed": 1}
    assert dry.messages == real.messages


def test_cli_close_prints_the_blockers_and_exits_2(
    cli: CLI, books: Factory, engine: Engine
) -> None:
    make_blocker("draft_entry", engine, books)
    code, out, err = cli(
        "manage_accounting_period", "--actor-username", "fiona", "--period-start", "2026-11-01",
        "--period-end", "2026-11-30", "--currency", "USD", "--action", "close", "--json",
    )  # fmt: skip
    assert code == 2
    assert "cannot close USD period 2026-11-01..2026-11-30: 1 blocker(s): draft entry JE-" in err
    refused = json.loads(out)
    assert set(refused) == {"job", "dry_run", "job_run_id", "counts", "items", "messages"}
    assert (refused["job"], refused["dry_run"]) == ("manage_accounting_period", False)
    assert refused["counts"] == {"blockers": 1}
    blocker = refused["items"]["blockers"][0]
    assert (blocker["kind"], blocker["description"][:15]) == ("draft_entry", "draft entry JE-")
    assert books.count("job_runs", "id = :id AND outcome = 'failed'", id=refused["job_run_id"]) == 1

    code, out, _ = cli(
        "manage_accounting_period", "--actor-username", "fiona", "--period-start", "2026-11-01",
        "--period-end", "2026-11-30", "--currency", "USD", "--action", "close", "--dry-run",
        "--json",
    )  # fmt: skip
    assert code == 2
    dry = json.loads(out)
    assert (dry["dry_run"], dry["counts"]) == (True, {"blockers": 1})
    assert dry["items"] == refused["items"]


def test_cli_close_then_reopen(cli: CLI, books: Factory) -> None:
    base = ("manage_accounting_period", "--period-start", "2026-11-01", "--period-end",
            "2026-11-30", "--currency", "EUR", "--json")  # fmt: skip
    code, out, err = cli(*base, "--actor-username", "fiona", "--action", "close")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"periods_closed": 1}
    code, out, err = cli(*base, "--actor-username", "ada", "--action", "open", "--reason", "audit")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"periods_reopened": 1, "alerts_raised": 1}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"--currency": "GBP"}, "currency GBP is not enabled"),
        ({"--currency": "usd"}, "upper-case 3-letter code"),
        ({"--period-start": "2026-12-01"}, "is after period end"),
        ({"--period-start": "2026-11-31"}, "--period-start must be a date"),
        ({"--action": "archive"}, "invalid choice: 'archive' (choose from 'close', 'open')"),
        ({"--action": "open", "--actor-username": "ada"}, "needs a reason"),
        ({"--actor-username": "nobody"}, "actor 'nobody' does not exist"),
        ({"--actor-username": "otto"}, "needs one of the roles admin, finance, super_admin"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line_and_changes_nothing(
    cli: CLI, books: Factory, overrides: dict[str, str], message: str
) -> None:
    args = {
        "--actor-username": "fiona",
        "--period-start": "2026-11-01",
        "--period-end": "2026-11-30",
        "--currency": "USD",
        "--action": "close",
        **overrides,
    }
    before = books.table_checksums()
    code, out, err = cli("manage_accounting_period", *[x for kv in args.items() for x in kv])
    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert books.table_checksums() == before


def test_many_blockers_are_counted_exactly_and_listed_a_page_per_kind(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    for _ in range(53):
        draft_entry(engine, books)

    result = close(engine, settings, dry_run=True)

    assert result.counts == {"blockers": 53}
    listed = result.items["blockers"]
    assert len(listed) == 51
    assert listed[-1]["description"] == "and 3 more draft_entry"
    assert result.messages[0].endswith("53 blocker(s)")


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), START, END),  # its last day
        (datetime(2026, 11, 15, 9, 0, tzinfo=UTC), START, END),  # the current month
        (datetime(2026, 12, 6, 4, 0, tzinfo=UTC), date(2027, 1, 1), date(2027, 1, 31)),
    ],
)
def test_a_period_that_has_not_ended_is_never_closed(
    engine: Engine, settings: Settings, books: Factory, now: datetime, start: date, end: date
) -> None:
    with pytest.raises(PeriodCloseBlocked, match=f"ends {end}, not before the current business"):
        close(engine, settings, period_start=start, period_end=end, now=now)

    assert periods(engine) == []
    assert books.audit_actions("accounting_period") == []


def test_a_period_closes_from_the_first_business_day_after_its_end(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    result = close(engine, settings, now=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    assert result.counts == {"periods_closed": 1}


def test_the_closer_never_reopens_their_own_close(
    engine: Engine, settings: Settings, books: Factory
) -> None:
    books.user("root", "super_admin")
    close(engine, settings, actor_username="ada")
    before = books.table_checksums()

    with pytest.raises(MakerCheckerViolation, match="'ada' closed it: another checker"):
        reopen(engine, settings, actor_username="ada")

    assert books.table_checksums() == before
    assert reopen(engine, settings, actor_username="root").counts["periods_reopened"] == 1
