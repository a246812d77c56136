"""The job-run record: started, finished, outcome and counts, also for dry runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, insert, update

from ops_domain.audit.actions import job_outcome
from ops_domain.audit.log import record_audit
from ops_domain.audit.models import JobRun
from ops_domain.db import transaction
from ops_domain.jsonable import jsonable


def start_job_run(
    engine: Engine,
    *,
    job_name: str,
    actor_id: int,
    parameters: dict[str, Any],
    dry_run: bool,
    idempotency_key: str | None,
) -> int:
    with transaction(engine) as session:
        return session.execute(
            insert(JobRun)
            .values(
                job_name=job_name,
                actor_id=actor_id,
                parameters=jsonable(parameters),
                dry_run=dry_run,
                idempotency_key=idempotency_key,
                outcome="running",
            )
            .returning(JobRun.id)
        ).scalar_one()


def finish_job_run(
    engine: Engine,
    job_run_id: int,
    *,
    outcome: str,
    actor_id: int,
    job_name: str,
    dry_run: bool,
    counts: dict[str, int] | None = None,
    error: str | None = None,
) -> None:
    """Close the run record; a real run also leaves an audit row with its counts."""
    with transaction(engine) as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == job_run_id)
            .values(
                outcome=outcome,
                finished_at=func.now(),
                counts=jsonable(counts or {}),
                error=error,
            )
        )
        if not dry_run:
            record_audit(
                session,
                actor_id=actor_id,
                action=job_outcome(job_name, outcome),
                target_type="job_run",
                target_id=job_run_id,
                after={"outcome": outcome, "counts": counts or {}, "error": error},
            )
