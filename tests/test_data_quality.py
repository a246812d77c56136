"""Data-quality suites (SPEC 5.8): coherent books pass; each planted violation fails exactly
its own rule, with counts and example ids; an unreachable or broken database fails closed.

Most violations below are impossible through the application and are refused by the
database's own CHECKs and triggers, so the tests plant them the way real corruption gets in:
as the superuser, with ``session_replication_role = replica`` (triggers off) and the CHECK
dropped. That is exactly why the DB cannot be the only guard: restores, superuser repairs and
bulk loads bypass it, and cross-row rules (totals, payout = net, balanced books) cannot be a
CHECK at all. Dropped constraints are restored after each test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import CheckConstraint, Engine, create_engine, text

from ops_domain.checks import CheckResult
from ops_domain.config import Settings
from ops_domain.data_quality.rules import (
    SIGNED_AMOUNTS,
    STATUS_ENUMS,
    currency_columns,
    data_quality_rules,
)
from ops_domain.data_quality.service import failed_expectations, run_data_quality
from ops_domain.models import Base
from ops_domain.runbook.registry import RELEASE_CHECKS_BY_NAME
from tests.support.checks import run_registered
from tests.support.database import wipe
from tests.support.factories import DEFAULT_TIME, Factory


def data_quality_check(engine: Engine, settings: Settings) -> CheckResult:
    return run_registered("data_quality", engine, settings)


RULE_NAMES = [
    "event_net_equals_amount_minus_fee",
    "settlement_totals_match_events",
    "payout_amount_equals_settlement_net",
    "payout_requires_posted_settlement",
    "settled_event_matches_its_settlement",
    "statuses_within_enums",
    "amounts_non_negative",
    "currencies_enabled",
    "posted_journals_balance",
    "trial_balance_nets_to_zero",
]


def insert(conn: Any, sql: str, **params: Any) -> int:
    return conn.execute(text(sql + " RETURNING id"), params).scalar_one()


def add_settlement(
    conn: Any,
    books: SimpleNamespace,
    merchant: int,
    currency: str,
    totals: tuple[str, str, str, int],
    events: list[int],
    *,
    status: str = "draft",
    sequence: int = 1,
) -> int:
    gross, fee, net, count = totals
    settlement = insert(
        conn,
        """INSERT INTO settlements (merchant_id, currency, period_start, period_end, sequence,
               gross_amount, fee_amount, net_amount, event_count, status, maker_id,
               approval_source)
           VALUES (:merchant, :currency, :day, :day, :sequence, :gross, :fee, :net, :count,
                   :status, :maker, :source)""",
        merchant=merchant,
        currency=currency,
        day=DEFAULT_TIME.date(),
        sequence=sequence,
        gross=Decimal(gross),
        fee=Decimal(fee),
        net=Decimal(net),
        count=count,
        status=status,
        maker=books.maker,
        source=None if status == "draft" else "policy:auto_post",
    )
    conn.execute(
        text("UPDATE cashflow_events SET settlement_id = :s WHERE id = ANY(:events)"),
        {"s": settlement, "events": events},
    )
    return settlement


def add_event(
    conn: Any,
    merchant: int,
    amount: str,
    fee: str,
    *,
    net: str | None = None,
    direction: str = "credit",
    currency: str = "USD",
) -> int:
    return insert(
        conn,
        """INSERT INTO cashflow_events (merchant_id, flow_type, direction, amount, fee_amount,
               net_amount, currency, occurred_at)
           VALUES (:merchant, 'c2b', :direction, :amount, :fee, :net, :currency, :at)""",
        merchant=merchant,
        direction=direction,
        amount=Decimal(amount),
        fee=Decimal(fee),
        net=Decimal(net) if net is not None else Decimal(amount) - Decimal(fee),
        currency=currency,
        at=DEFAULT_TIME,
    )


def add_payout(conn: Any, books: SimpleNamespace, settlement: int, amount: str) -> int:
    return insert(
        conn,
        """INSERT INTO payouts (settlement_id, merchant_id, amount, currency, channel,
               destination_account, status, maker_id)
           SELECT id, merchant_id, :amount, currency, 'bank_transfer', 'ACC-1', 'pending', :maker
             FROM settlements WHERE id = :settlement""",
        settlement=settlement,
        amount=Decimal(amount),
        maker=books.maker,
    )


def add_posted_journal(
    conn: Any, books: SimpleNamespace, lines: list[tuple[int, str | None, str | None]]
) -> int:
    """A posted entry written directly (the posting trigger is off in a tampering session)."""
    entry = insert(
        conn,
        """INSERT INTO journal_entries (entry_date, currency, status, description, maker_id,
               posted_by, posted_at)
           VALUES (:day, 'USD', 'posted', 'planted', :maker, :checker, :at)""",
        day=DEFAULT_TIME.date(),
        maker=books.maker,
        checker=books.checker,
        at=DEFAULT_TIME,
    )
    for account, debit, credit in lines:
        conn.execute(
            text(
                "INSERT INTO journal_lines (entry_id, account_id, debit, credit)"
                " VALUES (:entry, :account, :debit, :credit)"
            ),
            {
                "entry": entry,
                "account": account,
                "debit": Decimal(debit) if debit else None,
                "credit": Decimal(credit) if credit else None,
            },
        )
    return entry


@pytest.fixture
def books(engine: Engine, factory: Factory) -> SimpleNamespace:
    """Small coherent books: every table the rules read holds at least one valid row.

    M1 (USD) earned 100.00 (fee 2.00) and 50.00 (fee 1.00) and refunded 20.00: settlement S1
    is posted at gross 130.00, fee 3.00, net 127.00 over 3 events and paid out by P1 (127.00,
    sent). M2 (EUR) earned 80.00 (fee 0.80): S2 is a draft at net 79.20, no payout. One M1
    event (10.00, fee 0.30) is unsettled. Journal J1 (cash 127.00 / payable 127.00) is posted,
    J2 (5.00 / 5.00) is a draft awaiting approval.
    """
    b = SimpleNamespace()
    b.maker = factory.user("maria_finance", "finance")
    b.checker = factory.user("carl_admin", "admin")
    b.m1 = factory.merchant("M1", currency="USD")
    b.m2 = factory.merchant("M2", currency="EUR")
    e1 = factory.event(b.m1, "100.00", fee="2.00")
    e2 = factory.event(b.m1, "50.00", fee="1.00")
    e3 = factory.event(b.m1, "20.00", direction="debit")
    e4 = factory.event(b.m2, "80.00", fee="0.80", currency="EUR")
    b.unsettled = factory.event(b.m1, "10.00", fee="0.30")
    b.cash = factory.account("1000-USD", "asset", "USD")
    b.payable = factory.account("2000-USD", "liability", "USD")
    b.cash_eur = factory.account("1000-EUR", "asset", "EUR")
    b.payable_eur = factory.account("2000-EUR", "liability", "EUR")
    b.j1 = factory.journal(b.maker, [(b.cash, "127.00", None), (b.payable, None, "127.00")])
    b.j2 = factory.journal(b.maker, [(b.cash, "5.00", None), (b.payable, None, "5.00")])
    b.case = factory.case(b.maker)
    b.refund = factory.refund(b.maker, e1, "5.00", case_id=b.case)
    b.chargeback = factory.chargeback(b.m1)
    b.alert = factory.alert()
    b.recon_break = factory.recon_break(b.maker)
    b.period = factory.period(DEFAULT_TIME.date().replace(day=1), DEFAULT_TIME.date())
    with engine.begin() as conn:
        b.s1 = add_settlement(
            conn, b, b.m1, "USD", ("130.00", "3.00", "127.00", 3), [e1, e2, e3], status="posted"
        )
        b.s2 = add_settlement(conn, b, b.m2, "EUR", ("80.00", "0.80", "79.20", 1), [e4])
        b.p1 = add_payout(conn, b, b.s1, "127.00")
        conn.execute(text("UPDATE payouts SET status = 'sent' WHERE id = :p"), {"p": b.p1})
        conn.execute(
            text(
                "UPDATE journal_entries SET status = 'posted', posted_by = :c, posted_at = now()"
                " WHERE id = :j"
            ),
            {"c": b.checker, "j": b.j1},
        )
        insert(
            conn,
            "INSERT INTO settlement_exceptions (settlement_id, reason_code, severity)"
            " VALUES (:s, 'manual_review', 'low')",
            s=b.s2,
        )
        insert(
            conn,
            "INSERT INTO journal_approvals (entry_id, kind, requested_by) VALUES (:j, 'post', :m)",
            j=b.j2,
            m=b.maker,
        )
        insert(
            conn,
            "INSERT INTO reconciliation_break_resolutions (break_id, resolution_note, maker_id)"
            " VALUES (:b, 'timing difference', :m)",
            b=b.recon_break,
            m=b.maker,
        )
        insert(
            conn,
            "INSERT INTO readiness_waivers (counter, max_count, reason, release_id,"
            " environment, requested_by, expires_at) VALUES ('open_high_alerts', 1,"
            " 'known alert', 'r1', 'prod', :m, :at)",
            m=b.maker,
            at=DEFAULT_TIME,
        )
        insert(conn, "INSERT INTO releases (release_id, environment) VALUES ('r1', 'prod')")
    return b


@dataclass
class Tamper:
    """Plants corruption the way it really arrives: as the superuser, guards switched off."""

    engine: Engine
    restore: list[str] = field(default_factory=list)

    def __call__(
        self, plant: Callable[[Any], None], *, dropping: tuple[tuple[str, str], ...] = ()
    ) -> None:
        restore = []
        with self.engine.begin() as conn:
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table, constraint in dropping:
                definition = conn.execute(
                    text(
                        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                        " WHERE conname = :name AND conrelid = CAST(:table AS regclass)"
                    ),
                    {"name": constraint, "table": table},
                ).scalar_one()
                conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}"))
                restore.append(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {definition}")
            plant(conn)
        self.restore += restore


@pytest.fixture
def tamper(engine: Engine) -> Iterator[Tamper]:
    tampering = Tamper(engine)
    yield tampering
    wipe(engine)
    with engine.begin() as conn:
        for statement in tampering.restore:
            conn.execute(text(statement))


def sql(statement: str, **params: Any) -> Callable[[Any], None]:
    return lambda conn: conn.execute(text(statement), params)


def status_check_of(table: str) -> str:
    return next(
        constraint.name
        for constraint in Base.metadata.tables[table].constraints
        if isinstance(constraint, CheckConstraint) and str(constraint.name).endswith("_status")
    )


def failing(report: Any) -> dict[str, Any]:
    return {rule.name: rule for rule in report.failed_rules}


def failed_labels(rule: Any) -> set[str]:
    return {check.label for check in rule.failed_checks}


# --- clean books -------------------------------------------------------------------------


def test_every_rule_of_the_spec_has_a_stable_name(settings: Settings) -> None:
    assert [rule.name for rule in data_quality_rules(settings)] == RULE_NAMES


def test_status_rule_covers_every_status_column_of_the_schema() -> None:
    with_status = {table.name for table in Base.metadata.sorted_tables if "status" in table.c}
    assert set(STATUS_ENUMS) == with_status


def test_currency_rule_covers_every_currency_column_of_the_schema() -> None:
    assert set(currency_columns()) == {
        ("accounts", "currency"),
        ("accounting_periods", "currency"),
        ("cashflow_events", "currency"),
        ("chargebacks", "currency"),
        ("journal_entries", "currency"),
        ("merchants", "settlement_currency"),
        ("payouts", "currency"),
        ("reconciliation_breaks", "currency"),
        ("reconciliation_runs", "currency"),
        ("refund_requests", "currency"),
        ("settlements", "currency"),
    }


def test_coherent_books_pass_every_rule(
    books: SimpleNamespace, engine: Engine, database_url: str, settings: Settings
) -> None:
    # The embedded server's unix-socket URL, which GX's postgres source type would refuse.
    report = run_data_quality(database_url, settings)

    assert report.success, [rule.to_dict() for rule in report.failed_rules]
    assert [rule.name for rule in report.rules] == RULE_NAMES
    assert all(rule.unexpected_count == 0 and rule.example_ids == () for rule in report.rules)
    check = data_quality_check(engine, settings)
    assert (check.status, check.summary) == ("pass", "all 10 rules hold")


# --- one planted violation per rule ------------------------------------------------------


def plant_event_with_wrong_net(tamper: Tamper, b: SimpleNamespace) -> list[Any]:
    planted: list[Any] = []
    tamper(
        lambda conn: planted.append(add_event(conn, b.m1, "10.00", "1.00", net="8.00")),
        dropping=(("cashflow_events", "ck_cashflow_events_net"),),
    )
    return planted


def plant_settlement_off_by_a_cent(tamper: Tamper, b: SimpleNamespace) -> list[Any]:
    planted: list[Any] = []

    def plant(conn: Any) -> None:
        event = add_event(conn, b.m1, "40.00", "0.40")
        totals = ("40.01", "0.40", "39.61", 1)
        planted.append(add_settlement(conn, b, b.m1, "USD", totals, [event], sequence=2))

    tamper(plant)
    return planted


def plant_payout_edited_in_place(tamper: Tamper, b: SimpleNamespace) -> list[Any]:
    tamper(sql("UPDATE payouts SET amount = 126.99 WHERE id = :p", p=b.p1))
    return [b.p1]


def plant_payout_for_draft_settlement(tamper: Tamper, b: SimpleNamespace) -> list[Any]:
    planted: list[Any] = []
    tamper(lambda conn: planted.append(add_payout(conn, b, b.s2, "79.20")))
    return planted


def plant_event_settled_under_another_merchant(tamper: Tamper, b: SimpleNamespace) -> list[Any]:
    planted: list[Any] = []

    def plant(conn: Any) -> None:
        foreign = add_event(conn, b.m2, "40.00", "0.40")
        add_settlement(conn, b, b.m1, "USD", ("40.00", "0.40", "39.60", 1), [foreign], sequence=2)
        planted.append(foreign)

    tamper(plant)
    return planted


def plant_unknown_case_status(tamper: Tamper, b: SimpleNamespace) -> list[Any]:
    tamper(
        sql("UPDATE cases SET status = 'archived' WHERE id = :c", c=b.case),
        dropping=(("cases", "ck_cases_status"),),
    )
    return [b.case]


def plant_negative_chargeback(tamper: Tamper, b: SimpleNamespace) -> list[Any]:
    tamper(
        sql("UPDATE chargebacks SET amount = -25.00 WHERE id = :c", c=b.chargeback),
        dropping=(("chargebacks", "ck_chargebacks_amount_positive"),),
    )
    return [b.chargeback]


def plant_merchant_in_disabled_currency(tamper: Tamper, b: SimpleNamespace) -> list[Any]:
    # GBP passes the column's format CHECK: only the configuration knows it is not enabled.
    tamper(sql("UPDATE merchants SET settlement_currency = 'GBP' WHERE id = :m", m=b.m2))
    return [b.m2]


def plant_two_unbalanced_journals_that_offset(tamper: Tamper, b: SimpleNamespace) -> list[Any]:
    # They offset each other, so the trial balance still nets to zero: only the per-entry
    # rule can see them.
    planted: list[Any] = []

    def plant(conn: Any) -> None:
        planted.append(
            add_posted_journal(conn, b, [(b.cash, "10.00", None), (b.payable, None, "9.00")])
        )
        planted.append(
            add_posted_journal(conn, b, [(b.cash, "9.00", None), (b.payable, None, "10.00")])
        )

    tamper(plant)
    return planted


def plant_line_booked_to_another_currency(tamper: Tamper, b: SimpleNamespace) -> list[Any]:
    # The entry balances (10.00 = 10.00), but its credit lands in the EUR ledger.
    tamper(
        lambda conn: add_posted_journal(
            conn, b, [(b.cash, "10.00", None), (b.payable_eur, None, "10.00")]
        )
    )
    return ["EUR", "USD"]


PLANTS: dict[str, tuple[Callable[[Tamper, SimpleNamespace], list[Any]], str, str]] = {
    "event_net_equals_amount_minus_fee": (
        plant_event_with_wrong_net,
        "cashflow_events",
        "cashflow_events.id",
    ),
    "settlement_totals_match_events": (
        plant_settlement_off_by_a_cent,
        "settlements",
        "settlements.id",
    ),
    "payout_amount_equals_settlement_net": (
        plant_payout_edited_in_place,
        "payouts",
        "payouts.id",
    ),
    "payout_requires_posted_settlement": (
        plant_payout_for_draft_settlement,
        "payouts",
        "payouts.id",
    ),
    "settled_event_matches_its_settlement": (
        plant_event_settled_under_another_merchant,
        "cashflow_events",
        "cashflow_events.id",
    ),
    "statuses_within_enums": (plant_unknown_case_status, "cases.status", "cases.id"),
    "amounts_non_negative": (plant_negative_chargeback, "chargebacks.amount", "chargebacks.id"),
    "currencies_enabled": (
        plant_merchant_in_disabled_currency,
        "merchants.settlement_currency",
        "merchants.id",
    ),
    "posted_journals_balance": (
        plant_two_unbalanced_journals_that_offset,
        "journal_entries",
        "journal_entries.id",
    ),
    "trial_balance_nets_to_zero": (
        plant_line_booked_to_another_currency,
        "journal_lines",
        "currency",
    ),
}


def test_every_rule_has_a_planted_violation() -> None:
    assert list(PLANTS) == RULE_NAMES


@pytest.mark.parametrize("rule_name", RULE_NAMES)
def test_a_planted_violation_fails_exactly_its_rule(
    rule_name: str, books: SimpleNamespace, tamper: Tamper, engine: Engine, settings: Settings
) -> None:
    plant, label, subject = PLANTS[rule_name]
    offenders = plant(tamper, books)

    report = run_data_quality(engine, settings)

    assert set(failing(report)) == {rule_name}
    rule = report.rule(rule_name)
    assert failed_labels(rule) == {label}
    assert rule.unexpected_count == len(offenders)
    assert rule.example_ids == tuple(f"{subject}={offender}" for offender in offenders)
    assert not report.errored


# --- every column of a family ------------------------------------------------------------


def test_an_unknown_status_is_caught_in_every_status_column(
    books: SimpleNamespace, tamper: Tamper, engine: Engine, settings: Settings
) -> None:
    def plant(conn: Any) -> None:
        for table in STATUS_ENUMS:
            # S2 is the draft without a payout: its status does not feed the payout rules.
            row = books.s2 if table == "settlements" else None
            conn.execute(
                text(
                    f"UPDATE {table} SET status = 'bogus'"
                    f" WHERE id = coalesce(:row, (SELECT min(id) FROM {table}))"
                ),
                {"row": row},
            )

    # A non-draft settlement must name its approval source: that CHECK goes too.
    dropping = (("settlements", "ck_settlements_approval"),)
    tamper(plant, dropping=dropping + tuple((t, status_check_of(t)) for t in STATUS_ENUMS))

    report = run_data_quality(engine, settings)

    assert set(failing(report)) == {"statuses_within_enums"}
    rule = report.rule("statuses_within_enums")
    assert failed_labels(rule) == {f"{table}.status" for table in STATUS_ENUMS}
    assert all(check.unexpected_count == 1 for check in rule.checks)
    assert rule.unexpected_count == len(STATUS_ENUMS) == 15


def test_a_disabled_currency_is_caught_in_every_currency_column(
    books: SimpleNamespace, tamper: Tamper, engine: Engine, settings: Settings
) -> None:
    # Every row moves to GBP together, so merchant/settlement/payout/ledger currencies still
    # agree with each other: only the enabled-currency rule can object.
    def plant(conn: Any) -> None:
        for table, column in currency_columns():
            conn.execute(text(f"UPDATE {table} SET {column} = 'GBP'"))

    tamper(plant)

    report = run_data_quality(engine, settings)

    assert set(failing(report)) == {"currencies_enabled"}
    rule = report.rule("currencies_enabled")
    assert failed_labels(rule) == {f"{table}.{column}" for table, column in currency_columns()}
    by_label = {check.label: check.unexpected_count for check in rule.checks}
    assert by_label["cashflow_events.currency"] == 5
    assert by_label["accounts.currency"] == 4
    assert by_label["merchants.settlement_currency"] == 2


def test_a_wrong_sign_is_caught_in_every_signed_amount_column(
    books: SimpleNamespace, tamper: Tamper, engine: Engine, settings: Settings
) -> None:
    def plant(conn: Any) -> None:
        # The unsettled event keeps net = amount - fee (-10.00 - -0.30 = -9.70).
        conn.execute(
            text(
                "UPDATE cashflow_events SET amount = -10.00, fee_amount = -0.30,"
                " net_amount = -9.70 WHERE id = :e"
            ),
            {"e": books.unsettled},
        )
        # A posted refund-only settlement (net -5.00) paid out at exactly its net.
        debit = add_event(conn, books.m1, "5.00", "0.00", direction="debit")
        negative = add_settlement(
            conn,
            books,
            books.m1,
            "USD",
            ("-5.00", "0.00", "-5.00", 1),
            [debit],
            status="posted",
            sequence=2,
        )
        add_payout(conn, books, negative, "-5.00")
        conn.execute(text("UPDATE refund_requests SET amount = -5.00"))
        conn.execute(text("UPDATE chargebacks SET amount = -25.00"))
        # Draft lines: no posted journal or trial balance sees them.
        conn.execute(
            text("UPDATE journal_lines SET debit = -debit, credit = -credit WHERE entry_id = :j"),
            {"j": books.j2},
        )

    tamper(
        plant,
        dropping=(
            ("cashflow_events", "ck_cashflow_events_amount_positive"),
            ("cashflow_events", "ck_cashflow_events_fee_non_negative"),
            ("payouts", "ck_payouts_amount_positive"),
            ("refund_requests", "ck_refund_requests_amount_positive"),
            ("chargebacks", "ck_chargebacks_amount_positive"),
            ("journal_lines", "ck_journal_lines_positive"),
        ),
    )

    report = run_data_quality(engine, settings)

    assert set(failing(report)) == {"amounts_non_negative"}
    rule = report.rule("amounts_non_negative")
    assert failed_labels(rule) == {f"{table}.{column}" for table, column, _ in SIGNED_AMOUNTS}
    assert rule.unexpected_count == 7


def test_a_zero_fee_is_allowed_but_a_zero_amount_is_not(
    books: SimpleNamespace, tamper: Tamper, engine: Engine, settings: Settings
) -> None:
    tamper(
        sql(
            "UPDATE cashflow_events SET amount = 0.00, fee_amount = 0.00, net_amount = 0.00"
            " WHERE id = :e",
            e=books.unsettled,
        ),
        dropping=(("cashflow_events", "ck_cashflow_events_amount_positive"),),
    )

    rule = run_data_quality(engine, settings).rule("amounts_non_negative")

    assert failed_labels(rule) == {"cashflow_events.amount"}
    assert rule.example_ids == (f"cashflow_events.id={books.unsettled}",)


# --- the gate's check and the CLI --------------------------------------------------------


def test_gate_check_fails_naming_the_broken_rule_and_its_count(
    books: SimpleNamespace, tamper: Tamper, engine: Engine, settings: Settings
) -> None:
    plant_payout_for_draft_settlement(tamper, books)

    result = data_quality_check(engine, settings)

    assert result.status == "fail"
    assert result.summary == "1 of 10 rules failed: payout_requires_posted_settlement (1)"
    assert result.details["failed_rules"] == ["payout_requires_posted_settlement"]
    [line] = RELEASE_CHECKS_BY_NAME["data_quality"].failure_lines(result)
    assert line.startswith("payout_requires_posted_settlement: ")
    assert line == failed_expectations(result)[0]


def test_gate_check_errors_when_the_database_is_unreachable(settings: Settings) -> None:
    unreachable = create_engine("postgresql+psycopg2://ops:secret@/ops?host=/nonexistent/socket")

    result = data_quality_check(unreachable, settings)

    assert result.status == "error"
    assert not result.passed
    assert result.summary.startswith("DatabaseUnavailable: data-quality checks cannot read")
    assert "secret" not in result.summary


def test_a_check_that_cannot_run_is_an_error_never_a_pass(
    books: SimpleNamespace,
    tamper: Tamper,
    engine: Engine,
    settings: Settings,
    cli: Callable[..., Any],
) -> None:
    tamper(sql("ALTER TABLE payouts RENAME COLUMN amount TO amount_renamed"))
    tamper.restore.insert(0, "ALTER TABLE payouts RENAME COLUMN amount_renamed TO amount")

    report = run_data_quality(engine, settings)
    result = data_quality_check(engine, settings)

    assert report.errored
    errored = {rule.name for rule in report.rules if rule.errored}
    assert errored == {"payout_amount_equals_settlement_net", "amounts_non_negative"}
    assert result.status == "error"
    assert result.summary.startswith("could not evaluate: payout_amount_equals_settlement_net")
    code, out, _ = cli("check_data_quality")
    assert code == 3
    assert "payouts.amount (ExpectColumnValuesToBeBetween): could not evaluate:" in out


def test_cli_passes_on_coherent_books(books: SimpleNamespace, cli: Callable[..., Any]) -> None:
    code, out, err = cli("check_data_quality")

    assert code == 0, err
    assert out.startswith("data quality: PASS: all 10 rules hold")
    assert out.count("  pass  ") == 10


def test_cli_lists_each_failing_expectation_with_counts_and_ids(
    books: SimpleNamespace, tamper: Tamper, cli: Callable[..., Any]
) -> None:
    journals = plant_two_unbalanced_journals_that_offset(tamper, books)

    code, out, _ = cli("check_data_quality")

    assert code == 1
    assert "FAIL  posted_journals_balance: 2 unexpected" in out
    assert (
        "journal_entries (UnexpectedRowsExpectation): 2 unexpected;"
        f" e.g. journal_entries.id {journals[0]}, {journals[1]}"
    ) in out
    assert out.count("  pass  ") == 9


def test_cli_json_names_the_failed_rules(
    books: SimpleNamespace, tamper: Tamper, cli: Callable[..., Any]
) -> None:
    plant_merchant_in_disabled_currency(tamper, books)

    code, out, _ = cli("check_data_quality", "--json")

    payload = json.loads(out)
    assert code == 1
    assert payload["status"] == "fail"
    assert payload["failed_rules"] == ["currencies_enabled"]
    currencies = next(rule for rule in payload["rules"] if rule["name"] == "currencies_enabled")
    assert currencies["example_ids"] == [f"merchants.id={books.m2}"]


def test_cli_exits_3_when_the_database_is_unreachable(
    cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_DATABASE_URL", "postgresql://ops@/ops?host=/nonexistent/socket")

    code, out, err = cli("check_data_quality")

    assert code == 3
    assert out == ""
    assert "database unavailable" in err
