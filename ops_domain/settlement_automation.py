"""The settlement job: settle a window (``settlements``), then pay what is posted (``payouts``).

One job run, one ``job_runs`` row and one result for both phases; it sits above the two
capabilities so that payouts read settlements and settlements never read payouts.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine

from ops_domain.config import Settings
from ops_domain.jobs import JobContext, JobResult, JobSpec, run_job
from ops_domain.payouts.creation import PAYOUT_COUNTERS, create_payouts
from ops_domain.settlements.run import SettlementRun, validated_run
from ops_domain.settlements.service import SETTLEMENT_COUNTERS, settle

SETTLEMENT_JOB = JobSpec("automate_settlements", "settlements.run")
COUNTERS = (*SETTLEMENT_COUNTERS, *PAYOUT_COUNTERS)


def automate_settlements(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    period_start: date | str | None = None,
    period_end: date | str | None = None,
    currency: str | None = None,
    create_payouts: bool = False,
    backfill: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
    idempotency_key: str | None = None,
    shard: tuple[int, int] | None = None,
) -> JobResult:
    """Settle the unsettled events of active merchants dated in the window, exactly once.

    The window ends at the latest on the current business date (of ``now``) and spans at most
    ``settings.settlement_max_window_days`` unless the run is an explicit ``backfill``. One
    settlement per (merchant, currency) and run, with the next ``sequence`` after any
    settlement whose window overlaps; net is signed (credits minus debits).
    Net at or below the currency's auto-post limit (``settings.auto_post_limit_for``) is posted
    by policy, larger stays draft for a checker; a negative net opens a ``negative_net``
    exception. With ``create_payouts`` each posted settlement of this run with positive net
    gets a pending payout (``payouts_created``) unless a freeze applies (``payouts_held``,
    reported by this run only). Unless it is a backfill (which pays only what it settled),
    posted settlements of earlier runs dated up to the window's end that still have no payout
    are paid too and counted apart (``payouts_swept``). Default window: yesterday..today of
    ``now``.
    """
    run = validated_run(
        settings,
        period_start=period_start,
        period_end=period_end,
        currency=currency,
        create_payouts=create_payouts,
        backfill=backfill,
        now=now,
        shard=shard,
    )
    return run_job(
        engine,
        SETTLEMENT_JOB,
        actor_username=actor_username,
        parameters=run.parameters(),
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        settings=settings,
        body=lambda ctx: _run(ctx, run),
    )


def _run(ctx: JobContext, run: SettlementRun) -> None:
    for counter in COUNTERS:
        ctx.result.counts.setdefault(counter, 0)
    settle(ctx, run)
    if run.create_payouts:
        create_payouts(ctx, run)
    ctx.result.messages.append(
        f"window {run.period_start}..{run.period_end}"
        f"{' ' + run.currency if run.currency else ''}:"
        f" {ctx.result.counts['settlements_created']} settlement(s) from"
        f" {ctx.result.counts['events_settled']} event(s)"
    )
