"""The rollback triggers that follow audit rows to their records look each record up by its
table's primary key: the watch runs every ten minutes over tables that only grow."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from ops_domain.audit.targets import AUDIT_TARGET_ID
from ops_domain.rollback.triggers.chargebacks_stalled import CHARGEBACK_REFUSALS_SQL
from ops_domain.rollback.triggers.payouts_failed import PAYOUTS_FAILED_SQL
from ops_domain.rollback.triggers.posting_refusals import POSTINGS_REFUSED_SQL
from tests.support.factories import DEFAULT_DAY, DEFAULT_TIME, Factory

ROWS = 2000

# Enough records that a whole-table read per watch is dearer than a key look-up per audit row,
# whatever statistics the table had: with empty tables the planner's choice is a tie.
RECORDS = {
    "chargebacks": """
        INSERT INTO chargebacks (merchant_id, network_reason_code, amount, currency, due_at, status)
        SELECT :merchant, '10.4', 25, 'USD', :now, 'open' FROM generate_series(1, :rows)
    """,
    "journal_entries": """
        INSERT INTO journal_entries (entry_date, currency, description, maker_id)
        SELECT :day, 'USD', 'plan test', :maker FROM generate_series(1, :rows)
    """,
    "payouts": """
        WITH settled AS (
            INSERT INTO settlements (merchant_id, currency, period_start, period_end,
                gross_amount, fee_amount, net_amount, event_count, status, maker_id,
                approval_source, posted_at)
            SELECT :merchant, 'USD', :day - n, :day - n, 50, 0, 50, 1, 'posted', :maker,
                   'policy:auto_post', :now
              FROM generate_series(1, :rows) AS n
            RETURNING id)
        INSERT INTO payouts (settlement_id, merchant_id, amount, currency, channel,
            destination_account, status, maker_id)
        SELECT id, :merchant, 50, 'USD', 'bank_transfer', 'ACC-1', 'pending', :maker
          FROM settled
    """,
}


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        (PAYOUTS_FAILED_SQL, "payouts"),
        (CHARGEBACK_REFUSALS_SQL, "chargebacks"),
        (POSTINGS_REFUSED_SQL, "journal_entries"),
    ],
)
def test_an_audit_rows_record_is_found_by_its_primary_key(
    engine: Engine, factory: Factory, sql: str, table: str
) -> None:
    maker, merchant = factory.user("maker", "operation"), factory.merchant()
    with engine.begin() as conn:
        conn.execute(
            text(RECORDS[table]),
            {"merchant": merchant, "maker": maker, "rows": ROWS, "day": DEFAULT_DAY,
             "now": DEFAULT_TIME},
        )  # fmt: skip
        conn.execute(text(f"ANALYZE {table}"))
        plan = "\n".join(
            conn.execute(
                text(f"EXPLAIN {sql}"), {"since": DEFAULT_TIME, "now": DEFAULT_TIME}
            ).scalars()
        )

    assert f"Index Scan using {table}_pkey on {table}" in plan, plan
    assert "Index Cond: (id = CASE WHEN" in plan, plan


def test_a_target_that_names_no_record_finds_none(engine: Engine) -> None:
    with engine.begin() as conn:
        ids = conn.execute(
            text(
                f"SELECT {AUDIT_TARGET_ID} FROM (VALUES ('42'), ('new'), ('-1'),"
                " ('99999999999999999999'), ('')) AS a(target_id)"
            )
        ).scalars()
        assert list(ids) == [42, None, None, None, None]
