"""Crash anywhere: ``automate_settlements --create-payouts`` is SIGKILLed at random moments and
rerun; nothing is settled or paid twice, nothing is lost, and the records tell the truth.

128,000 events are loaded once, 4,000 per business day over 32 days. Day 0 measures how long a
full run of the CLI takes once its interpreter has started (``primed_cli``). Each trial then
settles the next day: one CLI run is killed at a random moment of that duration, and the job is
rerun to completion (in this process, through the same service function, while the next victim's
interpreter starts). Kill moments are seeded and stratified over the run (actor check, settling
batches, payout batches, the end). A run that finishes before its kill moment (the machine got
faster) is not a kill: the estimate becomes what it took and the trial is repeated on the next
day, so there are always exactly 20 kills; the days left over are settled one run each.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time as clock
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import Engine, text

from ops_domain.audit.completeness import missing_audit_links
from ops_domain.config import PROJECT_ROOT, Settings
from ops_domain.settlement_automation import automate_settlements
from tests.support.factories import Factory
from tests.support.settlement_processes import mixed_events

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

KILLS = 20
DAYS = 32  # 20 kills, and 11 days to spare for runs that end before their kill moment
MERCHANTS = 125
EVENTS_PER_MERCHANT_PER_DAY = 32
BATCH_SIZE = 5
SETTINGS = Settings(enabled_currencies=frozenset({"USD", "EUR", "IDR"}), batch_size=BATCH_SIZE)
FIRST_DAY = date(2026, 10, 1)  # day 0 measures the run; trials settle the following days
SEED = 20261124


def day_of(index: int) -> date:
    return FIRST_DAY + timedelta(days=index)


class PrimedRun:
    """``automate_settlements --create-payouts`` for one day in its own primed CLI process.

    Its output is the short human summary: a pipe is only read at the end, and a long JSON
    result could fill it and stall the process before it exits."""

    def __init__(self, env: dict[str, str], day: date) -> None:
        self.day = day
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "tests.reliability.primed_cli", "automate_settlements"),
                *("--actor-username", "olga", "--create-payouts"),
                *("--period-start", day.isoformat(), "--period-end", day.isoformat()),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def go(self) -> None:
        assert self.process.stdout is not None
        assert self.process.stdin is not None
        assert self.process.stdout.readline().strip() == "ready"
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def running(self) -> bool:
        return self.process.poll() is None

    def ended_within(self, seconds: float) -> float | None:
        """How long the run took if it ended within ``seconds`` of now; None if it still runs."""
        started = clock.monotonic()
        while (elapsed := clock.monotonic() - started) < seconds:
            if not self.running():
                return elapsed
            clock.sleep(0.005)
        return None if self.running() else elapsed

    def finish(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=120)
        return self.process.returncode, out, err


def run_to_completion(engine: Engine, first: date, last: date) -> dict[str, int]:
    """The rerun: the same service the CLI calls, in this process (no interpreter start-up)."""
    return automate_settlements(
        engine,
        SETTINGS,
        actor_username="olga",
        period_start=first,
        period_end=last,
        create_payouts=True,
        now=datetime.combine(last + timedelta(days=1), time(6), tzinfo=UTC),
    ).counts


def measure_a_full_run(engine: Engine, env: dict[str, str]) -> tuple[float, float]:
    """Seconds from ``go`` until the run recorded itself, and until it ended."""
    run = PrimedRun(env, day_of(0))
    run.go()
    started = clock.monotonic()
    recorded = None
    while run.running():
        if recorded is None and Factory(engine).count("job_runs"):
            recorded = clock.monotonic() - started
        clock.sleep(0.005)
    duration = clock.monotonic() - started
    code, _, err = run.finish()
    assert code == 0, err
    assert Factory(engine).count("cashflow_events", "settlement_id IS NOT NULL") == (
        MERCHANTS * EVENTS_PER_MERCHANT_PER_DAY
    )
    return recorded or 0.0, duration


def test_killed_runs_lose_nothing_and_settle_nothing_twice(
    engine: Engine, factory: Factory, cli_env: dict[str, str]
) -> None:
    factory.user("olga", "operation")
    merchants = [factory.merchant(f"M{n:04d}") for n in range(MERCHANTS)]
    loaded = sum(
        mixed_events(engine, merchants, EVENTS_PER_MERCHANT_PER_DAY, day=day_of(n))
        for n in range(DAYS)
    )
    assert loaded == DAYS * MERCHANTS * EVENTS_PER_MERCHANT_PER_DAY == 128_000
    env = {**cli_env, "OPS_BATCH_SIZE": str(BATCH_SIZE)}
    recorded, duration = measure_a_full_run(engine, env)

    rng = random.Random(SEED)
    fractions = [0.02 + 0.96 * (k + rng.random()) / KILLS for k in range(KILLS)]
    rng.shuffle(fractions)
    killed_days: list[date] = []
    day = 1
    victim = PrimedRun(env, day_of(day))
    try:
        while len(killed_days) < KILLS:
            assert day < DAYS, f"only {len(killed_days)} kills landed in {DAYS - 1} days"
            moment = fractions[len(killed_days)] * duration
            victim.go()
            ended_after = victim.ended_within(moment)
            if ended_after is None:
                victim.process.kill()
                killed_days.append(victim.day)
            else:  # it finished sooner than measured: the estimate becomes what it took
                duration = ended_after
            victim.finish()
            if day + 1 < DAYS:  # prime the next victim while this day is rerun
                victim = PrimedRun(env, day_of(day + 1))
            run_to_completion(engine, day_of(day), day_of(day))
            day += 1
    finally:
        victim.process.kill()
        victim.process.communicate()
    for left_over in range(day, DAYS):
        run_to_completion(engine, day_of(left_over), day_of(left_over))

    print(
        f"crash anywhere: a run took {duration:.1f} s after start-up, recorded at {recorded:.2f} s;"
        f" {day - 1 - KILLS} of {day - 1} trial runs ended before their kill moment"
    )
    assert_books_exact(engine)
    assert_records_tell_the_truth(engine, factory, killed_days)


def assert_books_exact(engine: Engine) -> None:
    with engine.begin() as conn:
        breaches = conn.execute(
            text(
                """
                SELECT
                  (SELECT count(*) FROM cashflow_events WHERE settlement_id IS NULL) AS unsettled,
                  (SELECT count(*) FROM (
                      SELECT s.id FROM settlements s
                        LEFT JOIN cashflow_events e ON e.settlement_id = s.id
                       GROUP BY s.id
                      HAVING s.event_count <> count(e.id)
                          OR s.net_amount <> coalesce(sum(CASE e.direction
                                 WHEN 'credit' THEN e.net_amount ELSE -e.net_amount END), 0)
                          OR s.gross_amount <> coalesce(sum(CASE e.direction
                                 WHEN 'credit' THEN e.amount ELSE -e.amount END), 0)
                          OR bool_or(e.merchant_id <> s.merchant_id OR e.currency <> s.currency
                                     OR (e.occurred_at AT TIME ZONE 'UTC')::date
                                        NOT BETWEEN s.period_start AND s.period_end)
                  ) bad) AS settlements_not_matching_events,
                  (SELECT count(*) - count(DISTINCT (merchant_id, currency, period_start))
                     FROM settlements) AS second_settlements,
                  (SELECT count(*) FROM settlements s
                    WHERE s.status = 'posted' AND s.net_amount > 0
                      AND (SELECT count(*) FROM payouts p WHERE p.settlement_id = s.id) <> 1)
                      AS payable_without_exactly_one_payout,
                  (SELECT count(*) FROM payouts p JOIN settlements s ON s.id = p.settlement_id
                    WHERE NOT (s.status = 'posted' AND s.net_amount > 0)
                       OR p.amount <> s.net_amount) AS wrong_payouts
                """
            )
        ).one()
    assert dict(breaches._mapping) == {
        "unsettled": 0,
        "settlements_not_matching_events": 0,
        "second_settlements": 0,
        "payable_without_exactly_one_payout": 0,
        "wrong_payouts": 0,
    }


def assert_records_tell_the_truth(
    engine: Engine, factory: Factory, killed_days: list[date]
) -> None:
    """On a day with a kill, in id order: the killed run (if it got as far as recording itself)
    is still ``running`` with no end, or ``succeeded`` when the kill came after its last
    commit; then the rerun ``succeeded``. No run ever ``failed``; the audit names each
    succeeded run once, and every settlement's audit row names the run that created it."""
    with engine.begin() as conn:
        runs = dict(
            conn.execute(
                text(
                    """
                    SELECT parameters->>'period_start',
                           array_agg(outcome || CASE WHEN finished_at IS NULL THEN ''
                                                     ELSE '+end' END ORDER BY id)
                      FROM job_runs GROUP BY 1
                    """
                )
            ).all()
        )
        mislabelled = conn.execute(
            text(
                """
                SELECT count(*) FROM settlements s
                  JOIN audit_log a ON a.action = 'settlement.create'
                   AND a.target_id = s.id::text
                 WHERE a.details->>'job_run_id' <> s.job_run_id::text
                """
            )
        ).scalar_one()
    assert factory.count("job_runs", "outcome = 'failed'") == 0
    victims = [runs[day.isoformat()][:-1] for day in killed_days]
    assert [runs[day.isoformat()][-1] for day in killed_days] == ["succeeded+end"] * KILLS
    assert all(v in ([], ["running"], ["succeeded+end"]) for v in victims), victims
    killed_mid_run = sum(v == ["running"] for v in victims)
    print(
        f"crash anywhere: {KILLS} SIGKILLs over {len(runs) - 1} trial days, {killed_mid_run}"
        f" while running, {sum(v == ['succeeded+end'] for v in victims)} after the last commit,"
        f" {sum(v == [] for v in victims)} before the run was recorded"
    )
    assert killed_mid_run >= 1
    assert factory.count("job_runs", "outcome = 'running'") == killed_mid_run
    succeeded = factory.count("job_runs", "outcome = 'succeeded' AND finished_at IS NOT NULL")
    assert factory.count("audit_log", "action = 'job.automate_settlements.succeeded'") == succeeded
    assert factory.count("audit_log", "action LIKE 'job.automate_settlements.%'") == succeeded
    assert mislabelled == 0
    assert missing_audit_links(engine) == []
