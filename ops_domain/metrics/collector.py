"""The ``wallet_ops_*`` Prometheus families (SPEC 5.6), computed by one SQL query per scrape.

Every figure comes from the ops tables, so the numbers survive exporter restarts and agree
with what the release gate sees. The query result is cached for a few seconds: several
Prometheus servers scraping at once cost the database one query.

Business gauges (what each counts):
- settlements_pending: settlements in ``draft`` (waiting for a checker to post them);
- payouts_failed: payouts ``failed``; refunds_pending: refund requests ``pending``;
- recon_breaks_open: breaks ``open`` or ``in_review``;
- alerts_open_high: alerts ``open`` or ``in_review`` with severity ``high`` or ``critical``;
- cases_sla_breach: cases ``open``, ``in_progress`` or ``escalated`` past ``sla_due_at`` (without
  one: older than the fallback SLA, 24 h as in ``escalate_operation_cases``);
- settlement_exceptions_open: ``open`` or ``in_review``;
- journal_approvals_pending: ``pending``; journal_approvals_sla_breach: ``pending`` for longer
  than the journal SLA (8 h as in ``escalate_ops_work_queue``).

Job families count real (non-dry) runs from ``job_runs``: ``wallet_ops_job_runs_total{job,
outcome}`` over finished runs, ``wallet_ops_job_duration_seconds{job}`` a histogram of their
durations, ``wallet_ops_job_runs_in_progress{job}`` the runs still ``running``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from sqlalchemy import Engine, text

from ops_domain.clock import require_hours
from ops_domain.db import translate_db_errors

DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


@dataclass(frozen=True)
class BusinessGauge:
    name: str
    documentation: str
    sql: str


BUSINESS_GAUGES = (
    BusinessGauge(
        "wallet_ops_settlements_pending_count",
        "Settlements in draft, waiting for a checker to post them",
        "SELECT count(*) FROM settlements WHERE status = 'draft'",
    ),
    BusinessGauge(
        "wallet_ops_payouts_failed_count",
        "Payouts in status failed",
        "SELECT count(*) FROM payouts WHERE status = 'failed'",
    ),
    BusinessGauge(
        "wallet_ops_refunds_pending_count",
        "Refund requests pending a checker decision",
        "SELECT count(*) FROM refund_requests WHERE status = 'pending'",
    ),
    BusinessGauge(
        "wallet_ops_recon_breaks_open_count",
        "Reconciliation breaks open or in review",
        "SELECT count(*) FROM reconciliation_breaks WHERE status IN ('open', 'in_review')",
    ),
    BusinessGauge(
        "wallet_ops_alerts_open_high_count",
        "Alerts open or in review with severity high or critical",
        "SELECT count(*) FROM alerts WHERE status IN ('open', 'in_review')"
        " AND severity IN ('high', 'critical')",
    ),
    BusinessGauge(
        "wallet_ops_cases_sla_breach_count",
        "Unresolved cases past their SLA (or the fallback SLA when they have none)",
        "SELECT count(*) FROM cases WHERE status IN ('open', 'in_progress', 'escalated')"
        " AND coalesce(sla_due_at, created_at + make_interval(hours => :case_fallback_hours))"
        " < now()",
    ),
    BusinessGauge(
        "wallet_ops_settlement_exceptions_open_count",
        "Settlement exceptions open or in review",
        "SELECT count(*) FROM settlement_exceptions WHERE status IN ('open', 'in_review')",
    ),
    BusinessGauge(
        "wallet_ops_journal_approvals_pending_count",
        "Journal approvals pending a checker",
        "SELECT count(*) FROM journal_approvals WHERE status = 'pending'",
    ),
    BusinessGauge(
        "wallet_ops_journal_approvals_sla_breach_count",
        "Journal approvals pending longer than the journal approval SLA",
        "SELECT count(*) FROM journal_approvals WHERE status = 'pending'"
        " AND requested_at < now() - make_interval(hours => :journal_sla_hours)",
    ),
)
JOB_RUNS_FAMILY = "wallet_ops_job_runs_total"
JOB_DURATION_FAMILY = "wallet_ops_job_duration_seconds"
JOBS_RUNNING_FAMILY = "wallet_ops_job_runs_in_progress"
REQUIRED_FAMILIES = (*(g.name for g in BUSINESS_GAUGES), JOB_RUNS_FAMILY, JOB_DURATION_FAMILY)

_BUCKET_COUNTS = ", ".join(
    f"count(*) FILTER (WHERE finished_at - started_at <= make_interval(secs => {bound}))"
    for bound in DURATION_BUCKETS
)
FIGURES_QUERY = text(
    "SELECT "
    + ", ".join(f"({gauge.sql}) AS {gauge.name}" for gauge in BUSINESS_GAUGES)
    + f""",
    (SELECT coalesce(json_agg(finished), '[]'::json) FROM (
        SELECT job_name, outcome, count(*) AS runs,
               coalesce(sum(extract(epoch FROM finished_at - started_at)), 0)::float AS seconds,
               ARRAY[{_BUCKET_COUNTS}] AS buckets
          FROM job_runs
         WHERE NOT dry_run AND outcome <> 'running' AND finished_at IS NOT NULL
         GROUP BY job_name, outcome) finished) AS finished_jobs,
    (SELECT coalesce(json_object_agg(job_name, runs), '{{}}'::json) FROM (
        SELECT job_name, count(*) AS runs FROM job_runs
         WHERE NOT dry_run AND outcome = 'running' GROUP BY job_name) running) AS running_jobs
    """
)


@dataclass(frozen=True)
class MetricRules:
    """The SLA thresholds the breach gauges use (defaults mirror the escalation jobs)."""

    case_fallback_sla_hours: int = 24
    journal_approval_sla_hours: int = 8

    def __post_init__(self) -> None:
        require_hours(self.case_fallback_sla_hours, "case fallback SLA hours")
        require_hours(self.journal_approval_sla_hours, "journal approval SLA hours")


DEFAULT_RULES = MetricRules()


@dataclass(frozen=True)
class JobFigures:
    job: str
    outcome: str
    runs: int
    seconds: float
    buckets: tuple[int, ...]


@dataclass(frozen=True)
class OpsFigures:
    gauges: dict[str, int]
    finished_jobs: tuple[JobFigures, ...] = ()
    running_jobs: dict[str, int] = field(default_factory=dict)


def read_figures(engine: Engine, rules: MetricRules = DEFAULT_RULES) -> OpsFigures:
    """Every figure in one statement; an unreachable database raises ``DatabaseUnavailable``."""
    with translate_db_errors(engine.url), engine.connect() as conn:
        row = (
            conn.execute(
                FIGURES_QUERY,
                {
                    "case_fallback_hours": rules.case_fallback_sla_hours,
                    "journal_sla_hours": rules.journal_approval_sla_hours,
                },
            )
            .one()
            ._mapping
        )
    return OpsFigures(
        gauges={gauge.name: int(row[gauge.name]) for gauge in BUSINESS_GAUGES},
        finished_jobs=tuple(
            JobFigures(
                job=item["job_name"],
                outcome=item["outcome"],
                runs=int(item["runs"]),
                seconds=float(item["seconds"]),
                buckets=tuple(int(n) for n in item["buckets"]),
            )
            for item in row["finished_jobs"]
        ),
        running_jobs={job: int(n) for job, n in row["running_jobs"].items()},
    )


class OpsMetricsCollector:
    """A prometheus-client custom collector over ``read_figures``, cached for ``cache_seconds``."""

    def __init__(
        self,
        engine: Engine,
        *,
        cache_seconds: float = 5.0,
        rules: MetricRules = DEFAULT_RULES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._rules = rules
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, OpsFigures] | None = None

    def figures(self) -> OpsFigures:
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= self._cache_seconds:
                self._cached = (now, read_figures(self._engine, self._rules))
            return self._cached[1]

    def collect(self) -> Iterator[Metric]:
        figures = self.figures()
        for gauge in BUSINESS_GAUGES:
            family = GaugeMetricFamily(gauge.name, gauge.documentation)
            family.add_metric([], figures.gauges[gauge.name])
            yield family
        yield from job_families(figures)


def job_families(figures: OpsFigures) -> Iterator[Metric]:
    runs = CounterMetricFamily(
        JOB_RUNS_FAMILY.removesuffix("_total"),
        "Finished job runs (dry runs excluded) by job and outcome",
        labels=["job", "outcome"],
    )
    durations = HistogramMetricFamily(
        JOB_DURATION_FAMILY, "Duration of finished job runs (dry runs excluded)", labels=["job"]
    )
    running = GaugeMetricFamily(
        JOBS_RUNNING_FAMILY, "Job runs started and not finished", labels=["job"]
    )
    per_job: dict[str, list[Any]] = {}
    for item in figures.finished_jobs:
        runs.add_metric([item.job, item.outcome], item.runs)
        total = per_job.setdefault(item.job, [0, 0.0, [0] * len(DURATION_BUCKETS)])
        total[0] += item.runs
        total[1] += item.seconds
        total[2] = [a + b for a, b in zip(total[2], item.buckets, strict=True)]
    for job, (count, seconds, buckets) in sorted(per_job.items()):
        bounds = [(repr(bound), n) for bound, n in zip(DURATION_BUCKETS, buckets, strict=True)]
        durations.add_metric([job], [*bounds, ("+Inf", count)], seconds)
    for job, count in sorted(figures.running_jobs.items()):
        running.add_metric([job], count)
    yield from (runs, durations, running)
