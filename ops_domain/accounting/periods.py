"""Accounting period governance: close a currency's date range, or re-open it.

Close is refused, with every blocker listed, while the period has not ended (its end is not
before the current business date, UTC), the range overlaps a differently-bounded period, holds
draft entries or pending journal approvals, or has unresolved reconciliation breaks in that
currency. The refusal carries the job's result (blockers as items); a dry run
returns that result and, as it reports a refusal, records its job run as failed too (error:
the blocker summary).
Re-open needs a reason and a checker other than the one who closed the period (decision 0010),
and raises an alert.

Close and re-open hold an exclusive advisory lock per currency; posting, drafting and
submitting journals hold it shared. So a posting and a close of one currency never interleave:
whichever comes second sees the other's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.accounting.models import PERIOD_STATES
from ops_domain.alerts.service import AlertSpec, raise_alerts
from ops_domain.audit.actions import ACCOUNTING_PERIOD_CLOSE, ACCOUNTING_PERIOD_REOPEN
from ops_domain.audit.log import record_audit
from ops_domain.clock import require_window, utc_now
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput, MakerCheckerViolation, NotFound, PeriodCloseBlocked
from ops_domain.jobs import JobContext, JobResult, JobSpec, run_job
from ops_domain.rbac.actors import require_actor
from ops_domain.rbac.names import name_actors

CLOSE_JOB = JobSpec("manage_accounting_period", "periods.close")
REOPEN_JOB = JobSpec("manage_accounting_period", "periods.reopen")
ACTIONS = ("close", "open")
PERIOD_LOCK_NAMESPACE = 7101  # first key of the two-key advisory lock: "accounting periods"
BLOCKERS_LISTED_PER_KIND = 50
REOPEN_ALERT_SEVERITY = "high"  # re-opening closed books relaxes a control: reviewed at once


def currency_lock_key(currency: str) -> int:
    """The same integer the schema's CURRENCY_KEY_SQL computes: unique per 3-letter code."""
    return ord(currency[0]) * 65536 + ord(currency[1]) * 256 + ord(currency[2])


