"""The bench's escalation limits write the rows their jobs write: the same refund stamps, case
escalations, notes, alerts and audit rows (ids, job runs and the note and alert ids the audit
rows name aside), so "x its time" compares equal work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, text

from bench.limit_escalations import (
    alert_work_queue_at_the_limit,
    escalate_cases_at_the_limit,
    escalate_refunds_at_the_limit,
)
from ops_domain.cases.escalation import escalate_operation_cases
from ops_domain.config import Settings
from ops_domain.disputes.escalation import escalate_refund_disputes
from ops_domain.work_queue.escalation import escalate_ops_work_queue
from tests.support.factories import Factory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WRITTEN = {
    "refund_requests": "SELECT id, escalated_at, escalation_reason FROM refund_requests",
    "cases": "SELECT id, status, updated_at FROM cases",
    "case_notes": "SELECT case_id, author_id, body, is_internal FROM case_notes",
    "alerts": (
        "SELECT alert_type, severity, status, title, message, merchant_id, case_id,"
        " target_type, target_id, dedupe_key FROM alerts"
    ),
    "audit_log": (
        "SELECT action, actor_id, target_type,"
        " CASE WHEN action = 'alert.raise' THEN after ->> 'dedupe_key' ELSE target_id END,"
        " before::text, (after - 'id' - 'note_id')::text, (details - 'job_run_id')::text,"
        " channel, principal, principal_ref, database_user"
        " FROM audit_log WHERE action NOT LIKE 'job.%' AND action NOT LIKE 'user.%'"
    ),
}


def written(conn: Connection) -> dict[str, list[tuple]]:
    return {
        table: sorted((tuple(row) for row in conn.execute(text(sql))), key=repr)
        for table, sql in WRITTEN.items()
    }


@pytest.fixture
def due_work(factory: Factory) -> int:
    """Overdue and not-yet-due work of every escalation; returns the bench actor's id."""
    actor = factory.user("svc_ops", "operation")
    maker = factory.user("cs", "customer_service")
    shop = factory.merchant("SHOP")
    overdue, in_time = NOW - timedelta(hours=1), NOW + timedelta(hours=1)
    for sla, case_status in ((overdue, "open"), (overdue, "in_progress"), (in_time, "open")):
        case = factory.case(maker, case_type="refund", status=case_status, sla_due_at=in_time)
        event = factory.event(shop, "500.00")
        factory.refund(maker, event, "40.00", case_id=case, sla_due_at=sla)
    factory.refund(maker, factory.event(shop, "90.00"), "15.00", sla_due_at=overdue)
    factory.case(maker, priority="high", sla_due_at=overdue)
    factory.case(maker, status="in_progress", created_at=NOW - timedelta(days=2))
    factory.case(maker, status="resolved", sla_due_at=overdue)
    for hours in (30, 1):
        factory.journal_approval(maker, requested_at=NOW - timedelta(hours=hours))
        factory.settlement_exception(maker, created_at=NOW - timedelta(hours=hours))
        factory.recon_break(maker, status="in_review", created_at=NOW - timedelta(hours=hours))
    alerted = factory.journal_approval(maker, requested_at=NOW - timedelta(hours=30))
    factory.alert("journal_approval_sla", target_type="journal_approval", target_id=str(alerted))
    return actor


Limit = Callable[..., int]
Job = Callable[..., object]


@pytest.mark.parametrize(
    ("limit", "job"),
    [
        (escalate_refunds_at_the_limit, escalate_refund_disputes),
        (escalate_cases_at_the_limit, escalate_operation_cases),
        (alert_work_queue_at_the_limit, escalate_ops_work_queue),
    ],
)
def test_each_limit_writes_the_rows_its_job_writes(
    engine: Engine, settings: Settings, due_work: int, limit: Limit, job: Job
) -> None:
    with engine.connect() as conn, conn.begin() as trans:
        assert limit(conn, now=NOW, actor_id=due_work) > 0
        by_the_limit = written(conn)
        trans.rollback()
    with engine.connect() as conn:
        before = written(conn)
    job(engine, settings, actor_username="svc_ops", now=NOW)
    with engine.connect() as conn:
        by_the_job = written(conn)
    assert by_the_job != before
    assert by_the_limit == by_the_job
