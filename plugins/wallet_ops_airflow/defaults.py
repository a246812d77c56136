"""What every ops task shares: owner, retries with backoff, the ``ops_db`` pool, the notifier.

The ``ops_db`` pool bounds how many tasks write to the ops database at once, across all
DAGs. Create it once per environment:

    airflow pools set ops_db 4 "Concurrent writers to the ops database"

A transient error is first retried after 30 s (``Settings.task_retry_delay_seconds``,
``OPS_TASK_RETRY_DELAY_SECONDS``, sets another first delay: the runtime tests' platform uses a
short one, so proving a retry does not wait half a minute; the backoff and its cap stay the
same).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from wallet_ops_airflow.jobs import TRANSIENT_ONLY, settings
from wallet_ops_airflow.notifier import notify_ops_of_failure

OWNER = "wallet-ops"
OPS_POOL = "ops_db"


def task_defaults(*, retries: int = 3) -> dict[str, Any]:
    """``default_args`` of every ops DAG; transient database errors retry, nothing else does."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": timedelta(seconds=settings().task_retry_delay_seconds),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "retry_policy": TRANSIENT_ONLY,
        "pool": OPS_POOL,
        "on_failure_callback": [notify_ops_of_failure],
    }
