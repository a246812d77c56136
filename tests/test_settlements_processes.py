"""Exactly-once settlement across real processes: two runs at once, and a run killed mid-way."""

from __future__ import annotations

import json
import signal
import time
from datetime import date

import pytest
from sqlalchemy import Engine, text

from tests.support.factories import Factory
from tests.support.settlement_processes import (
    merchant_lock_barrier,
    mixed_events,
    settlement_invariant_breaches,
    start_settlement_cli,
)

pytestmark = [pytest.mark.slow, pytest.mark.reliability]

DAY = date(2026, 11, 20)
WINDOW = ("--period-start", "2026-11-20", "--period-end", "2026-11-21")
CLEAN = {
    "unsettled_events": 0,
    "settlements_not_matching_events": 0,
    "extra_settlements_per_merchant_currency": 0,
    "event_count_drift": 0,
}


@pytest.mark.parametrize(
    "second_window",
    [WINDOW, ("--period-start", "2026-11-19", "--period-end", "2026-11-20")],
    ids=["same-window", "overlapping-windows"],
)
def test_two_processes_at_once_settle_every_event_exactly_once(
    engine: Engine, factory: Factory, cli_env: dict[str, str], second_window: tuple[str, ...]
) -> None:
    factory.user("ops", "operation")
    merchants = [factory.merchant() for _ in range(400)]
    total = mixed_events(engine, merchants, 12, day=DAY)
    env = {**cli_env, "OPS_BATCH_SIZE": "7"}

    with merchant_lock_barrier(engine, merchants[0], waiters=2):
        runs = [
            start_settlement_cli(env, "--actor-username", "ops", "--create-payouts", *window)
            for window in (WINDOW, second_window)
        ]
    outputs = [run.communicate(timeout=300) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    counts = [json.loads(out)["counts"] for out, _ in outputs]
    assert total == 4800
    assert sum(c["events_settled"] for c in counts) == total
    assert sum(c["settlements_created"] for c in counts) == 800  # 400 merchants x USD, EUR
    assert settlement_invariant_breaches(engine) == CLEAN
    assert factory.count("payouts") == factory.count(
        "settlements", "status = 'posted' AND net_amount > 0"
    )
    # each payout counted once: by the run that settled it, or by the other run's sweep
    assert sum(c["payouts_created"] + c["payouts_swept"] for c in counts) == factory.count(
        "payouts"
    )
    assert factory.count("settlements", "sequence <> 1") == 0
    assert factory.count("job_runs", "outcome = 'succeeded'") == 2


def test_a_run_killed_between_batches_is_completed_by_a_rerun_exactly_once(
    engine: Engine, factory: Factory, cli_env: dict[str, str]
) -> None:
    factory.user("ops", "operation")
    merchants = [factory.merchant() for _ in range(1000)]
    total = mixed_events(engine, merchants, 20, day=DAY)
    env = {**cli_env, "OPS_BATCH_SIZE": "2"}

    doomed = start_settlement_cli(env, "--actor-username", "ops", *WINDOW)
    deadline = time.monotonic() + 120
    while factory.count("settlements") < 50 and doomed.poll() is None:
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.02)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)

    assert doomed.returncode == -signal.SIGKILL
    settled_before = factory.count("cashflow_events", "settlement_id IS NOT NULL")
    assert 0 < settled_before < total  # really killed mid-run
    with engine.begin() as conn:
        killed_run = conn.execute(text("SELECT id, outcome FROM job_runs")).one()
    assert killed_run.outcome == "running"

    rerun = start_settlement_cli(env, "--actor-username", "ops", *WINDOW)
    out, err = rerun.communicate(timeout=300)

    assert rerun.returncode == 0, err
    assert json.loads(out)["counts"]["events_settled"] == total - settled_before
    assert total == 20000
    assert settlement_invariant_breaches(engine) == CLEAN
    assert factory.count("settlements") == 2000
    with engine.begin() as conn:
        outcomes = dict(conn.execute(text("SELECT id, outcome FROM job_runs")).all())
    assert outcomes[killed_run.id] == "running"
    assert sorted(outcomes.values()) == ["running", "succeeded"]
