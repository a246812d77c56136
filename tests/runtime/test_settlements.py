"""Settlement automation under the scheduler: catch-up after unpausing runs the missed days one
at a time, each day's events settled exactly once; a manual run settles the date it names.

The catch-up test must be the first to unpause ``settlement_automation`` in the session (it
counts the scheduled runs the unpause creates), so it comes first in this module.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from scripts.airflow_logins import AIRFLOW_ADMIN
from scripts.airflow_rest import AirflowClient, RunOutcome
from tests.runtime.conftest import CATCH_UP_DAYS, SETTLEMENT_START, TODAY, TriggeredRun
from tests.support.factories import Factory

DAG = "settlement_automation"
RUN_SECONDS = 300.0


def scheduled_runs(admin: AirflowClient, count: int) -> list[dict[str, Any]]:
    """Wait until ``count`` scheduled runs exist and all have ended; oldest first."""
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        runs = admin.runs(DAG, run_type="scheduled")
        if len(runs) >= count and all(run["state"] in {"success", "failed"} for run in runs):
            return sorted(runs, key=lambda run: run["logical_date"])
        time.sleep(2.0)
    raise TimeoutError(f"{count} scheduled {DAG} runs did not end within {RUN_SECONDS:.0f} s")


def settled_days_by_run(ops: Engine) -> dict[str, list[tuple[date, int]]]:
    """Per Airflow run id: (day the event occurred, events) of what its shards settled."""
    with ops.connect() as conn:
        rows = conn.execute(
            text(
                """
                SELECT split_part(j.idempotency_key, '/', 2) AS run_id,
                       (e.occurred_at AT TIME ZONE 'UTC')::date AS day, count(*) AS events
                  FROM cashflow_events e
                  JOIN settlements s ON s.id = e.settlement_id
                  JOIN job_runs j ON j.id = s.job_run_id
                 WHERE j.idempotency_key LIKE :dag
                 GROUP BY 1, 2 ORDER BY 1, 2
                """
            ),
            {"dag": f"{DAG}/%"},
        )
        found: dict[str, list[tuple[date, int]]] = {}
        for row in rows:
            found.setdefault(row.run_id, []).append((row.day, row.events))
        return found


def unsettled_by_day(ops: Engine, since: date) -> dict[date, int]:
    """Events of active merchants from ``since`` up to today that no settlement holds, by the
    day they occurred."""
    with ops.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day, count(*) AS events"
                " FROM cashflow_events e JOIN merchants m ON m.id = e.merchant_id"
                " WHERE m.status = 'active' AND e.settlement_id IS NULL"
                " AND e.occurred_at >= :since AND e.occurred_at < :today GROUP BY 1"
            ),
            {"since": since, "today": TODAY},
        )
        return {row.day: row.events for row in rows}


def test_catch_up_runs_the_missed_days_one_at_a_time_settling_each_event_once(
    demo_back_office: date,
    client: Callable[[str], AirflowClient],
    ops: Engine,
) -> None:
    admin = client(AIRFLOW_ADMIN)
    assert admin.runs(DAG) == []
    first_window_day = SETTLEMENT_START - timedelta(days=1)  # the first run's look-back
    waiting = unsettled_by_day(ops, first_window_day)
    assert sum(waiting.values()) > 0

    admin.unpause(DAG)
    runs = scheduled_runs(admin, CATCH_UP_DAYS)
    admin.pause(DAG)

    assert [run["state"] for run in runs] == ["success"] * CATCH_UP_DAYS
    assert [run["logical_date"][:10] for run in runs] == [
        (SETTLEMENT_START + timedelta(days=n)).isoformat() for n in range(CATCH_UP_DAYS)
    ]
    for earlier, later in itertools.pairwise(runs):
        assert later["start_date"] >= earlier["end_date"]  # max_active_runs=1
    settled = settled_days_by_run(ops)
    settled_days: list[date] = []
    for run in runs:
        day = date.fromisoformat(run["logical_date"][:10])
        days = dict(settled.get(run["dag_run_id"], []))
        assert set(days) <= {day - timedelta(days=1), day}, f"the {day} run settled {days}"
        settled_days += days
        for found, events in days.items():
            assert events == waiting[found], f"{found}: {events} of {waiting[found]} settled"
    assert sorted(settled_days) == sorted(waiting)  # every waiting day, each by one run
    assert unsettled_by_day(ops, first_window_day) == {}


def test_a_manual_run_settles_the_business_date_it_names(
    demo_back_office: date,
    ops: Engine,
    trigger: Callable[..., TriggeredRun],
    wait: Callable[..., RunOutcome],
) -> None:
    factory = Factory(ops)
    merchant = factory.merchant("RUNTIME-MANUAL", currency="EUR")
    day = SETTLEMENT_START - timedelta(days=2)
    noon = datetime.combine(day, datetime.min.time(), UTC).replace(hour=12)
    factory.event(merchant, "100.00", fee="2.00", currency="EUR", occurred_at=noon)
    factory.event(merchant, "40.00", fee="1.00", currency="EUR", occurred_at=noon)
    conf = {
        "business_date": day.isoformat(),
        "lookback_days": 0,
        "currency": "EUR",
        "create_payouts": False,
    }

    run = wait(trigger(DAG, conf, as_login="oscar"))

    assert run.state == "success", run.failed_tasks()
    assert run.states() == {
        "authorise_run": "success",
        "plan_shards": "success",
        "settle[0]": "success",
        "report": "success",
    }
    with ops.connect() as conn:
        settlement = conn.execute(
            text(
                "SELECT s.period_start, s.period_end, s.gross_amount, s.fee_amount,"
                " s.net_amount, s.event_count, s.status, u.username AS maker"
                " FROM settlements s JOIN users u ON u.id = s.maker_id"
                " WHERE s.merchant_id = :m"
            ),
            {"m": merchant},
        ).one()
    assert (settlement.period_start, settlement.period_end) == (day, day)
    assert (settlement.gross_amount, settlement.fee_amount, settlement.net_amount) == (
        Decimal("140.00"),
        Decimal("3.00"),
        Decimal("137.00"),
    )
    assert (settlement.event_count, settlement.status) == (2, "posted")
    assert settled_days_by_run(ops)[run.run_id] == [(day, 2)]
