"""
### Refund dispute escalation

Every 15 minutes: each `pending` refund request past its `sla_due_at` and not yet escalated
is stamped `escalated_at` with a reason, its case moves to `escalated` and gets an internal
note. A refund is escalated once, however often the job runs.

*Runbook*: a failed run opens an `airflow_task_failed` alert. A manual run acts as
the login that triggered it (roles operation, risk, admin, super_admin); `dry_run` lists what
would be escalated and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wallet_ops_airflow.job_dag import SingleJob, single_job_dag

from ops_domain.disputes.escalation import ESCALATE_REFUND_DISPUTES, escalate_refund_disputes

dag = single_job_dag(
    SingleJob(
        spec=ESCALATE_REFUND_DISPUTES,
        service=escalate_refund_disputes,
    ),
    dag_id="refund_dispute_escalation",
    doc_md=__doc__,
    schedule="*/15 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    tags=["wallet-ops", "disputes", "sla"],
)
