"""The measured operations: each the real service call a DAG task or the CLI makes.

An operation has an untimed ``prepare`` (what the process needs before the job starts: its
engine, a server, row counts for the rows/s figure) and a timed ``run`` that returns the
number of rows the job worked through and a few details for the record.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from bench.dataset import CURRENCIES, BenchClock
from bench.limit_escalations import (
    alert_work_queue_at_the_limit,
    escalate_cases_at_the_limit,
    escalate_refunds_at_the_limit,
)
from bench.limit_settlements import settle_at_the_limit
from bench.naive_settlements import settle_naively
from bench.targets import ESCALATION_LIMITS
from ops_domain.config import Settings

BENCH_ACTOR = "bench_admin"
SETTINGS = Settings(enabled_currencies=frozenset(CURRENCIES))


@dataclass
class Run:
    """What the child process was asked to do, and what ``prepare`` left for ``run``."""

    engine: Engine
    clock: BenchClock
    options: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)


Outcome = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Operation:
    name: str
    run: Callable[[Run], Outcome]
    prepare: Callable[[Run], None] = lambda _run: None
    repeat: int = 1  # > 1: the median of that many runs (fast read-mostly operations)


def _settlements(create_payouts: bool) -> Callable[[Run], Outcome]:
    def run(job: Run) -> Outcome:
        from ops_domain.settlement_automation import automate_settlements

        day = job.clock.business_day
        result = automate_settlements(
            job.engine,
            SETTINGS,
            actor_username=BENCH_ACTOR,
            period_start=day,
            period_end=day,
            create_payouts=create_payouts,
            now=job.clock.now,
        )
        return result.counts["events_settled"], dict(result.counts)

    return run


def _prepare_actor(job: Run) -> None:
    with job.engine.connect() as conn:
        job.state["actor_id"] = conn.execute(
            text("SELECT id FROM users WHERE username = :name"), {"name": BENCH_ACTOR}
        ).scalar_one()


def _limit(job: Run) -> Outcome:
    day = job.clock.business_day
    linked = settle_at_the_limit(
        job.engine,
        period_start=day,
        period_end=day,
        actor_id=job.state["actor_id"],
        auto_post_limit=SETTINGS.auto_post_limit,
    )
    return linked, {"events_linked": linked}


def _naive(job: Run) -> Outcome:
    day = job.clock.business_day
    merchants = job.options["naive_merchants"]
    settled = settle_naively(
        job.engine,
        merchant_ids=list(range(1, merchants + 1)),
        period_start=day,
        period_end=day,
        actor_id=job.state["actor_id"],
        auto_post_limit=SETTINGS.auto_post_limit,
    )
    return settled, {"merchants": merchants, "events_settled": settled}


def _refund_disputes(job: Run) -> Outcome:
    from ops_domain.disputes.escalation import escalate_refund_disputes

    result = escalate_refund_disputes(
        job.engine, SETTINGS, actor_username=BENCH_ACTOR, now=job.clock.now
    )
    return result.counts["refunds_escalated"], dict(result.counts)


def _operation_cases(job: Run) -> Outcome:
    from ops_domain.cases.escalation import escalate_operation_cases

    result = escalate_operation_cases(
        job.engine, SETTINGS, actor_username=BENCH_ACTOR, now=job.clock.now
    )
    return result.counts["cases_escalated"], dict(result.counts)


def _work_queue(job: Run) -> Outcome:
    from ops_domain.work_queue.escalation import escalate_ops_work_queue

    result = escalate_ops_work_queue(
        job.engine, SETTINGS, actor_username=BENCH_ACTOR, now=job.clock.now
    )
    overdue = sum(n for name, n in result.counts.items() if name.startswith("overdue_"))
    return overdue, dict(result.counts)


def _escalation_limit(write: Callable[..., int]) -> Callable[[Run], Outcome]:
    def run(job: Run) -> Outcome:
        with job.engine.begin() as conn:
            written = write(conn, now=job.clock.now, actor_id=job.state["actor_id"])
        return written, {"escalated": written}

    return run


def _count_period_lines(job: Run) -> None:
    start, end = job.clock.previous_month
    with job.engine.connect() as conn:
        job.state["lines"] = conn.execute(
            text(
                "SELECT count(*) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id"
                " WHERE e.entry_date BETWEEN :start AND :end"
            ),
            {"start": start, "end": end},
        ).scalar_one()


def _period_close(job: Run) -> Outcome:
    """Close the previous month in every currency (one job run per currency)."""
    from ops_domain.accounting.periods import manage_accounting_period

    start, end = job.clock.previous_month
    closed = 0
    for currency in CURRENCIES:
        result = manage_accounting_period(
            job.engine,
            SETTINGS,
            actor_username=BENCH_ACTOR,
            period_start=start,
            period_end=end,
            currency=currency,
            action="close",
            now=job.clock.now,
        )
        closed += result.counts.get("periods_closed", 0)
    return job.state["lines"], {"periods_closed": closed}


def _gate(job: Run) -> Outcome:
    from ops_domain.readiness.gate import release_readiness_gate

    report = release_readiness_gate(
        job.engine, SETTINGS, actor_username=BENCH_ACTOR, release_id="bench", now=job.clock.now
    )
    return sum(report.counters.values()), {"is_ready": report.is_ready, **report.counters}


def _start_exporter(job: Run) -> None:
    from ops_domain.metrics.exporter import MetricsServer

    # the bench scrapes its own loopback exporter: the explicit local mode, no token
    job.state["server"] = MetricsServer(
        job.engine, port=0, local_mode=True, cache_seconds=0
    ).start()


def _scrape(job: Run) -> Outcome:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(job.state["server"].url, timeout=30) as response:  # noqa: S310
        body = response.read().decode()
    gauges = {
        family.name: family.samples[0].value
        for family in text_string_to_metric_families(body)
        if family.type == "gauge" and family.samples and not family.samples[0].labels
    }
    return int(sum(gauges.values())), {"bytes": len(body), **gauges}


def _prepare_data_quality(job: Run) -> None:
    from ops_domain.data_quality.rules import data_quality_rules
    from ops_domain.data_quality.validation import _great_expectations

    _great_expectations()  # the import (~3 s) is paid once per process, not per validation
    tables = sorted({check.table for rule in data_quality_rules(SETTINGS) for check in rule.checks})
    with job.engine.connect() as conn:
        job.state["rows"] = sum(
            conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in tables
        )
    job.state["tables"] = tables


def _data_quality(job: Run) -> Outcome:
    from ops_domain.data_quality.service import run_data_quality

    report = run_data_quality(job.engine, SETTINGS)
    return job.state["rows"], {
        "tables": job.state["tables"],
        "success": report.success,
        "failed_rules": [rule.name for rule in report.failed_rules],
        "errored": report.errored,
    }


OPERATIONS = {
    op.name: op
    for op in (
        Operation("automate_settlements", _settlements(create_payouts=True)),
        Operation("automate_settlements (no payouts)", _settlements(create_payouts=False)),
        Operation("limit: 2-statement settlement", _limit, _prepare_actor),
        Operation("naive ORM settlement", _naive, _prepare_actor),
        Operation("escalate_refund_disputes", _refund_disputes),
        Operation("escalate_operation_cases", _operation_cases),
        Operation("escalate_ops_work_queue", _work_queue),
        *(
            Operation(ESCALATION_LIMITS[job], _escalation_limit(write), _prepare_actor)
            for job, write in (
                ("escalate_refund_disputes", escalate_refunds_at_the_limit),
                ("escalate_operation_cases", escalate_cases_at_the_limit),
                ("escalate_ops_work_queue", alert_work_queue_at_the_limit),
            )
        ),
        Operation("manage_accounting_period close", _period_close, _count_period_lines),
        Operation("release_readiness_gate", _gate, repeat=5),
        Operation("metrics scrape", _scrape, _start_exporter, repeat=5),
        Operation("data-quality suite", _data_quality, _prepare_data_quality),
    )
}


def parse_clock(raw: str) -> BenchClock:
    return BenchClock(datetime.fromisoformat(raw))
