"""Running a domain job from a task: who acts, for which date, under which key, and failures.

A DAG run turns into one ``RunRequest`` in its first task (``authorise_run``): the acting user
(the run's triggering login, or the service account for scheduled runs: ``identity``), the
business date, the moment the run stands for, and the dry-run flag. The actor is checked
there with the domain's own ``require_actor``, so a run by a login without an ops user or
without the job's permission fails before any task reads or writes business data. Every
task's database work records the run's principal (``ops_engine``). Later tasks read the
request back (``RunRequest.from_xcom``), call the service function they import themselves with
it and the Airflow run id as idempotency key, log a readable summary and return the small
JSON result.

Failures: a ``DomainError`` (bad input, refused actor, closed period...) refuses the run
(``refusal.RunRefused``: one line, never retried, no incident when a person triggered it);
transient database trouble is retried with backoff by ``TRANSIENT_ONLY``; anything else
fails without retry, since rerunning a bug cannot fix it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule, get_current_context
from sqlalchemy import Engine

from ops_domain.audit.sealing import seal_configured
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.errors import InactiveActor, UnknownActor
from ops_domain.principal import acting_as
from ops_domain.rbac.actors import require_actor
from wallet_ops_airflow.hook import OpsDatabaseHook
from wallet_ops_airflow.identity import (
    is_scheduler_run,
    resolve_actor,
    run_principal,
    run_type,
    unmapped_login,
)
from wallet_ops_airflow.refusal import domain_refusals_refuse_the_run, refuse
from wallet_ops_airflow.run_request import RunRequest

log = logging.getLogger(__name__)

# A domain job: (engine, settings, *, actor_username, dry_run, idempotency_key, ...) -> result
Service = Callable[..., Any]

TRANSIENT_ERRORS = [
    "ops_domain.errors.InfrastructureError",
    "sqlalchemy.exc.OperationalError",
    "sqlalchemy.exc.InterfaceError",
    "sqlalchemy.exc.DisconnectionError",
]
TRANSIENT_ONLY = ExceptionRetryPolicy(
    rules=[
        RetryRule(
            exception=TRANSIENT_ERRORS,
            action=RetryAction.RETRY,
            reason="transient database error: retrying with backoff",
        ),
        RetryRule(
            exception="wallet_ops_airflow.refusal.RunRefused",
            action=RetryAction.FAIL,
            reason="the run's input was refused: retrying cannot help",
        ),
        RetryRule(
            exception="ops_domain.errors.DomainError",
            action=RetryAction.FAIL,
            reason="the business rules refused the request: retrying cannot help",
        ),
    ],
    default=RetryAction.FAIL,
)


def settings() -> Settings:
    return Settings.from_env()


@contextmanager
def ops_engine(context: Any = None) -> Iterator[Engine]:
    """The ops database engine for the duration of one task, disposed afterwards; its
    transactions record the run's principal in their audit rows."""
    principal = run_principal(context or get_current_context(), settings().service_actor)
    engine = OpsDatabaseHook().get_engine()
    try:  # no principal (no login): authorise_run refuses the run before any write
        with acting_as(principal) if principal else nullcontext():
            yield engine
    finally:
        engine.dispose()


def resolve_business_date(context: Any) -> date:
    """A manual run's ``business_date`` Param (the form always holds a date); other runs'
    data interval start day; else yesterday (UTC). A manual run given no date is refused."""
    params, interval_start = context["params"], context["dag_run"].data_interval_start
    if run_type(context) == "manual" and "business_date" in params:
        if not params["business_date"]:
            raise refuse("business_date is required: pick the day the run works on")
        return date.fromisoformat(params["business_date"])
    if interval_start is not None:
        return interval_start.astimezone(UTC).date()
    return datetime.now(UTC).date() - timedelta(days=1)


def resolve_now(context: Any) -> datetime:
    """The moment a run stands for: its data interval's end, so a retry sees the same "now"."""
    interval_end = context["dag_run"].data_interval_end
    return interval_end.astimezone(UTC) if interval_end is not None else datetime.now(UTC)


def idempotency_key(context: Any) -> str:
    """The Airflow run id, qualified by DAG, task and map index: stable across retries."""
    ti = context["ti"]
    key = f"{ti.dag_id}/{ti.run_id}/{ti.task_id}"
    map_index = getattr(ti, "map_index", -1)
    return f"{key}/{map_index}" if map_index is not None and map_index >= 0 else key


def authorise(*, permission: str, job: str) -> RunRequest:
    """Resolve and check the acting user, and fix the run's business date and moment."""
    context = get_current_context()
    actor = resolve_actor(context, settings().service_actor)
    with domain_refusals_refuse_the_run(), ops_engine() as engine, transaction(engine) as session:
        try:
            require_actor(session, actor, permission, job)
        except (UnknownActor, InactiveActor) as exc:
            if is_scheduler_run(context):
                raise  # the service account is missing: an incident, not a user mistake
            raise unmapped_login(actor, exc) from None
    request = RunRequest(
        actor_username=actor,
        business_date=resolve_business_date(context),
        now=resolve_now(context),
        dry_run=bool(context["params"].get("dry_run", False)),
        manual=run_type(context) == "manual",
    )
    log.info(
        "%s (%s run %s) authorised for %s: business date %s, as of %s%s",
        actor,
        run_type(context),
        context["dag_run"].run_id,
        job,
        request.business_date.isoformat(),
        request.now.isoformat(),
        " (dry run)" if request.dry_run else "",
    )
    return request


def authorise_run(*, permission: str, job: str) -> dict[str, Any]:
    """The first task of a run: ``authorise``, handed on as the request's XCom."""
    return authorise(permission=permission, job=job).to_xcom()


def run_service(service: Service, request: RunRequest, **arguments: Any) -> dict[str, Any]:
    """Call ``service(engine, settings, actor_username=, dry_run=, idempotency_key=, ...)``.

    Returns the job result as a JSON-able dict (the task's XCom) and logs its summary.
    """
    context = get_current_context()
    with domain_refusals_refuse_the_run(), ops_engine() as engine:
        result = service(
            engine,
            settings(),
            actor_username=request.actor_username,
            dry_run=request.dry_run,
            idempotency_key=idempotency_key(context),
            **arguments,
        )
    outcome = result.to_dict()
    log.info("%s", summarise(outcome))
    return outcome


def summarise(outcome: dict[str, Any]) -> str:
    """One readable paragraph: job, mode, counts, sample items, messages."""
    mode = " (dry run)" if outcome.get("dry_run") else ""
    counts = ", ".join(f"{name}={value}" for name, value in sorted(outcome["counts"].items()))
    lines = [f"{outcome['job']}{mode}: {counts or 'nothing to do'}"]
    for kind, items in sorted(outcome.get("items", {}).items()):
        lines.append(f"  {kind}: {len(items)} listed, e.g. {items[:3]}")
    lines.extend(f"  {message}" for message in outcome.get("messages", []))
    return "\n".join(lines)


def seal_audit_trail() -> dict[str, Any]:
    """The scheduled seal: as the sealing login, publishing the head; no actor, since it
    changes no business data and writes no audit row."""
    outcome = seal_configured(settings())  # unconfigured: fails without retry, and alerts
    log.info("%s", outcome.describe())
    return outcome.to_dict()
