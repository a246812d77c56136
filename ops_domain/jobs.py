"""How every scheduled job runs: actor check, job-run record, batches, dry run, result.

A job body receives a ``JobContext`` and does its work through ``context.run_batch(fn)``:
each call is one transaction in a real run. In a dry run every batch is a savepoint inside
one outer transaction that is rolled back at the end, so the dry run executes the very same
SQL, reports the very same counts and items, and leaves nothing behind but the job-run row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ops_domain.audit.job_runs import finish_job_run, start_job_run
from ops_domain.audit.sealing import seal_after_job
from ops_domain.config import Settings
from ops_domain.db import transaction, translate_db_errors
from ops_domain.errors import DatabaseUnavailable, LockWaitTimeout
from ops_domain.jsonable import jsonable
from ops_domain.rbac.actors import Actor, require_actor

log = logging.getLogger(__name__)
T = TypeVar("T")

ITEM_LIMIT = 100
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
LOCK_NOT_AVAILABLE = "55P03"
_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :timeout, true)")
BATCH_ATTEMPTS = 3


@dataclass(frozen=True)
class JobSpec:
    """A job's runbook name and the permission its actor must hold."""

    name: str
    permission: str


@dataclass
class JobResult:
    """What a job did (or, in a dry run, would do): counts, sample items, messages."""

    job: str
    dry_run: bool
    job_run_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    # Set by a dry run that found the real run would be refused: the run is recorded failed
    # with this error, and the result is still returned for the caller to report.
    refusal: str | None = None

    def add(self, counter: str, amount: int = 1) -> None:
        self.counts[counter] = self.counts.get(counter, 0) + amount

    def add_items(self, kind: str, rows: list[dict[str, Any]]) -> None:
        """Keep at most ``ITEM_LIMIT`` example items per kind; counts stay exact."""
        bucket = self.items.setdefault(kind, [])
        room = ITEM_LIMIT - len(bucket)
        if room > 0:
            bucket.extend(jsonable(rows[:room]))

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "job": self.job,
                "dry_run": self.dry_run,
                "job_run_id": self.job_run_id,
                "counts": self.counts,
                "items": self.items,
                "messages": self.messages,
            }
        )


