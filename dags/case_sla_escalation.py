"""
### Case SLA escalation

Hourly: `open` and `in_progress` cases past their `sla_due_at` (or, without one, older than
`fallback_sla_hours`) move to `escalated`, get a note and a `case_sla_breach` alert (`high`
for high/critical priority, else `medium`), one alert per case.

*Runbook*: a failed run opens an `airflow_task_failed` alert. A manual run acts as
the login that triggered it (roles operation, risk, admin, super_admin); `dry_run` lists what
would be escalated and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from wallet_ops_airflow.job_dag import SingleJob, single_job_dag
from wallet_ops_airflow.params import count_param

from ops_domain.cases.escalation import ESCALATE_OPERATION_CASES, escalate_operation_cases

dag = single_job_dag(
    SingleJob(
        spec=ESCALATE_OPERATION_CASES,
        service=escalate_operation_cases,
        params={
            "fallback_sla_hours": count_param(
                24,
                title="Fallback SLA (hours)",
                description="Cases without an SLA due date escalate once older than this.",
                maximum=24 * 90,
            ),
        },
    ),
    dag_id="case_sla_escalation",
    doc_md=__doc__,
    schedule="@hourly",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    tags=["wallet-ops", "cases", "sla"],
)