def lock_currency_periods(session: Session, currency: str, *, exclusive: bool) -> None:
    """Serialize period changes (exclusive) against journal postings (shared), per currency,
    until the end of the transaction."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    session.execute(
        text(f"SELECT {function}(:namespace, :key)"),
        {"namespace": PERIOD_LOCK_NAMESPACE, "key": currency_lock_key(currency)},
    )


def closed_period_covering(session: Session, currency: str, day: date) -> str | None:
    """``start..end`` of the closed period of ``currency`` that contains ``day``, if any."""
    return session.execute(
        text(
            """
            SELECT period_start || '..' || period_end FROM accounting_periods
             WHERE currency = :currency AND status = 'closed'
               AND :day BETWEEN period_start AND period_end
            """
        ),
        {"currency": currency, "day": day},
    ).scalar_one_or_none()


@dataclass(frozen=True)
class PeriodRequest:
    currency: str
    period_start: date
    period_end: date
    action: str
    reason: str | None

    @property
    def label(self) -> str:
        return f"{self.period_start}..{self.period_end}"

    def bounds(self) -> dict[str, Any]:
        return {"currency": self.currency, "start": self.period_start, "end": self.period_end}


@dataclass(frozen=True)
class Blocker:
    kind: str
    reference: str
    description: str


def manage_accounting_period(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    period_start: date,
    period_end: date,
    currency: str,
    action: str,
    reason: str | None = None,
    dry_run: bool = False,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> JobResult:
    """Close or re-open one accounting period of one currency; idempotent either way."""
    request = _validated_request(
        settings,
        period_start=period_start,
        period_end=period_end,
        currency=currency,
        action=action,
        reason=reason,
    )
    if action == "open":
        _require_reopen_checker(engine, actor_username, request)
    moment = now or utc_now()
    work = _close if action == "close" else _reopen

    def body(ctx: JobContext) -> None:
        ctx.run_batch(lambda session: work(session, ctx, request, moment))

    return run_job(
        engine,
        CLOSE_JOB if action == "close" else REOPEN_JOB,
        actor_username=actor_username,
        parameters={
            "currency": currency,
            "period_start": period_start,
            "period_end": period_end,
            "action": action,
            "reason": request.reason,
        },
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        settings=settings,
        body=body,
    )


def _validated_request(
    settings: Settings,
    *,
    period_start: date,
    period_end: date,
    currency: str,
    action: str,
    reason: str | None,
) -> PeriodRequest:
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    settings.require_currency(currency)
    require_window(period_start, period_end)
    reason = reason.strip() if reason else None
    if action == "open" and not reason:
        raise InvalidInput("re-opening a period needs a reason (--reason)")
    return PeriodRequest(currency, period_start, period_end, action, reason)


def _require_reopen_checker(engine: Engine, actor_username: str, request: PeriodRequest) -> None:
    """Re-open is a checker decision, whatever permissions a role is granted later, and never
    by the person who closed the period (checked again under the lock when re-opening)."""
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, REOPEN_JOB.permission, REOPEN_JOB.name)
        same = [p for p in _overlapping_periods(session, request) if _same_bounds(p, request)]
    if not actor.is_checker():
        raise MakerCheckerViolation(
            f"re-opening a period needs a checker role; {actor_username!r} has none"
        )
    for period in same:
        _require_other_than_closer(period, actor.id, actor.username, request)


def _require_other_than_closer(
    period: dict[str, Any], actor_id: int, username: str, request: PeriodRequest
) -> None:
    if period["status"] == "closed" and period["closed_by"] == actor_id:
        raise MakerCheckerViolation(
            f"re-opening {request.currency} period {request.label}: {username!r} closed it:"
            " another checker re-opens it"
        )


def _close(session: Session, ctx: JobContext, request: PeriodRequest, now: datetime) -> None:
    lock_currency_periods(session, request.currency, exclusive=True)
    overlapping = _overlapping_periods(session, request)
    same = next((p for p in overlapping if _same_bounds(p, request)), None)
    if same is not None and same["status"] == "closed":
        ctx.result.add("periods_already_closed")
        ctx.result.add_items("periods", name_actors(session, [same]))
        ctx.result.messages.append(
            f"{request.currency} period {request.label} is already closed: nothing to do"
        )
        return
    blockers, total = _close_blockers(session, request, overlapping, now.date())
    if blockers:
        _refuse_close(ctx, request, blockers, total)
        return
    before = dict(same) if same else None
    after = _write_closed_period(session, request, same, ctx.actor.id, now)
    record_audit(
        session,
        actor_id=ctx.actor.id,
        action=ACCOUNTING_PERIOD_CLOSE,
        target_type="accounting_period",
        target_id=after["id"],
        before=before,
        after=after,
        details={"job_run_id": ctx.job_run_id, "reason": request.reason},
    )
    ctx.result.add("periods_closed")
    ctx.result.add_items("periods", name_actors(session, [after]))
    ctx.result.messages.append(f"closed {request.currency} period {request.label}")


def _refuse_close(
    ctx: JobContext, request: PeriodRequest, blockers: list[Blocker], total: int
) -> None:
    """Refuse with every blocker; the result (job shape, the blockers as items) travels with
    the error. A dry run returns it, marked refused, so its run is recorded failed."""
    ctx.result.add("blockers", total)
    ctx.result.add_items("blockers", [vars(b) for b in blockers])
    ctx.result.messages.append(
        f"{'would refuse' if ctx.dry_run else 'refused'} to close {request.currency} period"
        f" {request.label}: {total} blocker(s)"
    )
    ctx.result.messages.extend(b.description for b in blockers)
    descriptions = [b.description for b in blockers]
    refusal = PeriodCloseBlocked(request.currency, request.label, descriptions, result=ctx.result)
    if not ctx.dry_run:
        raise refusal
    ctx.result.refusal = str(refusal)


def _reopen(session: Session, ctx: JobContext, request: PeriodRequest, now: datetime) -> None:
    lock_currency_periods(session, request.currency, exclusive=True)
    period = next(
        (p for p in _overlapping_periods(session, request) if _same_bounds(p, request)), None
    )
    if period is None:
        raise NotFound("accounting period", f"{request.currency} {request.label}")
    if period["status"] == "open":
        ctx.result.add("periods_already_open")
        ctx.result.add_items("periods", name_actors(session, [period]))
        ctx.result.messages.append(
            f"{request.currency} period {request.label} is already open: nothing to do"
        )
        return
    PERIOD_STATES.check(period["status"], "open")
    _require_other_than_closer(period, ctx.actor.id, ctx.actor.username, request)
    after = _reopened_period(session, period["id"], ctx.actor.id, request.reason, now)
    record_audit(
        session,
        actor_id=ctx.actor.id,
        action=ACCOUNTING_PERIOD_REOPEN,
        target_type="accounting_period",
        target_id=period["id"],
        before=period,
        after=after,
        details={"job_run_id": ctx.job_run_id, "reason": request.reason},
    )
    alerts = raise_alerts(
        session,
        [
            AlertSpec(
                alert_type="period_reopened",
                severity=REOPEN_ALERT_SEVERITY,
                target_type="accounting_period",
                target_id=str(period["id"]),
                title=f"{request.currency} period {request.label} re-opened",
                message=f"re-opened by {ctx.actor.username}: {request.reason}",
            )
        ],
        actor_id=ctx.actor.id,
    )
    ctx.result.add("periods_reopened")
    ctx.result.add("alerts_raised", len(alerts))
    ctx.result.add_items("periods", name_actors(session, [after]))
    ctx.result.add_items("alerts", alerts)
    ctx.result.messages.append(f"re-opened {request.currency} period {request.label}")


_PERIOD_COLUMNS = (
    "id, currency, period_start, period_end, status, closed_by, closed_at, reopened_by,"
    " reopened_at, reopen_reason"
)


def _overlapping_periods(session: Session, request: PeriodRequest) -> list[dict[str, Any]]:
    """Every period of the currency that shares a day with the request, locked."""
    rows = session.execute(
        text(
            f"""
            SELECT {_PERIOD_COLUMNS} FROM accounting_periods
             WHERE currency = :currency AND period_start <= :end AND period_end >= :start
             ORDER BY period_start
               FOR UPDATE
            """
        ),
        request.bounds(),
    )
    return [dict(row._mapping) for row in rows]


def _same_bounds(period: dict[str, Any], request: PeriodRequest) -> bool:
    return (period["period_start"], period["period_end"]) == (
        request.period_start,
        request.period_end,
    )


def _write_closed_period(
    session: Session,
    request: PeriodRequest,
    existing: dict[str, Any] | None,
    actor_id: int,
    now: datetime,
) -> dict[str, Any]:
    values = {**request.bounds(), "actor": actor_id, "now": now}
    if existing is None:
        statement = f"""
            INSERT INTO accounting_periods (currency, period_start, period_end, status,
                                            closed_by, closed_at)
            VALUES (:currency, :start, :end, 'closed', :actor, :now)
            RETURNING {_PERIOD_COLUMNS}
            """
    else:
        PERIOD_STATES.check(existing["status"], "closed")
        values["id"] = existing["id"]
        statement = f"""
            UPDATE accounting_periods SET status = 'closed', closed_by = :actor, closed_at = :now
             WHERE id = :id
            RETURNING {_PERIOD_COLUMNS}
            """
    return dict(session.execute(text(statement), values).one()._mapping)


def _reopened_period(
    session: Session, period_id: int, actor_id: int, reason: str | None, now: datetime
) -> dict[str, Any]:
    row = session.execute(
        text(
            f"""
            UPDATE accounting_periods
               SET status = 'open', reopened_by = :actor, reopened_at = :now,
                   reopen_reason = :reason
             WHERE id = :id
            RETURNING {_PERIOD_COLUMNS}
            """
        ),
        {"id": period_id, "actor": actor_id, "now": now, "reason": reason},
    ).one()
    return dict(row._mapping)


def _not_ended(request: PeriodRequest, business_date: date) -> list[Blocker]:
    """A period closes only once it is over: journals dated today must stay possible."""
    if request.period_end < business_date:
        return []
    return [
        Blocker(
            "not_ended",
            f"period-end-{request.period_end}",
            f"the period ends {request.period_end}, not before the current business date"
            f" {business_date}: close it from {request.period_end + timedelta(days=1)} on",
        )
    ]


# Each query below walks an index restricted to the currency and window (EXPLAIN in
# docs/jobs/manage_accounting_period.md): journal_lines are never read, so the cost does not
# grow with the ledger, only with the blockers themselves.
_BLOCKER_QUERIES: dict[str, str] = {
    "draft_entry": """
        SELECT entry_no AS reference,
               'draft entry ' || entry_no || ' dated ' || entry_date AS description,
               count(*) OVER () AS total
          FROM journal_entries
         WHERE currency = :currency AND entry_date BETWEEN :start AND :end
           AND status = 'draft'
         ORDER BY entry_date, id
         LIMIT :cap
        """,
    "pending_approval": """
        SELECT 'approval-' || a.id AS reference,
               'pending ' || a.kind || ' approval #' || a.id || ' of ' || e.entry_no
                   || ' dated ' || e.entry_date AS description,
               count(*) OVER () AS total
          FROM journal_entries e
          JOIN journal_approvals a ON a.entry_id = e.id AND a.status = 'pending'
         WHERE e.currency = :currency AND e.entry_date BETWEEN :start AND :end
         ORDER BY e.entry_date, a.id
         LIMIT :cap
        """,
    "open_break": """
        SELECT break_no AS reference,
               status || ' reconciliation break ' || break_no || ' (' || category
                   || ') dated ' || business_date AS description,
               count(*) OVER () AS total
          FROM reconciliation_breaks
         WHERE currency = :currency AND business_date BETWEEN :start AND :end
           AND status IN ('open', 'in_review')
         ORDER BY business_date, id
         LIMIT :cap
        """,
}


def _close_blockers(
    session: Session,
    request: PeriodRequest,
    overlapping: list[dict[str, Any]],
    business_date: date,
) -> tuple[list[Blocker], int]:
    """Every reason the close is refused (at most a page per kind) and their exact total."""
    blockers = _not_ended(request, business_date)
    blockers += [
        Blocker(
            "overlap",
            f"period-{p['id']}",
            f"overlaps {p['status']} period {p['period_start']}..{p['period_end']}",
        )
        for p in overlapping
        if not _same_bounds(p, request)
    ]
    total = len(blockers)
    for kind, query in _BLOCKER_QUERIES.items():
        rows = session.execute(
            text(query), {**request.bounds(), "cap": BLOCKERS_LISTED_PER_KIND}
        ).all()
        blockers += [Blocker(kind, row.reference, row.description) for row in rows]
        found = rows[0].total if rows else 0
        total += found
        if found > len(rows):
            blockers.append(Blocker(kind, "more", f"and {found - len(rows)} more {kind}"))
    return blockers, total