@dataclass
class JobContext:
    engine: Engine
    actor: Actor
    settings: Settings
    result: JobResult
    job_run_id: int
    _dry_session: Session | None = None

    @property
    def dry_run(self) -> bool:
        return self._dry_session is not None

    def run_batch(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` as one transaction, retrying deadlocks and serialization failures."""
        for attempt in range(1, BATCH_ATTEMPTS + 1):
            try:
                return self._run_once(work)
            except (DBAPIError, DatabaseUnavailable) as exc:
                sqlstate = _sqlstate(exc)
                if sqlstate == LOCK_NOT_AVAILABLE:
                    raise LockWaitTimeout(
                        f"{self.result.job}: waited more than"
                        f" {self.settings.lock_timeout_seconds} s for a lock another"
                        " transaction holds (OPS_LOCK_TIMEOUT_SECONDS); this batch wrote"
                        " nothing: rerun once that transaction has ended"
                    ) from exc
                if sqlstate not in TRANSIENT_SQLSTATES or self.dry_run:
                    raise
                if attempt == BATCH_ATTEMPTS:
                    raise DatabaseUnavailable(
                        f"{self.result.job}: batch failed {attempt} times on"
                        f" {'deadlock' if sqlstate == '40P01' else 'serialization failure'}"
                    ) from exc
                log.warning("%s: transient error %s, retrying batch", self.result.job, sqlstate)
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def _run_once(self, work: Callable[[Session], T]) -> T:
        if self._dry_session is not None:
            with self._dry_session.begin_nested():
                return work(self._dry_session)
        with transaction(self.engine) as session:
            limit_lock_waits(session, self.settings)
            return work(session)


def limit_lock_waits(session: Session, settings: Settings) -> None:
    """No statement of this transaction waits longer than the lock timeout for a lock: a
    transaction left open elsewhere fails the job (exit 3) instead of stalling it forever."""
    session.execute(_LOCK_TIMEOUT, {"timeout": f"{settings.lock_timeout_seconds}s"})


def _sqlstate(exc: DBAPIError | DatabaseUnavailable) -> str | None:
    """The PostgreSQL error code, also through ``transaction``'s translation: psycopg2
    reports a deadlock or serialization failure as an OperationalError, which ``transaction``
    turns into ``DatabaseUnavailable``; it is still the transient failure retried here."""
    cause = exc if isinstance(exc, DBAPIError) else exc.__cause__
    return getattr(getattr(cause, "orig", None), "pgcode", None)


def run_job(
    engine: Engine,
    spec: JobSpec,
    *,
    actor_username: str,
    parameters: dict[str, Any],
    dry_run: bool,
    idempotency_key: str | None,
    settings: Settings,
    body: Callable[[JobContext], None],
) -> JobResult:
    """Check the actor, record the run, execute ``body``, close the record, return the result.

    Inputs must be validated before calling: a refused actor or bad input changes nothing,
    not even the job-run table.
    """
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, spec.permission, spec.name)
    job_run_id = start_job_run(
        engine,
        job_name=spec.name,
        actor_id=actor.id,
        parameters=parameters,
        dry_run=dry_run,
        idempotency_key=idempotency_key,
    )
    result = JobResult(job=spec.name, dry_run=dry_run, job_run_id=job_run_id)
    try:
        _run_recorded(engine, spec, actor=actor, settings=settings, result=result, body=body)
    finally:
        if not dry_run:
            seal_after_job(settings, spec.name)
    return result


def _run_recorded(
    engine: Engine,
    spec: JobSpec,
    *,
    actor: Actor,
    settings: Settings,
    result: JobResult,
    body: Callable[[JobContext], None],
) -> None:
    """Execute ``body`` and close the run record, failed or succeeded."""
    job_run_id = result.job_run_id
    assert job_run_id is not None
    try:
        _execute(
            engine,
            actor=actor,
            settings=settings,
            result=result,
            job_run_id=job_run_id,
            body=body,
        )
    except Exception as exc:
        _close_failed_run(
            engine,
            spec=spec,
            actor=actor,
            job_run_id=job_run_id,
            dry_run=result.dry_run,
            result=result,
            exc=exc,
        )
        raise
    finish_job_run(
        engine,
        job_run_id,
        outcome="failed" if result.refusal else "succeeded",
        actor_id=actor.id,
        job_name=spec.name,
        dry_run=result.dry_run,
        counts=result.counts,
        error=result.refusal[:500] if result.refusal else None,
    )


def _execute(
    engine: Engine,
    *,
    actor: Actor,
    settings: Settings,
    result: JobResult,
    job_run_id: int,
    body: Callable[[JobContext], None],
) -> None:
    if not result.dry_run:
        body(JobContext(engine, actor, settings, result, job_run_id))
        return
    with translate_db_errors(engine.url), Session(engine) as outer:
        outer.begin()
        limit_lock_waits(outer, settings)
        try:
            body(JobContext(engine, actor, settings, result, job_run_id, outer))
        finally:
            outer.rollback()


def _close_failed_run(
    engine: Engine,
    *,
    spec: JobSpec,
    actor: Actor,
    job_run_id: int,
    dry_run: bool,
    result: JobResult,
    exc: Exception,
) -> None:
    """Best effort: if the database itself is gone the run stays 'running', which is true."""
    try:
        finish_job_run(
            engine,
            job_run_id,
            outcome="failed",
            actor_id=actor.id,
            job_name=spec.name,
            dry_run=dry_run,
            counts=result.counts,
            error=str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__,
        )
    except DatabaseUnavailable as lost:
        # One line: the caller reports the original error; a traceback here would bury it.
        log.error("could not record the failure of job run %s: %s", job_run_id, lost)
