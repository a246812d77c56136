"""The rollback triggers that follow audit rows to their records look each record up by its
table's primary key: the watch runs every ten minutes over tables that only grow."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from ops_domain.rollback.evidence import AUDIT_TARGET_ID
from ops_domain.rollback.triggers.chargebacks_stalled import CHARGEBACK_REFUSALS_SQL
from ops_domain.rollback.triggers.payouts_failed import PAYOUTS_FAILED_SQL
from ops_domain.rollback.triggers.posting_refusals import POSTINGS_REFUSED_SQL
from tests.support.factories import DEFAULT_TIME


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        (PAYOUTS_FAILED_SQL, "payouts"),
        (CHARGEBACK_REFUSALS_SQL, "chargebacks"),
        (POSTINGS_REFUSED_SQL, "journal_entries"),
    ],
)
def test_an_audit_rows_record_is_found_by_its_primary_key(
    engine: Engine, sql: str, table: str
) -> None:
    with engine.begin() as conn:
        # with a whole-table read priced out, a join that cannot use the key shows as one
        for method in ("seqscan", "hashjoin", "mergejoin"):
            conn.execute(text(f"SET LOCAL enable_{method} = off"))
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
