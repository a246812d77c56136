"""settlement_automation end to end: settles the run's business day once, across shards."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from tests.airflow.support import run_dag
from tests.support.factories import Factory

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

RUN_AT = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)  # settles business day 2026-11-20
BUSINESS_DAY = date(2026, 11, 20)
WINDOW_START = date(2026, 11, 19)  # one look-back day by default


def settlements(engine: Engine) -> list[tuple[str, date, int, Decimal, str, Decimal | None]]:
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                """
                SELECT m.code, s.period_start, s.sequence, s.net_amount, s.status, p.amount
                  FROM settlements s JOIN merchants m ON m.id = s.merchant_id
                  LEFT JOIN payouts p ON p.settlement_id = s.id
                 ORDER BY m.code
                """
            )
        )
        return [tuple(row) for row in rows]


def test_scheduled_day_is_settled_with_payouts_and_a_rerun_changes_nothing(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    factory.user("olga", "operation")
    alpha, beta = factory.merchant("ALPHA"), factory.merchant("BETA")
    factory.event(alpha, "100.00", fee="2.50")
    factory.event(alpha, "20.00", direction="debit")
    factory.event(beta, "40.00", fee="1.00")
    factory.event(beta, "999.00", occurred_at=datetime(2026, 11, 21, 0, 30, tzinfo=UTC))
    conf = {"shards": 2, "business_date": "2026-11-20"}

    run = run_dag("settlement_automation", conf, login="olga", logical_date=RUN_AT)

    assert run.state == "success", run.tasks
    assert run.tasks == {
        "authorise_run": "success",
        "plan_shards": "success",
        "settle[0]": "success",
        "settle[1]": "success",
        "report": "success",
    }
    expected = [
        ("ALPHA", WINDOW_START, 1, Decimal("77.50"), "posted", Decimal("77.50")),
        ("BETA", WINDOW_START, 1, Decimal("39.00"), "posted", Decimal("39.00")),
    ]
    assert settlements(engine) == expected
    assert factory.count("cashflow_events", "settlement_id IS NULL") == 1  # the next day's
    report = run.xcom("report")
    assert report["shards"] == 2
    assert report["counts"]["events_settled"] == 3
    assert report["counts"]["payouts_created"] == 2
    checksums = factory.table_checksums()

    rerun = run_dag("settlement_automation", conf, login="olga", logical_date=RUN_AT)

    assert rerun.state == "success"
    assert rerun.xcom("report")["counts"]["events_settled"] == 0
    assert settlements(engine) == expected
    changed = {t for t, s in factory.table_checksums().items() if s != checksums[t]}
    assert changed <= {"job_runs", "audit_log"}  # only the records of the rerun itself
    assert factory.count("job_runs", "job_name = 'automate_settlements'") == 4
    keys = factory.count(
        "job_runs", "idempotency_key LIKE 'settlement_automation/manual__%/settle/_'"
    )
    assert keys == 4


def test_an_event_arriving_after_its_days_run_is_settled_by_the_next_run(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    factory.user("svc_airflow", "operation")  # scheduled runs: the day is the data interval
    alpha = factory.merchant("ALPHA")
    factory.event(alpha, "100.00")
    assert run_dag("settlement_automation", logical_date=RUN_AT).state == "success"
    late = factory.event(alpha, "5.00", occurred_at=datetime(2026, 11, 20, 23, 59, tzinfo=UTC))

    next_run = run_dag(
        "settlement_automation", logical_date=datetime(2026, 11, 22, 1, 0, tzinfo=UTC)
    )

    assert next_run.state == "success"
    assert factory.count("cashflow_events", "settlement_id IS NULL") == 0
    with engine.begin() as conn:
        window = conn.execute(
            text(
                "SELECT s.period_start, s.period_end, s.net_amount FROM settlements s"
                " JOIN cashflow_events e ON e.settlement_id = s.id WHERE e.id = :id"
            ),
            {"id": late},
        ).one()
    assert tuple(window) == (BUSINESS_DAY, date(2026, 11, 21), Decimal("5.00"))


def test_a_dry_run_reports_what_would_be_settled_and_writes_only_its_run_record(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    factory.user("olga", "operation")
    factory.event(factory.merchant("ALPHA"), "100.00", fee="2.50")
    before = factory.table_checksums()

    run = run_dag(
        "settlement_automation",
        {"dry_run": True, "business_date": "2026-11-20"},
        login="olga",
    )

    assert run.state == "success", run.tasks
    assert run.xcom("report")["dry_run"] is True
    assert run.xcom("report")["counts"]["events_settled"] == 1
    assert run.xcom("report")["counts"]["payouts_created"] == 1
    after = factory.table_checksums()
    assert {table for table in before if before[table] != after[table]} == {"job_runs"}
