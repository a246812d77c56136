"""The limits of the escalations: the rows each job writes, by the plainest SQL that writes them.

Each limit writes what its job writes into the same tables, through the same indexes, triggers
(the audit principal stamp, the case status guard) and foreign keys: the refund stamps, the
case escalations, the case notes and alerts (deduplicated like the job's) and one audit row
per change, with the job's texts and audit contents. It writes them for every due row at
once, in the caller's one transaction, one statement per kind of work (the work queue's
three), with no batching, locking, job run, result rows or dry run: the floor the
job's cost is compared with, not something to run in production.
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, text

from ops_domain.alerts.service import ALERT_RAISE_ROWS, raised_alerts_cte
from ops_domain.audit.log import AuditRows, insert_audit_rows
from ops_domain.cases.escalation import (
    breach_alerts_sql,
    breach_note_sql,
    escalate_operation_cases,
)
from ops_domain.cases.models import CASE_STATES
from ops_domain.cases.service import CASE_ESCALATE_ROWS, CASE_NOTE_ROWS
from ops_domain.disputes.escalation import (
    REFUND_ESCALATE_ROWS,
    escalation_reason_sql,
    refund_note_sql,
)
from ops_domain.work_queue.escalation import (
    RULES,
    UNRESOLVED,
    QueueRule,
    escalate_ops_work_queue,
    overdue_alerts_sql,
)

ESCALATED_FROM = sorted(CASE_STATES.sources_of("escalated"))
# The hours each job runs with when the bench calls it: its defaults.
JOB_HOURS = {
    "journal_approval_sla": "journal_hours",
    "settlement_exception_sla": "settlement_exception_hours",
    "reconciliation_break_sla": "reconciliation_break_hours",
}


def _default(job: object, parameter: str) -> float:
    return inspect.signature(job).parameters[parameter].default


def _audit(*sets: AuditRows) -> str:
    """The job's audit rows, unordered."""
    return insert_audit_rows(*(replace(rows, order_by=None) for rows in sets))


_REFUNDS = text(
    f"""
    WITH stamped AS (
        UPDATE refund_requests r
           SET escalated_at = :now, escalation_reason = {escalation_reason_sql("r")}
         WHERE status = 'pending' AND escalated_at IS NULL AND sla_due_at < :now
        RETURNING r.id, r.refund_no, r.case_id, r.amount, r.currency, r.escalation_reason
    ),
    moved AS (
        UPDATE cases c SET status = 'escalated', updated_at = :now
         WHERE c.id IN (SELECT case_id FROM stamped)
           AND c.status = ANY(CAST(:sources AS text[]))
        RETURNING c.id, old.status AS previous_status
    ),
    noted AS (
        INSERT INTO case_notes (case_id, author_id, body, is_internal)
        SELECT s.case_id, :actor_id, {refund_note_sql("s")}, true
          FROM stamped s WHERE s.case_id IS NOT NULL
        RETURNING id, case_id, author_id, body, is_internal
    ),
    audited AS ({
        _audit(
            replace(REFUND_ESCALATE_ROWS, source="stamped o"), CASE_ESCALATE_ROWS, CASE_NOTE_ROWS
        )
    })
    SELECT count(*) FROM stamped
    """
)

_CASES = text(
    f"""
    WITH moved AS (
        UPDATE cases c SET status = 'escalated', updated_at = :now
         WHERE c.status = ANY(CAST(:sources AS text[]))
           AND (c.sla_due_at < :now OR (c.sla_due_at IS NULL AND c.created_at < :cutoff))
        RETURNING c.id, c.case_no, c.priority, c.merchant_id, c.sla_due_at, c.created_at,
                  old.status AS previous_status, {breach_note_sql("c")} AS note
    ),
    noted AS (
        INSERT INTO case_notes (case_id, author_id, body, is_internal)
        SELECT m.id, :actor_id, m.note, true FROM moved m
        RETURNING id, case_id, author_id, body, is_internal
    ),
    {raised_alerts_cte(breach_alerts_sql("moved b"))},
    audited AS ({_audit(CASE_ESCALATE_ROWS, CASE_NOTE_ROWS, ALERT_RAISE_ROWS)})
    SELECT count(*) FROM moved
    """
)


def _queue_statement(rule: QueueRule) -> str:
    """Every overdue item of ``rule`` (its own query, unpaged) and its alert."""
    return f"""
        WITH overdue AS ({rule.overdue}),
        {raised_alerts_cte(overdue_alerts_sql(rule))},
        audited AS ({_audit(ALERT_RAISE_ROWS)})
        SELECT count(*) FROM overdue
    """


def escalate_refunds_at_the_limit(conn: Connection, *, now: datetime, actor_id: int) -> int:
    """Escalate every pending refund past its SLA; return how many."""
    params = {
        "now": now,
        "now_iso": now.isoformat(),
        "actor_id": actor_id,
        "job_run_id": None,
        "sources": ESCALATED_FROM,
        "reason": "refund dispute past its SLA",
    }
    return conn.execute(_REFUNDS, params).scalar_one()


def escalate_cases_at_the_limit(conn: Connection, *, now: datetime, actor_id: int) -> int:
    """Escalate every overdue open or in-progress case; return how many."""
    fallback = timedelta(hours=_default(escalate_operation_cases, "fallback_sla_hours"))
    params = {
        "now": now,
        "cutoff": now - fallback,
        "actor_id": actor_id,
        "sources": ESCALATED_FROM,
        "reason": "operation case past its SLA",
    }
    return conn.execute(_CASES, params).scalar_one()


def alert_work_queue_at_the_limit(conn: Connection, *, now: datetime, actor_id: int) -> int:
    """Raise the SLA alert of every overdue work item; return how many items were overdue."""
    overdue = 0
    for rule in RULES:
        hours = _default(escalate_ops_work_queue, JOB_HOURS[rule.alert_type])
        overdue += conn.execute(
            text(_queue_statement(rule)),
            {
                "cutoff": now - timedelta(hours=hours),
                "after": 0,
                "batch": None,
                "unresolved": UNRESOLVED,
                "alert_type": rule.alert_type,
                "target_type": rule.target_type,
                "sla": f"{hours:g}h",
                "actor_id": actor_id,
            },
        ).scalar_one()
    return overdue
