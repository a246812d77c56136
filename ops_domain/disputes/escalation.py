"""escalate_refund_disputes: pending refunds past their SLA are escalated exactly once.

A refund is stamped with ``escalated_at`` and a reason; its case, if open or in progress, moves
to ``escalated``; the case gets an internal note naming the refund. ``escalated_at IS NULL``
is the once-only guard: a stamped refund never qualifies again, and concurrent runs claim
disjoint refunds with ``FOR UPDATE SKIP LOCKED``. The stamp writes its ``refund.escalate``
audit rows, its cases' escalation and notes and their audit rows in the same statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import REFUND_ESCALATE, in_sql
from ops_domain.audit.log import AuditRows, insert_audit_rows
from ops_domain.cases.models import CASE_STATES
from ops_domain.cases.service import (
    CASE_ESCALATE_ROWS,
    CASE_NOTE_ROWS,
    moved_case_sql,
    moved_cases_cte,
    noted_cte,
    split_moved_case,
)
from ops_domain.clock import as_utc, utc_now
from ops_domain.config import Settings
from ops_domain.jobs import JobContext, JobResult, JobSpec, run_job

ESCALATE_REFUND_DISPUTES = JobSpec("escalate_refund_disputes", "disputes.escalate")


def escalation_reason_sql(refund: str) -> str:
    """Why refund row ``refund`` is escalated: pending past its SLA (its ``sla_due_at``)."""
    return (
        "'pending past its SLA (due '"
        f" || to_char({refund}.sla_due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        " || ')'"
    )


def refund_note_sql(refund: str) -> str:
    """The note an escalated refund ``refund`` leaves on its case."""
    return (
        f"'Refund ' || {refund}.refund_no || ' (' || {refund}.amount || ' ' || {refund}.currency"
        f" || ') escalated: ' || {refund}.escalation_reason || '.'"
    )


# The refund.escalate rows of the stamped refunds ``ordered o`` (in claim order).
REFUND_ESCALATE_ROWS = AuditRows(
    in_sql(REFUND_ESCALATE),
    "refund_request",
    source="ordered o",
    target_id="o.id",
    before="jsonb_build_object('escalated_at', NULL)",
    after="jsonb_build_object('escalated_at', CAST(:now_iso AS text),"
    " 'escalation_reason', o.escalation_reason)",
    details="jsonb_build_object('job_run_id', CAST(:job_run_id AS bigint))",
    order_by="o.position",
)

_AUDIT_ROWS = insert_audit_rows(REFUND_ESCALATE_ROWS, CASE_ESCALATE_ROWS, CASE_NOTE_ROWS)

# One statement per batch: stamp the refunds, escalate their cases, note each case, and write
# the audit rows of all three (refund.escalate, case.escalate, case.note, in that order).
_ESCALATE_OVERDUE = text(
    f"""
    WITH due AS (
        SELECT id FROM refund_requests
         WHERE status = 'pending' AND escalated_at IS NULL AND sla_due_at < :now
         ORDER BY sla_due_at, id
         LIMIT :batch
         FOR UPDATE SKIP LOCKED
    ),
    stamped AS (
        UPDATE refund_requests r
           SET escalated_at = :now,
               escalation_reason = {escalation_reason_sql("r")}
          FROM due
         WHERE r.id = due.id
        RETURNING r.id, r.refund_no, r.case_id, r.merchant_id, r.amount, r.currency,
                  r.sla_due_at, r.escalated_at, r.escalation_reason
    ),
    ordered AS (
        SELECT s.*, row_number() OVER (ORDER BY s.sla_due_at, s.id) AS position FROM stamped s
    ),
    target AS (
        SELECT id, status FROM cases
         WHERE id IN (SELECT case_id FROM stamped) AND status = ANY(CAST(:sources AS text[]))
         ORDER BY id
         FOR UPDATE
    ),
    {moved_cases_cte("target")},
    {
        noted_cte(
            "SELECT o.case_id, CAST(:actor_id AS bigint) AS author_id,"
            f" {refund_note_sql('o')} AS body, true AS is_internal, o.position"
            " FROM ordered o WHERE o.case_id IS NOT NULL"
        )
    },
    audited AS ({_AUDIT_ROWS})
    SELECT o.id, o.refund_no, o.case_id, o.merchant_id, o.amount, o.currency, o.sla_due_at,
           o.escalated_at, o.escalation_reason, {moved_case_sql("m")}
      FROM ordered o LEFT JOIN moved m ON m.id = o.case_id
     ORDER BY o.position
    """
)


def escalate_refund_disputes(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    now: datetime | None = None,
    dry_run: bool = False,
    idempotency_key: str | None = None,
) -> JobResult:
    """Escalate every pending refund whose ``sla_due_at`` is before ``now``, once."""
    moment = as_utc(now) if now else utc_now()

    def body(ctx: JobContext) -> None:
        while True:
            refunds, cases = ctx.run_batch(lambda session: _escalate_batch(session, ctx, moment))
            ctx.result.add("refunds_escalated", len(refunds))
            ctx.result.add("cases_escalated", len(cases))
            ctx.result.add("case_notes_added", sum(1 for r in refunds if r["case_id"]))
            ctx.result.add_items("refunds", refunds)
            ctx.result.add_items("cases", cases)
            if len(refunds) < ctx.settings.batch_size:
                return

    return run_job(
        engine,
        ESCALATE_REFUND_DISPUTES,
        actor_username=actor_username,
        parameters={"now": moment},
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        settings=settings,
        body=body,
    )


def _escalate_batch(
    session: Session, ctx: JobContext, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = session.execute(
        _ESCALATE_OVERDUE,
        {
            "now": now,
            "now_iso": now.isoformat(),
            "batch": ctx.settings.batch_size,
            "actor_id": ctx.actor.id,
            "job_run_id": ctx.job_run_id,
            "sources": sorted(CASE_STATES.sources_of("escalated")),
            "reason": "refund dispute past its SLA",
        },
    ).mappings()
    refunds, cases = [], {}
    for row in rows:
        refund = dict(row)
        moved = split_moved_case(refund)
        if moved is not None:
            cases[moved["id"]] = moved
        refunds.append(refund)
    return refunds, sorted(cases.values(), key=lambda case: case["id"])
