"""Journal entries: posting rules, maker-checker, closed periods, void and reversal."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from ops_domain.accounting.journals import (
    JournalLineInput,
    approve_journal_approval,
    create_journal,
    reject_journal_approval,
    reverse_journal,
    submit_journal,
    void_journal,
)
from ops_domain.config import Settings
from ops_domain.errors import (
    ActorNotAllowed,
    IllegalTransition,
    InvalidInput,
    MakerCheckerViolation,
    PeriodClosed,
)
from tests.support.factories import Factory

DAY = date(2026, 11, 20)
CLI = Callable[..., tuple[int, str, str]]


@pytest.fixture
def ledger(factory: Factory) -> Factory:
    """Makers, checkers and a small USD chart of accounts (plus one EUR-only account)."""
    factory.user("fiona", "finance")
    factory.user("tom", "treasury")
    factory.user("rita", "risk")
    factory.user("ada", "admin")
    factory.user("cora", "customer_service")
    factory.account("1000-CASH", "asset")
    factory.account("4000-FEES", "revenue")
    factory.account("2000-PAYABLE", "liability")
    factory.account("1100-BANK-EUR", "asset", currency="EUR")
    return factory


def lines(*specs: str) -> list[JournalLineInput]:
    return [JournalLineInput.parse(spec) for spec in specs]


def draft(
    engine: Engine, settings: Settings, *, maker: str = "fiona", entry_date: date = DAY
) -> dict[str, Any]:
    return create_journal(
        engine,
        settings,
        actor_username=maker,
        entry_date=entry_date,
        currency="USD",
        description="merchant fees for the day",
        lines=lines(
            "1000-CASH:debit:125.50", "4000-FEES:credit:100.00", "2000-PAYABLE:credit:25.50"
        ),
    )


def post(engine: Engine, entry_id: int, checker: str = "rita") -> None:
    """Fiona submits the entry, ``checker`` approves it: it is posted."""
    approval = submit_journal(engine, entry_id=entry_id, actor_username="fiona")
    approve_journal_approval(engine, approval_id=approval["id"], actor_username=checker, note="ok")


def reverse(engine: Engine, entry_id: int, reason: str) -> dict[str, Any]:
    """Fiona drafts a reversal of the entry, dated DAY, for ``reason``."""
    return reverse_journal(
        engine, entry_id=entry_id, actor_username="fiona", entry_date=DAY, reason=reason
    )


def entry_row(engine: Engine, entry_id: int) -> dict[str, Any]:
    with engine.begin() as conn:
        return dict(
            conn.execute(text("SELECT * FROM journal_entries WHERE id = :id"), {"id": entry_id})
            .one()
            ._mapping
        )


def one_value(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.begin() as conn:
        return conn.execute(text(sql), params).scalar_one()


def user_id(engine: Engine, username: str) -> int:
    return one_value(engine, "SELECT id FROM users WHERE username = :name", name=username)


def assert_approval_refused(
    engine: Engine,
    approval: dict[str, Any],
    checker: str,
    refusal: type[Exception],
    match: str,
    note: str = "ok",
) -> None:
    """``checker``'s approval of the request (with ``note``) is refused with ``refusal``,
    naming ``match``."""
    with pytest.raises(refusal, match=match):
        approve_journal_approval(
            engine, approval_id=approval["id"], actor_username=checker, note=note
        )


def approval_status(engine: Engine, approval_id: int) -> str:
    return one_value(engine, "SELECT status FROM journal_approvals WHERE id = :id", id=approval_id)


def test_balanced_entry_is_drafted_with_its_lines_and_audited(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    assert entry["status"] == "draft"
    assert entry["entry_no"].startswith("JE-")
    assert entry["total"] == Decimal("125.50")
    assert [(x["account_code"], x["debit"], x["credit"]) for x in entry["lines"]] == [
        ("1000-CASH", "125.50", None),
        ("4000-FEES", None, "100.00"),
        ("2000-PAYABLE", None, "25.50"),
    ]
    assert ledger.audit_actions("journal") == ["journal.create"]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (("1000-CASH:debit:100.00", "4000-FEES:credit:99.99"), "does not balance"),
        (("1000-CASH:debit:100.00",), "at least 2 lines"),
        (("1000-CASH:debit:100.00", "1100-BANK-EUR:credit:100.00"), "no USD account"),
        (("1000-CASH:debit:100.00", "9999-NOPE:credit:100.00"), "no USD account with code 9999"),
    ],
    ids=["unbalanced", "one_line", "account_of_another_currency", "unknown_account"],
)
def test_malformed_entry_is_refused_and_nothing_is_written(
    engine: Engine, settings: Settings, ledger: Factory, specs: tuple[str, ...], message: str
) -> None:
    before = ledger.table_checksums()
    with pytest.raises(InvalidInput, match=message):
        create_journal(
            engine,
            settings,
            actor_username="fiona",
            entry_date=DAY,
            currency="USD",
            description="bad",
            lines=lines(*specs),
        )
    assert ledger.table_checksums() == before


def test_entry_in_a_currency_that_is_not_enabled_is_refused(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    with pytest.raises(InvalidInput, match="currency GBP is not enabled"):
        create_journal(
            engine,
            settings,
            actor_username="fiona",
            entry_date=DAY,
            currency="GBP",
            description="x",
            lines=lines("1000-CASH:debit:1.00", "4000-FEES:credit:1.00"),
        )


@pytest.mark.parametrize(
    "raw",
    [
        "1000-CASH:debit:0",
        "1000-CASH:credit:-5.00",
        "1000-CASH:both:5.00",
        "1000-CASH:5.00",
        ":debit:1",
    ],
)
def test_a_line_is_a_positive_debit_or_credit(raw: str) -> None:
    with pytest.raises(InvalidInput):
        JournalLineInput.parse(raw)


def test_a_line_with_both_sides_is_refused(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    both = JournalLineInput("1000-CASH", debit=Decimal("5.00"), credit=Decimal("5.00"))
    with pytest.raises(InvalidInput, match="debit or a credit"):
        create_journal(
            engine,
            settings,
            actor_username="fiona",
            entry_date=DAY,
            currency="USD",
            description="x",
            lines=[both, *lines("4000-FEES:credit:5.00")],
        )


def test_checker_approval_posts_the_entry(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    approval = submit_journal(engine, entry_id=entry["id"], actor_username="fiona")
    assert (approval["kind"], approval["status"]) == ("post", "pending")

    outcome = approve_journal_approval(
        engine, approval_id=approval["id"], actor_username="rita", note="matches the fee report"
    )

    row = entry_row(engine, entry["id"])
    assert row["status"] == "posted"
    assert row["posted_by"] == user_id(engine, "rita")
    assert row["posted_at"] is not None
    assert outcome["approval"]["status"] == "approved"
    assert outcome["approval"]["note"] == "matches the fee report"
    assert ledger.audit_actions("journal") == [
        "journal.create",
        "journal_approval.request",
        "journal_approval.approve",
        "journal.post",
    ]


def test_the_maker_cannot_approve_their_own_entry(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings, maker="ada")
    approval = submit_journal(engine, entry_id=entry["id"], actor_username="ada")
    assert_approval_refused(engine, approval, "ada", MakerCheckerViolation, "'ada' is the maker")
    assert entry_row(engine, entry["id"])["status"] == "draft"


def test_the_checker_is_neither_the_requester_nor_the_entry_maker(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    made_by_ada = draft(engine, settings, maker="ada")
    approval = submit_journal(engine, entry_id=made_by_ada["id"], actor_username="fiona")
    assert_approval_refused(engine, approval, "ada", MakerCheckerViolation, "'ada' is the maker")

    made_by_fiona = draft(engine, settings)
    requested_by_ada = submit_journal(engine, entry_id=made_by_fiona["id"], actor_username="ada")
    assert_approval_refused(engine, requested_by_ada, "ada", MakerCheckerViolation, "is the maker")
    assert approval_status(engine, approval["id"]) == "pending"
    assert approval_status(engine, requested_by_ada["id"]) == "pending"


def test_a_maker_role_cannot_approve_and_a_note_is_required(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    approval = submit_journal(engine, entry_id=entry["id"], actor_username="fiona")
    assert_approval_refused(engine, approval, "tom", ActorNotAllowed, "admin, risk, super_admin")
    assert_approval_refused(engine, approval, "rita", MakerCheckerViolation, "needs a note", " ")
    assert entry_row(engine, entry["id"])["status"] == "draft"
    assert approval_status(engine, approval["id"]) == "pending"


def test_only_makers_may_draft_entries(engine: Engine, settings: Settings, ledger: Factory) -> None:
    before = ledger.table_checksums()
    with pytest.raises(ActorNotAllowed, match="journals create"):
        draft(engine, settings, maker="cora")
    assert ledger.table_checksums() == before


def test_posting_into_a_closed_period_is_refused_and_the_refusal_recorded(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    approval = submit_journal(engine, entry_id=entry["id"], actor_username="fiona")
    ledger.period(date(2026, 11, 1), date(2026, 11, 30), status="closed")

    with pytest.raises(PeriodClosed) as refused:
        approve_journal_approval(
            engine, approval_id=approval["id"], actor_username="rita", note="ok"
        )

    assert str(refused.value) == (
        "USD entry dated 2026-11-20 falls in closed period 2026-11-01..2026-11-30: nothing was"
        f" posted; reject approval #{approval['id']} (journals reject --approval-id"
        f" {approval['id']} --note ...), then the maker voids {entry['entry_no']} and drafts it"
        " in an open period"
    )
    assert entry_row(engine, entry["id"])["status"] == "draft"
    assert approval_status(engine, approval["id"]) == "pending"
    with engine.begin() as conn:
        refusal = conn.execute(
            text(
                "SELECT actor_id, target_type, target_id, details FROM audit_log"
                " WHERE action = 'journal.post_refused'"
            )
        ).one()
    assert (refusal.target_type, refusal.target_id) == ("journal_entry", str(entry["id"]))
    assert refusal.details == {
        "entry_no": entry["entry_no"],
        "entry_date": "2026-11-20",
        "currency": "USD",
        "period": "2026-11-01..2026-11-30",
        "approval_id": approval["id"],
        "step": "approve",
        "reason": "entry date falls in closed period 2026-11-01..2026-11-30",
    }


def refusals_by_step(engine: Engine) -> list[tuple[str, str, str, str]]:
    """(step, entry_date, period, target_id) of each recorded period-close refusal."""
    with engine.begin() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT details->>'step', details->>'entry_date', details->>'period',"
                    " target_id FROM audit_log WHERE action = 'journal.post_refused' ORDER BY id"
                )
            )
        ]


def business_checksums(ledger: Factory) -> dict[str, str]:
    return {table: sum for table, sum in ledger.table_checksums().items() if table != "audit_log"}


def test_an_entry_dated_in_a_closed_period_is_refused_when_drafted_and_recorded(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    ledger.period(date(2026, 10, 1), date(2026, 10, 31), status="closed")
    before = business_checksums(ledger)

    with pytest.raises(PeriodClosed) as refused:
        draft(engine, settings, entry_date=date(2026, 10, 31))

    assert str(refused.value) == (
        "USD entry dated 2026-10-31 falls in closed period 2026-10-01..2026-10-31:"
        " date the entry in an open period"
    )
    assert business_checksums(ledger) == before
    assert refusals_by_step(engine) == [("create", "2026-10-31", "2026-10-01..2026-10-31", "new")]
    assert draft(engine, settings, entry_date=date(2026, 11, 1))["status"] == "draft"


def test_a_draft_whose_period_closed_is_refused_when_submitted_and_recorded(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    ledger.period(date(2026, 11, 1), date(2026, 11, 30), status="closed")
    before = business_checksums(ledger)

    with pytest.raises(PeriodClosed, match=f"void {entry['entry_no']} and draft it again"):
        submit_journal(engine, entry_id=entry["id"], actor_username="fiona")

    assert business_checksums(ledger) == before
    assert ledger.count("journal_approvals") == 0
    assert refusals_by_step(engine) == [
        ("submit", "2026-11-20", "2026-11-01..2026-11-30", str(entry["id"]))
    ]


def test_a_reversal_dated_in_a_closed_period_is_refused_when_drafted_and_recorded(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    post(engine, entry["id"])
    ledger.period(date(2026, 10, 1), date(2026, 10, 31), status="closed")
    before = business_checksums(ledger)

    with pytest.raises(PeriodClosed, match=r"2026-10-01\.\.2026-10-31: date the reversal in an"):
        reverse_journal(
            engine,
            entry_id=entry["id"],
            actor_username="fiona",
            entry_date=date(2026, 10, 31),
            reason="wrong day",
        )

    assert business_checksums(ledger) == before
    assert refusals_by_step(engine) == [
        ("reverse", "2026-10-31", "2026-10-01..2026-10-31", str(entry["id"]))
    ]


def test_input_mistakes_next_to_a_closed_period_are_not_recorded(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    ledger.period(date(2026, 10, 1), date(2026, 10, 31), status="closed")

    with pytest.raises(InvalidInput, match="at least 2 lines"):
        create_journal(
            engine,
            settings,
            actor_username="fiona",
            entry_date=date(2026, 10, 31),
            currency="USD",
            description="one-legged",
            lines=lines("1000-CASH:debit:1.00"),
        )
    with pytest.raises(ActorNotAllowed):
        draft(engine, settings, maker="cora", entry_date=date(2026, 10, 31))

    assert refusals_by_step(engine) == []


def test_a_closed_period_of_another_currency_does_not_block_posting(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    ledger.period(date(2026, 11, 1), date(2026, 11, 30), currency="EUR", status="closed")
    ledger.period(date(2026, 10, 1), date(2026, 10, 31), status="closed")
    entry = draft(engine, settings)
    post(engine, entry["id"])
    assert entry_row(engine, entry["id"])["status"] == "posted"
    assert ledger.count("audit_log", "action = 'journal.post_refused'") == 0


def test_rejection_keeps_the_draft_which_can_be_resubmitted(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    first = submit_journal(engine, entry_id=entry["id"], actor_username="fiona")
    with pytest.raises(InvalidInput, match="already awaits a checker"):
        submit_journal(engine, entry_id=entry["id"], actor_username="fiona")
    rejected = reject_journal_approval(
        engine, approval_id=first["id"], actor_username="rita", note="wrong fee account"
    )
    assert rejected["status"] == "rejected"
    assert entry_row(engine, entry["id"])["status"] == "draft"
    with pytest.raises(IllegalTransition, match="rejected -> approved"):
        approve_journal_approval(engine, approval_id=first["id"], actor_username="rita", note="ok")

    post(engine, entry["id"])
    assert entry_row(engine, entry["id"])["status"] == "posted"


def test_a_draft_is_voided_with_a_note_and_never_deleted(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    with pytest.raises(InvalidInput, match="needs a note"):
        void_journal(engine, entry_id=entry["id"], actor_username="fiona", note="")
    voided = void_journal(engine, entry_id=entry["id"], actor_username="fiona", note="duplicate")
    assert (voided["status"], voided["void_note"]) == ("void", "duplicate")
    assert ledger.count("journal_lines", "entry_id = :id", id=entry["id"]) == 3
    with pytest.raises(IllegalTransition, match="void -> posted"):
        submit_journal(engine, entry_id=entry["id"], actor_username="fiona")
    assert ledger.audit_actions("journal.void") == ["journal.void"]


def test_a_draft_awaiting_a_checker_cannot_be_voided(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    submit_journal(engine, entry_id=entry["id"], actor_username="fiona")
    with pytest.raises(InvalidInput, match="must be rejected before"):
        void_journal(engine, entry_id=entry["id"], actor_username="fiona", note="oops")
    assert entry_row(engine, entry["id"])["status"] == "draft"


def test_a_posted_entry_cannot_be_voided(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    post(engine, entry["id"])
    with pytest.raises(IllegalTransition, match="posted -> void"):
        void_journal(engine, entry_id=entry["id"], actor_username="fiona", note="too late")


def account_balances(engine: Engine) -> dict[str, Decimal]:
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                """
                SELECT a.code, sum(coalesce(l.debit, 0) - coalesce(l.credit, 0))
                  FROM journal_lines l
                  JOIN journal_entries e ON e.id = l.entry_id AND e.status = 'posted'
                  JOIN accounts a ON a.id = l.account_id
                 GROUP BY a.code
                """
            )
        ).all()
    return dict(rows)


def test_a_posted_reversal_swaps_the_lines_and_nets_every_account_to_zero(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    post(engine, entry["id"])
    assert account_balances(engine) == {
        "1000-CASH": Decimal("125.50"),
        "4000-FEES": Decimal("-100.00"),
        "2000-PAYABLE": Decimal("-25.50"),
    }

    outcome = reverse_journal(
        engine,
        entry_id=entry["id"],
        actor_username="ada",
        entry_date=date(2026, 12, 1),
        reason="fees charged twice",
    )
    reversal, approval = outcome["reversal"], outcome["approval"]
    assert reversal["reversal_of"] == entry["id"]
    assert reversal["status"] == "draft"
    assert reversal["description"] == f"Reversal of {entry['entry_no']}: fees charged twice"
    assert [(x["account_code"], x["debit"], x["credit"]) for x in reversal["lines"]] == [
        ("1000-CASH", None, "125.50"),
        ("4000-FEES", "100.00", None),
        ("2000-PAYABLE", "25.50", None),
    ]
    assert (approval["kind"], approval["status"]) == ("reversal", "pending")

    assert_approval_refused(
        engine, approval, "ada", MakerCheckerViolation, "'ada' is the maker", note="x"
    )
    approve_journal_approval(engine, approval_id=approval["id"], actor_username="rita", note="ok")

    assert entry_row(engine, reversal["id"])["status"] == "posted"
    assert account_balances(engine) == {
        "1000-CASH": Decimal("0.00"),
        "4000-FEES": Decimal("0.00"),
        "2000-PAYABLE": Decimal("0.00"),
    }


def test_an_entry_is_reversed_at_most_once(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    post(engine, entry["id"])
    first = reverse(engine, entry["id"], "wrong day")
    before = ledger.table_checksums()
    with pytest.raises(InvalidInput, match=f"already reversed by {first['reversal']['entry_no']}"):
        reverse(engine, entry["id"], "again")
    assert ledger.table_checksums() == before
    assert ledger.count("journal_entries", "reversal_of = :id", id=entry["id"]) == 1


def test_a_void_reversal_does_not_count_and_the_entry_can_be_reversed_again(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    post(engine, entry["id"])
    first = reverse(engine, entry["id"], "wrong day")
    reject_journal_approval(
        engine, approval_id=first["approval"]["id"], actor_username="rita", note="wrong date"
    )
    void_journal(
        engine, entry_id=first["reversal"]["id"], actor_username="fiona", note="wrong date"
    )

    second = reverse(engine, entry["id"], "fees twice")
    approve_journal_approval(
        engine, approval_id=second["approval"]["id"], actor_username="rita", note="ok"
    )

    assert entry_row(engine, second["reversal"]["id"])["status"] == "posted"
    assert set(account_balances(engine).values()) == {Decimal("0.00")}
    with pytest.raises(InvalidInput, match=f"already reversed by {second['reversal']['entry_no']}"):
        reverse(engine, entry["id"], "again")
    assert ledger.count("journal_entries", "reversal_of = :id", id=entry["id"]) == 2
    assert (
        ledger.count("journal_entries", "reversal_of = :id AND status = 'void'", id=entry["id"])
        == 1
    )


def test_the_database_allows_one_reversal_that_is_not_void(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    post(engine, entry["id"])
    reverse(engine, entry["id"], "wrong day")

    maker = user_id(engine, "fiona")
    with (
        pytest.raises(IntegrityError, match="uq_journal_entries_reversal_of"),
        engine.begin() as conn,
    ):
        conn.execute(
            text(
                "INSERT INTO journal_entries (entry_date, currency, description, maker_id,"
                " reversal_of) VALUES (:day, 'USD', 'second', :maker, :original)"
            ),
            {"day": DAY, "maker": maker, "original": entry["id"]},
        )


def test_only_posted_entries_are_reversed_and_a_reason_is_required(
    engine: Engine, settings: Settings, ledger: Factory
) -> None:
    entry = draft(engine, settings)
    with pytest.raises(InvalidInput, match="only posted entries are reversed"):
        reverse(engine, entry["id"], "x")
    post(engine, entry["id"])
    with pytest.raises(MakerCheckerViolation, match="needs a note"):
        reverse(engine, entry["id"], " ")


def test_journals_cli_drafts_submits_and_posts(cli: CLI, ledger: Factory) -> None:
    code, out, err = cli(
        "journals", "create", "--actor-username", "fiona", "--entry-date", "2026-11-20",
        "--currency", "USD", "--description", "daily fees",
        "--line", "1000-CASH:debit:10.00", "--line", "4000-FEES:credit:10.00", "--json",
    )  # fmt: skip
    assert code == 0, err
    entry = json.loads(out)
    assert (entry["status"], entry["total"]) == ("draft", "10.00")

    code, out, err = cli(
        "journals", "submit", "--actor-username", "fiona", "--entry-id", str(entry["id"]), "--json"
    )
    assert code == 0, err
    approval_id = json.loads(out)["id"]
    code, out, err = cli(
        "journals", "approve", "--actor-username", "rita", "--approval-id", str(approval_id),
        "--note", "checked",
    )  # fmt: skip
    assert code == 0, err
    assert "posted" in out
    assert ledger.count("journal_entries", "status = 'posted'") == 1


@pytest.mark.parametrize(
    "bad_line", ["1000-CASH:debit:-10.00", "1000-CASH:debit:abc", "1000-CASH:sideways:10.00"]
)
def test_journals_cli_refuses_a_bad_line_with_exit_2_and_no_change(
    cli: CLI, ledger: Factory, bad_line: str
) -> None:
    before = ledger.table_checksums()
    code, _, err = cli(
        "journals", "create", "--actor-username", "fiona", "--entry-date", "2026-11-20",
        "--currency", "USD", "--description", "x", "--line", bad_line,
        "--line", "4000-FEES:credit:10.00",
    )  # fmt: skip
    assert code == 2
    assert err.startswith("error:")
    assert len(err.strip().splitlines()) == 1
    assert ledger.table_checksums() == before


def test_accounts_cli_opens_an_account_once_per_currency(cli: CLI, ledger: Factory) -> None:
    args = ("accounts", "add", "--actor-username", "fiona", "--code", "3000-EQ", "--name", "Equity",
            "--type", "equity")  # fmt: skip
    assert cli(*args, "--currency", "USD")[0] == 0
    assert cli(*args, "--currency", "EUR")[0] == 0
    code, _, err = cli(*args, "--currency", "USD")
    assert code == 2
    assert "already exists in USD" in err
    assert ledger.count("accounts", "code = '3000-EQ'") == 2
