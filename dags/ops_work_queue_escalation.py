"""
### Ops work-queue escalation

Hourly: raises one alert per overdue item of the ops work queue — `journal_approval_sla`
(high) for journal approvals pending longer than `journal_hours`, `settlement_exception_sla`
(high for high/critical exceptions, else medium) past `settlement_exception_hours`, and
`reconciliation_break_sla` (high when `in_review`, else medium) past
`reconciliation_break_hours`. An item keeps a single open alert.

*Runbook*: a failed run opens an `airflow_task_failed` alert. A manual run acts as
the login that triggered it (roles operation, risk, admin, super_admin); `dry_run` lists what
would be alerted and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wallet_ops_airflow.job_dag import SingleJob, single_job_dag
from wallet_ops_airflow.params import count_param

from ops_domain.work_queue.escalation import ESCALATE_OPS_WORK_QUEUE, escalate_ops_work_queue


def sla_hours(default: int, what: str):
    return count_param(
        default,
        title=f"{what} SLA (hours)",
        description=f"{what} older than this many hours raise an SLA alert.",
        maximum=24 * 90,
    )


dag = single_job_dag(
    SingleJob(
        spec=ESCALATE_OPS_WORK_QUEUE,
        service=escalate_ops_work_queue,
        params={
            "journal_hours": sla_hours(8, "Journal approvals"),
            "settlement_exception_hours": sla_hours(12, "Settlement exceptions"),
            "reconciliation_break_hours": sla_hours(12, "Reconciliation breaks"),
        },
    ),
    dag_id="ops_work_queue_escalation",
    doc_md=__doc__,
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    tags=["wallet-ops", "work-queue", "sla"],
)
