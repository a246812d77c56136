"""escalate_operation_cases: open / in-progress cases past their SLA are escalated once.

A case is overdue when its ``sla_due_at`` has passed or, without one, when it was opened more
than ``fallback_sla_hours`` ago. Each overdue case moves to ``escalated``, gets an internal
note, and raises a ``case_sla_breach`` alert (deduplicated per case while not closed).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.alerts.service import ALERT_RAISE_ROWS, raised_alerts_cte
from ops_domain.audit.log import insert_audit_rows
from ops_domain.clock import as_utc, require_hours, utc_now
from ops_domain.config import Settings
from ops_domain.jobs import JobContext, JobResult, JobSpec, run_job

from .models import CASE_STATES
from .service import (
    CASE_ESCALATE_ROWS,
    CASE_NOTE_ROWS,
    moved_case_sql,
    moved_cases_cte,
    noted_cte,
    split_moved_case,
)

ESCALATE_OPERATION_CASES = JobSpec("escalate_operation_cases", "cases.escalate")
SERIOUS_LEVELS = frozenset({"high", "critical"})


def breach_severity_sql(level: str) -> str:
    """An SLA breach on something high or critical (``level``: case priority,
    settlement-exception severity) is a ``high`` alert, anything else ``medium``."""
    serious = ", ".join(f"'{name}'" for name in sorted(SERIOUS_LEVELS))
    return f"CASE WHEN {level} IN ({serious}) THEN 'high' ELSE 'medium' END"


def iso_utc_sql(moment: str) -> str:
    """``moment`` as Python's ``isoformat()`` writes a UTC instant (microseconds when any)."""
    return (
        f"to_char({moment} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN extract(microseconds FROM {moment})::int % 1000000 = 0 THEN ''"
        f" ELSE to_char({moment} AT TIME ZONE 'UTC', '.US') END || '+00:00'"
    )


def breach_note_sql(case: str) -> str:
    """The internal note of escalated case ``case`` (a row with ``sla_due_at``, ``created_at``)."""
    return f"""
    CASE WHEN {case}.sla_due_at IS NOT NULL
         THEN 'Escalated: SLA due ' || {iso_utc_sql(f"{case}.sla_due_at")} || ' has passed.'
         ELSE 'Escalated: no SLA set and open since ' || {iso_utc_sql(f"{case}.created_at")}
              || ', past the fallback SLA.'
    END
    """


def breach_alerts_sql(breaches: str) -> str:
    """The ``case_sla_breach`` alert of each escalated case ``b`` of ``breaches`` (case rows
    with their ``note``), as ``raised_alerts_cte`` takes it."""
    return (
        "SELECT 'case_sla_breach' AS alert_type,"
        f" {breach_severity_sql('b.priority')} AS severity,"
        " 'Case ' || b.case_no || ' (' || b.priority || ') breached its SLA' AS title,"
        " b.note AS message, b.merchant_id, b.id AS case_id, 'case' AS target_type,"
        f" b.id::text AS target_id, b.id AS position FROM {breaches}"
    )


_AUDIT_ROWS = insert_audit_rows(CASE_ESCALATE_ROWS, CASE_NOTE_ROWS, ALERT_RAISE_ROWS)

# One statement per batch: claim overdue cases, escalate them, note each and raise its
# case_sla_breach alert, with the audit rows of all three.
_ESCALATE_OVERDUE = text(
    f"""
    WITH claimed AS (
        SELECT id, status FROM cases
         WHERE status = ANY(CAST(:sources AS text[]))
           AND (sla_due_at < :now OR (sla_due_at IS NULL AND created_at < :fallback_cutoff))
           AND id > :after
         ORDER BY id
         LIMIT :batch
         FOR UPDATE SKIP LOCKED
    ),
    {moved_cases_cte("claimed")},
    breaches AS (SELECT m.*, {breach_note_sql("m")} AS note FROM moved m),
    {
        noted_cte(
            "SELECT b.id AS case_id, CAST(:actor_id AS bigint) AS author_id, b.note AS body,"
            " true AS is_internal, b.id AS position FROM breaches b"
        )
    },
    {raised_alerts_cte(breach_alerts_sql("breaches b"))},
    audited AS ({_AUDIT_ROWS})
    SELECT c.id AS claimed_id, {moved_case_sql("m")}, to_jsonb(r) AS alert
      FROM claimed c
      LEFT JOIN moved m ON m.id = c.id
      LEFT JOIN raised r ON r.target_id = m.id::text
     ORDER BY c.id
    """
)


def escalate_operation_cases(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    now: datetime | None = None,
    fallback_sla_hours: float = 24,
    dry_run: bool = False,
    idempotency_key: str | None = None,
) -> JobResult:
    """Escalate every overdue open / in-progress case exactly once, even with runs in parallel
    (candidates are claimed with ``FOR UPDATE SKIP LOCKED`` and leave the candidate set)."""
    require_hours(fallback_sla_hours, "fallback SLA hours")
    moment = as_utc(now) if now else utc_now()
    fallback_cutoff = moment - timedelta(hours=fallback_sla_hours)

    def body(ctx: JobContext) -> None:
        after = 0
        while True:
            claimed, cases, alerts = ctx.run_batch(
                partial(_escalate_batch, ctx=ctx, now=moment, cutoff=fallback_cutoff, after=after)
            )
            ctx.result.add("cases_escalated", len(cases))
            ctx.result.add("alerts_raised", len(alerts))
            ctx.result.add_items("cases", cases)
            ctx.result.add_items("alerts", alerts)
            if len(claimed) < ctx.settings.batch_size:
                return
            # Keyset paging: the next batch starts after this one instead of rescanning from
            # the first case past every case that is not overdue.
            after = claimed[-1]

    return run_job(
        engine,
        ESCALATE_OPERATION_CASES,
        actor_username=actor_username,
        parameters={"now": moment, "fallback_sla_hours": fallback_sla_hours},
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        settings=settings,
        body=body,
    )


def _escalate_batch(
    session: Session, *, ctx: JobContext, now: datetime, cutoff: datetime, after: int
) -> tuple[list[int], list[dict[str, Any]], list[dict[str, Any]]]:
    rows = session.execute(
        _ESCALATE_OVERDUE,
        {
            "sources": sorted(CASE_STATES.sources_of("escalated")),
            "now": now,
            "fallback_cutoff": cutoff,
            "after": after,
            "batch": ctx.settings.batch_size,
            "actor_id": ctx.actor.id,
            "reason": "operation case past its SLA",
        },
    ).mappings()
    claimed, cases, alerts = [], [], []
    for row in rows:
        found = dict(row)
        claimed.append(found["claimed_id"])
        case = split_moved_case(found)
        if case is not None:
            cases.append(case)
        if found["alert"] is not None:
            alerts.append(found["alert"])
    return claimed, cases, alerts
