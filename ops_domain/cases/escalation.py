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

from ops_domain.alerts.service import AlertSpec, raise_alerts
from ops_domain.clock import as_utc, require_hours, utc_now
from ops_domain.config import Settings
from ops_domain.jobs import JobContext, JobResult, JobSpec, run_job

from .models import CASE_STATES
from .service import escalate_cases, write_case_notes

ESCALATE_OPERATION_CASES = JobSpec("escalate_operation_cases", "cases.escalate")
SERIOUS_LEVELS = frozenset({"high", "critical"})

_LOCK_OVERDUE = text(
    """
    SELECT id FROM cases
     WHERE status = ANY(CAST(:sources AS text[]))
       AND (sla_due_at < :now OR (sla_due_at IS NULL AND created_at < :fallback_cutoff))
       AND id > :after
     ORDER BY id
     LIMIT :batch
     FOR UPDATE SKIP LOCKED
    """
)


def breach_severity(level: str) -> str:
    """An SLA breach on something high or critical is a ``high`` alert, anything else
    ``medium`` (case priority, settlement-exception severity)."""
    return "high" if level in SERIOUS_LEVELS else "medium"


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
    claimed = session.scalars(
        _LOCK_OVERDUE,
        {
            "sources": sorted(CASE_STATES.sources_of("escalated")),
            "now": now,
            "fallback_cutoff": cutoff,
            "after": after,
            "batch": ctx.settings.batch_size,
        },
    ).all()
    cases = escalate_cases(
        session, claimed, actor_id=ctx.actor.id, now=now, reason="operation case past its SLA"
    )
    write_case_notes(
        session, [(case["id"], _breach_note(case)) for case in cases], author_id=ctx.actor.id
    )
    alerts = raise_alerts(session, [_breach_alert(case) for case in cases], actor_id=ctx.actor.id)
    return list(claimed), cases, alerts


def _breach_note(case: dict[str, Any]) -> str:
    if case["sla_due_at"] is not None:
        return f"Escalated: SLA due {case['sla_due_at'].isoformat()} has passed."
    return (
        f"Escalated: no SLA set and open since {case['created_at'].isoformat()},"
        " past the fallback SLA."
    )


def _breach_alert(case: dict[str, Any]) -> AlertSpec:
    return AlertSpec(
        alert_type="case_sla_breach",
        severity=breach_severity(case["priority"]),
        target_type="case",
        target_id=str(case["id"]),
        title=f"Case {case['case_no']} ({case['priority']}) breached its SLA",
        message=_breach_note(case),
        merchant_id=case["merchant_id"],
        case_id=case["id"],
    )
