"""escalate_ops_work_queue: SLA alerts for work waiting on a person for too long.

- ``journal_approval_sla`` (high): a journal approval pending longer than ``journal_hours``.
- ``settlement_exception_sla`` (high for high/critical exceptions, else medium): an open or
  in-review settlement exception older than ``settlement_exception_hours``.
- ``reconciliation_break_sla`` (high if in review, else medium): an open or in-review
  reconciliation break older than ``reconciliation_break_hours``.

Alerts are deduplicated per (type, target) while not closed, so reruns and overlapping runs
raise each alert once; the work items themselves are only read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from sqlalchemy import Engine, TextClause, text
from sqlalchemy.orm import Session

from ops_domain.alerts.service import ALERT_RAISE_ROWS, raised_alerts_cte
from ops_domain.audit.log import insert_audit_rows
from ops_domain.cases.escalation import breach_severity_sql, iso_utc_sql
from ops_domain.clock import as_utc, require_hours, utc_now
from ops_domain.config import Settings
from ops_domain.jobs import JobContext, JobResult, JobSpec, run_job

ESCALATE_OPS_WORK_QUEUE = JobSpec("escalate_ops_work_queue", "work_queue.escalate")
UNRESOLVED = ["open", "in_review"]


def _always_high(_level: str) -> str:
    return "'high'"


def _break_severity(status: str) -> str:
    """A break someone is already reviewing and still unresolved is the louder one."""
    return f"CASE WHEN {status} = 'in_review' THEN 'high' ELSE 'medium' END"


@dataclass(frozen=True)
class QueueRule:
    """One kind of waiting item: how to find the overdue ones and how loud their alert is.

    ``overdue`` selects ``id, level, merchant_id, title, since`` for items waiting since
    before ``:cutoff``, keyset-paged by ``id > :after`` in batches of ``:batch``;
    ``severity`` turns the SQL of an item's ``level`` into the SQL of its alert's severity.
    """

    alert_type: str
    target_type: str
    counter: str
    overdue: str
    severity: Callable[[str], str]


RULES = (
    QueueRule(
        alert_type="journal_approval_sla",
        target_type="journal_approval",
        counter="overdue_journal_approvals",
        overdue=(
            """
            SELECT a.id, a.kind AS level, NULL::bigint AS merchant_id, a.requested_at AS since,
                   'Journal ' || a.kind || ' approval of ' || e.entry_no || ' is pending' AS title
              FROM journal_approvals a JOIN journal_entries e ON e.id = a.entry_id
             WHERE a.status = 'pending' AND a.requested_at < :cutoff AND a.id > :after
             ORDER BY a.id
             LIMIT :batch
            """
        ),
        severity=_always_high,
    ),
    QueueRule(
        alert_type="settlement_exception_sla",
        target_type="settlement_exception",
        counter="overdue_settlement_exceptions",
        overdue=(
            """
            SELECT x.id, x.severity AS level, coalesce(s.merchant_id, p.merchant_id) AS merchant_id,
                   x.created_at AS since,
                   'Settlement exception ' || x.exception_no || ' (' || x.reason_code || ', '
                       || x.severity || ') is ' || x.status AS title
              FROM settlement_exceptions x
              LEFT JOIN settlements s ON s.id = x.settlement_id
              LEFT JOIN payouts p ON p.id = x.payout_id
             WHERE x.status = ANY(CAST(:unresolved AS text[])) AND x.created_at < :cutoff
               AND x.id > :after
             ORDER BY x.id
             LIMIT :batch
            """
        ),
        severity=breach_severity_sql,
    ),
    QueueRule(
        alert_type="reconciliation_break_sla",
        target_type="reconciliation_break",
        counter="overdue_reconciliation_breaks",
        overdue=(
            """
            SELECT b.id, b.status AS level, b.merchant_id, b.created_at AS since,
                   'Reconciliation break ' || b.break_no || ' (' || b.category || ', '
                       || b.currency || ' ' || b.business_date || ') is ' || b.status AS title
              FROM reconciliation_breaks b
             WHERE b.status = ANY(CAST(:unresolved AS text[])) AND b.created_at < :cutoff
               AND b.id > :after
             ORDER BY b.id
             LIMIT :batch
            """
        ),
        severity=_break_severity,
    ),
)


def escalate_ops_work_queue(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    now: datetime | None = None,
    journal_hours: float = 8,
    settlement_exception_hours: float = 12,
    reconciliation_break_hours: float = 12,
    dry_run: bool = False,
    idempotency_key: str | None = None,
) -> JobResult:
    """Raise one SLA alert per overdue work item that has no non-closed alert of its type."""
    hours = {
        "journal_approval_sla": require_hours(journal_hours, "journal hours"),
        "settlement_exception_sla": require_hours(
            settlement_exception_hours, "settlement exception hours"
        ),
        "reconciliation_break_sla": require_hours(
            reconciliation_break_hours, "reconciliation break hours"
        ),
    }
    moment = as_utc(now) if now else utc_now()

    def body(ctx: JobContext) -> None:
        for rule in RULES:
            _alert_overdue(ctx, rule, moment, hours[rule.alert_type])

    return run_job(
        engine,
        ESCALATE_OPS_WORK_QUEUE,
        actor_username=actor_username,
        parameters={
            "now": moment,
            "journal_hours": journal_hours,
            "settlement_exception_hours": settlement_exception_hours,
            "reconciliation_break_hours": reconciliation_break_hours,
        },
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        settings=settings,
        body=body,
    )


def _alert_overdue(ctx: JobContext, rule: QueueRule, now: datetime, hours: float) -> None:
    ctx.result.add(rule.counter, 0)
    ctx.result.add(f"{rule.alert_type}_raised", 0)
    ctx.result.add("alerts_raised", 0)
    cutoff = now - timedelta(hours=hours)
    after = 0
    while True:
        overdue, raised = ctx.run_batch(
            partial(_alert_batch, ctx=ctx, rule=rule, cutoff=cutoff, hours=hours, after=after)
        )
        ctx.result.add(rule.counter, len(overdue))
        ctx.result.add(f"{rule.alert_type}_raised", len(raised))
        ctx.result.add("alerts_raised", len(raised))
        ctx.result.add_items(rule.alert_type, raised)
        if len(overdue) < ctx.settings.batch_size:
            return
        after = overdue[-1]


def _alert_batch(
    session: Session,
    *,
    ctx: JobContext,
    rule: QueueRule,
    cutoff: datetime,
    hours: float,
    after: int,
) -> tuple[list[int], list[dict[str, Any]]]:
    rows = session.execute(
        _statement(rule),
        {
            "cutoff": cutoff,
            "after": after,
            "batch": ctx.settings.batch_size,
            "unresolved": UNRESOLVED,
            "alert_type": rule.alert_type,
            "target_type": rule.target_type,
            "sla": f"{hours:g}h",
            "actor_id": ctx.actor.id,
        },
    ).all()
    return [row.id for row in rows], [row.alert for row in rows if row.alert is not None]


def overdue_alerts_sql(rule: QueueRule) -> str:
    """The alert of each item of ``overdue o`` (rows of ``rule.overdue``), as
    ``raised_alerts_cte`` takes it: waiting since its ``since``, longer than ``:sla``."""
    return (
        "SELECT CAST(:alert_type AS text) AS alert_type,"
        f" {rule.severity('o.level')} AS severity, o.title,"
        f" 'waiting since ' || {iso_utc_sql('o.since')} || ', longer than the '"
        " || CAST(:sla AS text) || ' SLA' AS message,"
        " o.merchant_id, NULL::bigint AS case_id,"
        " CAST(:target_type AS text) AS target_type, o.id::text AS target_id,"
        " o.id AS position FROM overdue o"
    )


@cache
def _statement(rule: QueueRule) -> TextClause:
    """One statement per batch: find the overdue items, raise each one's alert (unless one is
    open) and write the ``alert.raise`` audit rows."""
    return text(
        f"""
        WITH overdue AS ({rule.overdue}),
        {raised_alerts_cte(overdue_alerts_sql(rule))},
        audited AS ({insert_audit_rows(ALERT_RAISE_ROWS)})
        SELECT o.id, to_jsonb(r) AS alert
          FROM overdue o LEFT JOIN raised r ON r.target_id = o.id::text
         ORDER BY o.id
        """
    )
