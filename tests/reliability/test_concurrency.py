"""Concurrency: four settlement processes and two escalation processes at once on the same
window settle each event once, pay each settlement once, escalate each case once and raise
each alert once; a real deadlock inside a batch is retried, and when it persists the run
fails cleanly (exit code 3, run recorded as failed)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.config import PROJECT_ROOT, Settings
from ops_domain.errors import DatabaseUnavailable
from ops_domain.jobs import BATCH_ATTEMPTS, JobContext, JobSpec, run_job
from tests.support.factories import Factory
from tests.support.settlement_processes import mixed_events, start_settlement_cli

pytestmark = pytest.mark.reliability

DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
OVERDUE = NOW - timedelta(hours=2)
MERCHANTS = 120
EVENTS_PER_MERCHANT = 25
DISPUTED_CASES = 40
OTHER_CASES = 30
SETTLERS = ("olga", "fiona", "ada", "omar")


def start_escalation(env: dict[str, str], job: str, actor: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ops_domain",
            job,
            "--json",  # the items are overdue as of NOW, and so at the real clock too
            "--actor-username",
            actor,
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_six_processes_at_once_settle_pay_escalate_and_alert_exactly_once(
    engine: Engine, factory: Factory, cli_env: dict[str, str]
) -> None:
    for username, role in zip(
        SETTLERS, ("operation", "finance", "admin", "operation"), strict=True
    ):
        factory.user(username, role)
    factory.user("rita", "risk")
    cs = factory.user("cora", "customer_service")
    merchants = [factory.merchant() for _ in range(MERCHANTS)]
    events = mixed_events(engine, merchants, EVENTS_PER_MERCHANT, day=DAY)
    with engine.begin() as conn:
        sources = list(conn.execute(text("SELECT id FROM cashflow_events ORDER BY id")).scalars())
    for n in range(DISPUTED_CASES):
        case_id = factory.case(cs, priority="high", sla_due_at=OVERDUE)
        factory.refund(cs, sources[n * 71], "1.00", case_id=case_id, sla_due_at=OVERDUE)
    for _ in range(OTHER_CASES):
        factory.case(cs, priority="medium", sla_due_at=OVERDUE)
    env = {**cli_env, "OPS_BATCH_SIZE": "5"}
    window = ["--period-start", DAY.isoformat(), "--period-end", DAY.isoformat()]

    processes = [
        start_settlement_cli(env, "--actor-username", actor, "--create-payouts", *window)
        for actor in SETTLERS
    ] + [
        start_escalation(env, "escalate_refund_disputes", "olga"),
        start_escalation(env, "escalate_operation_cases", "rita"),
    ]
    outputs = [process.communicate(timeout=180) for process in processes]

    assert [p.returncode for p in processes] == [0] * 6, [err for _, err in outputs]
    assert all("Traceback" not in err for _, err in outputs)
    counts = [json.loads(out)["counts"] for out, _ in outputs]
    settled, refunds, cases = counts[:4], counts[4], counts[5]
    assert sum(c["events_settled"] for c in settled) == events == 3000
    # each payout is reported once: by the run that settled it, or swept by an overlapping one
    paid = sum(c["payouts_created"] + c["payouts_swept"] for c in settled)
    assert paid == factory.count("payouts")
    assert_settled_and_paid_once(engine)

    assert refunds["refunds_escalated"] == DISPUTED_CASES
    assert refunds["cases_escalated"] + cases["cases_escalated"] == DISPUTED_CASES + OTHER_CASES
    assert factory.count("cases", "status = 'escalated'") == DISPUTED_CASES + OTHER_CASES
    assert_audited_once(engine, "case.escalate", DISPUTED_CASES + OTHER_CASES)
    assert_audited_once(engine, "refund.escalate", DISPUTED_CASES)
    assert cases["alerts_raised"] == cases["cases_escalated"] == factory.count("alerts")
    assert_audited_once(engine, "alert.raise", cases["alerts_raised"])
    with engine.begin() as conn:
        per_case = conn.execute(
            text("SELECT count(*) - count(DISTINCT case_id) FROM alerts")
        ).scalar_one()
    assert per_case == 0


def assert_settled_and_paid_once(engine: Engine) -> None:
    with engine.begin() as conn:
        row = conn.execute(
            text(
                """
                SELECT
                  (SELECT count(*) FROM cashflow_events WHERE settlement_id IS NULL) AS unsettled,
                  (SELECT count(*) - count(DISTINCT (merchant_id, currency)) FROM settlements)
                      AS second_settlements,
                  (SELECT coalesce(sum(event_count), 0) FROM settlements) AS events_in_totals,
                  (SELECT count(*) FROM settlements s
                    WHERE s.status = 'posted' AND s.net_amount > 0
                      AND (SELECT count(*) FROM payouts p WHERE p.settlement_id = s.id) <> 1)
                      AS payable_without_one_payout
                """
            )
        ).one()
    assert tuple(row) == (0, 0, MERCHANTS * EVENTS_PER_MERCHANT, 0)


def assert_audited_once(engine: Engine, action: str, expected: int) -> None:
    with engine.begin() as conn:
        targets = list(
            conn.execute(
                text("SELECT target_id FROM audit_log WHERE action = :a"), {"a": action}
            ).scalars()
        )
    assert len(targets) == len(set(targets)) == expected


# --- a real deadlock inside a batch -----------------------------------------------------------

PROBE = JobSpec("reliability_probe", "settlements.run")


class DeadlockPartner:
    """A second connection that takes merchant B, then wants merchant A, which the batch
    holds; the batch then wants B: a genuine deadlock. The partner's deadlock_timeout is
    long, so PostgreSQL's deadlock check fires in the batch's session first and aborts it."""

    def __init__(self, engine: Engine, first: int, second: int) -> None:
        self.engine = engine
        self.pid: int | None = None
        self.holding = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(first, second))
        self.thread.start()
        assert self.holding.wait(10)

    def _run(self, first: int, second: int) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SET deadlock_timeout = '10s'"))
            self.pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            conn.execute(LOCK_MERCHANT, {"id": second})
            self.holding.set()
            conn.execute(LOCK_MERCHANT, {"id": first})  # waits for the batch
            conn.commit()

    def wait_until_blocked(self) -> None:
        for _ in range(1000):
            with self.engine.connect() as conn:
                waiting = conn.execute(
                    text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :p"),
                    {"p": self.pid},
                ).scalar()
            if waiting:
                return
            time.sleep(0.01)
        raise AssertionError("the deadlock partner never waited for the batch")


LOCK_MERCHANT = text("UPDATE merchants SET name = name WHERE id = :id")


def deadlocking_work(
    engine: Engine, first: int, second: int, deadlocks: int, partners: list[DeadlockPartner]
) -> Callable[[Session], None]:
    """Batch work that deadlocks on its first ``deadlocks`` attempts, then renames A."""

    def work(session: Session) -> None:
        session.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
        session.execute(LOCK_MERCHANT, {"id": first})
        if len(partners) < deadlocks:
            partner = DeadlockPartner(engine, first, second)
            partners.append(partner)
            partner.wait_until_blocked()
            session.execute(LOCK_MERCHANT, {"id": second})
        session.execute(
            text("UPDATE merchants SET name = 'renamed once' WHERE id = :id"), {"id": first}
        )

    return work


@pytest.mark.parametrize(("deadlocks", "outcome"), [(1, "succeeded"), (BATCH_ATTEMPTS, "failed")])
def test_a_deadlocked_batch_is_retried_then_fails_cleanly(
    engine: Engine, settings: Settings, factory: Factory, deadlocks: int, outcome: str
) -> None:
    factory.user("olga", "operation")
    first, second = factory.merchant("MA"), factory.merchant("MB")
    partners: list[DeadlockPartner] = []

    def body(ctx: JobContext) -> None:
        ctx.result.add("batches", 0)
        ctx.run_batch(deadlocking_work(engine, first, second, deadlocks, partners))
        ctx.result.add("batches")

    def run() -> None:
        run_job(
            engine,
            PROBE,
            actor_username="olga",
            parameters={},
            dry_run=False,
            idempotency_key=None,
            settings=settings,
            body=body,
        )

    try:
        if outcome == "failed":
            with pytest.raises(
                DatabaseUnavailable, match="batch failed 3 times on deadlock"
            ) as err:
                run()
            assert err.value.exit_code == 3
        else:
            run()
    finally:
        for partner in partners:
            partner.thread.join(30)
    assert len(partners) == deadlocks
    renamed = factory.count("merchants", "name = 'renamed once'")
    assert renamed == (1 if outcome == "succeeded" else 0)
    with engine.begin() as conn:
        run_row = conn.execute(text("SELECT outcome, error, counts FROM job_runs")).one()
    assert run_row.outcome == outcome
    assert run_row.counts == {"batches": 1 if outcome == "succeeded" else 0}
    if outcome == "failed":
        assert run_row.error == "reliability_probe: batch failed 3 times on deadlock"
    assert factory.audit_actions("job.") == [f"job.reliability_probe.{outcome}"]
