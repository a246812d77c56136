"""
### Audit sealing

Every 5 minutes: chain the audit rows written since the last seal, as the sealing login
(`OPS_SEALER_DATABASE_URL`, a role the application login is not), and publish the chain's
head to the audit export database (`OPS_AUDIT_DATABASE_URL`), where `audit verify` compares
it with the chain. Every job also seals at its end; this run catches up whatever one left.

*Runbook*: a failed run opens an `airflow_task_failed` alert: nobody is sealing, so edits of
the newest audit rows would go unseen until a seal runs. `python -m ops_domain audit seal`
does the same by hand; `audit verify` then checks the chain and the published heads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from airflow.sdk import dag, task
from wallet_ops_airflow.defaults import task_defaults
from wallet_ops_airflow.jobs import seal_audit_trail


@dag(
    dag_id="audit_sealing",
    doc_md=__doc__,
    schedule="*/5 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    # unlike the business DAGs, sealing starts unpaused: it changes no business data, and a
    # forgotten click must not leave the audit log unsealed
    is_paused_upon_creation=False,
    default_args=task_defaults(),
    tags=["wallet-ops", "audit"],
)
def audit_sealing() -> None:
    @task(task_id="seal_audit_log")
    def seal() -> dict[str, Any]:
        return seal_audit_trail()

    seal()


audit_sealing()
