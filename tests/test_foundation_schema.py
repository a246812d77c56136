"""The database enforces the invariants itself, whatever code writes to it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from ops_domain.schema import current_revision, head_revision
from tests.support.factories import Factory


def execute(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_migrated_database_is_at_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()


def test_audit_rows_cannot_be_updated_deleted_or_truncated(
    engine: Engine, factory: Factory
) -> None:
    factory.user("alice", "finance")
    assert factory.count("audit_log") == 1
    for statement in (
        "UPDATE audit_log SET action = 'forged'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            execute(engine, statement)
    assert factory.audit_actions() == ["user.create"]


@pytest.mark.parametrize(
    ("amount", "fee", "net", "constraint"),
    [
        ("0.00", "0.00", "0.00", "ck_cashflow_events_amount_positive"),
        ("-5.00", "0.00", "-5.00", "ck_cashflow_events_amount_positive"),
        ("10.00", "-1.00", "11.00", "ck_cashflow_events_fee_non_negative"),
        ("10.00", "1.00", "8.00", "ck_cashflow_events_net"),
    ],
)
def test_cashflow_event_money_checks(
    engine: Engine, factory: Factory, amount: str, fee: str, net: str, constraint: str
) -> None:
    merchant = factory.merchant()
    with pytest.raises(IntegrityError, match=constraint):
        execute(
            engine,
            "INSERT INTO cashflow_events (merchant_id, flow_type, direction, amount, fee_amount,"
            " net_amount, currency, occurred_at) VALUES (:m, 'c2b', 'credit', :a, :f, :n, 'USD', now())",
            m=merchant,
            a=amount,
            f=fee,
            n=net,
        )


@pytest.mark.parametrize(
    ("column", "value", "constraint"),
    [
        ("flow_type", "x2y", "ck_cashflow_events_flow_type"),
        ("direction", "sideways", "ck_cashflow_events_direction"),
        ("currency", "usd", "ck_cashflow_events_currency"),
    ],
)
def test_cashflow_event_enum_checks(
    engine: Engine, factory: Factory, column: str, value: str, constraint: str
) -> None:
    row = {"flow_type": "c2b", "direction": "credit", "currency": "USD", column: value}
    with pytest.raises(IntegrityError, match=constraint):
        execute(
            engine,
            "INSERT INTO cashflow_events (merchant_id, flow_type, direction, amount, fee_amount,"
            " net_amount, currency, occurred_at) VALUES (:m, :flow_type, :direction, 10, 0, 10,"
            " :currency, now())",
            m=factory.merchant(),
            **row,
        )


def test_event_money_is_immutable_and_settled_exactly_once(
    engine: Engine, factory: Factory
) -> None:
    maker = factory.user("maker", "operation")
    merchant = factory.merchant()
    event = factory.event(merchant, "10.00")
    with pytest.raises(IntegrityError, match="immutable"):
        execute(
            engine,
            "UPDATE cashflow_events SET amount = 11, net_amount = 11 WHERE id = :id",
            id=event,
        )
    settlements = []
    for sequence in (1, 2):
        with engine.begin() as conn:
            settlements.append(
                conn.execute(
                    text(
                        "INSERT INTO settlements (merchant_id, currency, period_start, period_end,"
                        " sequence, gross_amount, fee_amount, net_amount, event_count, status,"
                        " maker_id) VALUES (:m, 'USD', '2026-11-20', '2026-11-20', :s, 10, 0, 10,"
                        " 1, 'draft', :u) RETURNING id"
                    ),
                    {"m": merchant, "s": sequence, "u": maker},
                ).scalar_one()
            )
    execute(
        engine,
        "UPDATE cashflow_events SET settlement_id = :s WHERE id = :id",
        s=settlements[0],
        id=event,
    )
    with pytest.raises(IntegrityError, match="immutable"):
        execute(
            engine,
            "UPDATE cashflow_events SET settlement_id = :s WHERE id = :id",
            s=settlements[1],
            id=event,
        )
    with pytest.raises(DBAPIError, match="append-only"):
        execute(engine, "DELETE FROM cashflow_events WHERE id = :id", id=event)


def test_journal_lines_are_debit_xor_credit_and_positive(engine: Engine, factory: Factory) -> None:
    maker = factory.user("maker", "finance")
    cash = factory.account("1000")
    entry = factory.journal(maker, [(cash, "10.00", None), (cash, None, "10.00")])
    for debit, credit, constraint in [
        ("5.00", "5.00", "ck_journal_lines_debit_xor_credit"),
        (None, None, "ck_journal_lines_debit_xor_credit"),
        ("-5.00", None, "ck_journal_lines_positive"),
        ("0.00", None, "ck_journal_lines_positive"),
    ]:
        with pytest.raises(IntegrityError, match=constraint):
            execute(
                engine,
                "INSERT INTO journal_lines (entry_id, account_id, debit, credit, memo)"
                " VALUES (:e, :a, :d, :c, '')",
                e=entry,
                a=cash,
                d=debit,
                c=credit,
            )


def test_unbalanced_journal_cannot_be_posted_and_posted_is_final(
    engine: Engine, factory: Factory
) -> None:
    maker = factory.user("maker", "finance")
    cash, revenue = factory.account("1000"), factory.account("4000", "revenue")
    unbalanced = factory.journal(maker, [(cash, "10.00", None), (revenue, None, "9.99")])
    with pytest.raises(DBAPIError, match="does not balance"):
        execute(
            engine, "UPDATE journal_entries SET status = 'posted' WHERE id = :id", id=unbalanced
        )
    balanced = factory.journal(maker, [(cash, "10.00", None), (revenue, None, "10.00")])
    execute(engine, "UPDATE journal_entries SET status = 'posted' WHERE id = :id", id=balanced)
    with pytest.raises(DBAPIError, match="cannot change"):
        execute(
            engine,
            "UPDATE journal_lines SET debit = 11 WHERE entry_id = :id AND debit IS NOT NULL",
            id=balanced,
        )
    with pytest.raises(DBAPIError, match="cannot change"):
        execute(engine, "UPDATE journal_entries SET status = 'void' WHERE id = :id", id=balanced)


def test_journal_cannot_be_posted_into_a_closed_period(engine: Engine, factory: Factory) -> None:
    maker = factory.user("maker", "finance")
    cash, revenue = factory.account("1000"), factory.account("4000", "revenue")
    factory.period(date(2026, 10, 1), date(2026, 10, 31), status="closed")
    entry = factory.journal(
        maker, [(cash, "10.00", None), (revenue, None, "10.00")], entry_date=date(2026, 10, 15)
    )
    with pytest.raises(DBAPIError, match="closed period"):
        execute(engine, "UPDATE journal_entries SET status = 'posted' WHERE id = :id", id=entry)


def test_periods_of_one_currency_never_overlap(engine: Engine, factory: Factory) -> None:
    factory.period(date(2026, 10, 1), date(2026, 10, 31))
    factory.period(date(2026, 10, 1), date(2026, 10, 31), currency="EUR")
    factory.period(date(2026, 11, 1), date(2026, 11, 30))
    with pytest.raises(IntegrityError, match="ex_accounting_periods_no_overlap"):
        factory.period(date(2026, 10, 31), date(2026, 11, 5))


def test_only_one_active_alert_per_dedupe_key(engine: Engine, factory: Factory) -> None:
    first = factory.alert("case_sla_breach", target_type="case", target_id="7")
    with pytest.raises(IntegrityError, match="uq_alerts_active_dedupe_key"):
        factory.alert("case_sla_breach", target_type="case", target_id="7")
    execute(engine, "UPDATE alerts SET status = 'closed' WHERE id = :id", id=first)
    factory.alert("case_sla_breach", target_type="case", target_id="7")
    assert factory.count("alerts") == 2


def test_reference_numbers_come_from_sequences(engine: Engine, factory: Factory) -> None:
    maker = factory.user("maker", "operation")
    cases = [factory.case(maker) for _ in range(3)]
    with engine.begin() as conn:
        numbers = conn.scalars(
            text("SELECT case_no FROM cases WHERE id = ANY(:ids) ORDER BY id"), {"ids": cases}
        ).all()
    assert len(set(numbers)) == 3
    assert all(number.startswith("CASE-") for number in numbers)


def test_chart_of_accounts_is_unique_per_code_and_currency(factory: Factory) -> None:
    factory.account("1000", currency="USD")
    factory.account("1000", currency="EUR")
    with pytest.raises(IntegrityError, match="uq_accounts_code_currency"):
        factory.account("1000", currency="USD")


def test_one_payout_per_settlement(engine: Engine, factory: Factory) -> None:
    maker = factory.user("maker", "operation")
    merchant = factory.merchant()
    with engine.begin() as conn:
        settlement = conn.execute(
            text(
                "INSERT INTO settlements (merchant_id, currency, period_start, period_end, sequence,"
                " gross_amount, fee_amount, net_amount, event_count, status, maker_id,"
                " approval_source) VALUES (:m, 'USD', '2026-11-20', '2026-11-20', 1, 10, 0, 10, 1,"
                " 'posted', :u, 'policy:auto_post') RETURNING id"
            ),
            {"m": merchant, "u": maker},
        ).scalar_one()
    payout_sql = (
        "INSERT INTO payouts (settlement_id, merchant_id, amount, currency, channel,"
        " destination_account, maker_id) VALUES (:s, :m, 10, 'USD', 'bank', 'ACC', :u)"
    )
    execute(engine, payout_sql, s=settlement, m=merchant, u=maker)
    with pytest.raises(IntegrityError, match="payouts_settlement_id_key"):
        execute(engine, payout_sql, s=settlement, m=merchant, u=maker)


def test_models_and_migrations_describe_the_same_schema(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from ops_domain.models import Base

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
