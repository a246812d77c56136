"""Settlement lifecycle: settle unsettled events per (merchant, currency), post by policy or by a
checker, and create the payouts of posted settlements.

Exactly once: within a batch transaction each merchant is first locked with a transaction-level
advisory lock (taken in merchant-id order, so overlapping runs queue per merchant and never
deadlock), then its unsettled events are locked ``FOR UPDATE SKIP LOCKED``, summed into
settlements and marked ``WHERE settlement_id IS NULL`` in one data-modifying statement. A run
that queued behind another sees the events already settled and creates nothing; a run killed
mid-way lost only its open batch, which the rerun redoes.

Settlements and payouts are identified in results by their natural key (merchant, currency,
window, sequence), identical between a dry run and the real run that follows; a real run adds
their ids and reference numbers (``id``, ``settlement_no``, ``payout_reference``), which a dry
run cannot report: it draws (and discards) them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.history import check_move
from ops_domain.audit.log import record_audit
from ops_domain.clock import as_utc, day_window, parse_date, require_window, utc_now
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput, NotFound
from ops_domain.jobs import ITEM_LIMIT, JobContext, JobResult, JobSpec, run_job
from ops_domain.payouts.freezes import active_freeze_sql
from ops_domain.rbac.actors import require_actor, require_checker
from ops_domain.settlements.models import SETTLEMENT_STATES
from ops_domain.settlements.policy import auto_post_limit_params, auto_post_limit_sql

SETTLEMENT_JOB = JobSpec("automate_settlements", "settlements.run")
# Namespace of the per-merchant advisory locks (first key of pg_advisory_xact_lock(int, int)).
MERCHANT_LOCK_SPACE = 4_517_001
COUNTERS = (
    "events_settled",
    "settlements_created",
    "settlements_posted",
    "settlements_draft",
    "negative_net_exceptions",
    "merchants_skipped",
    "unsettled_before_window",
    "payouts_created",
    "payouts_held",
    "payouts_swept",
)

# Items name settlements and payouts by their natural key; a real run adds ids (see _item).
NATURAL_KEY = ("merchant_code", "currency", "period_start", "period_end", "sequence")
SETTLEMENT_FIGURES = ("gross_amount", "fee_amount", "net_amount", "event_count", "status")
SETTLEMENT_ITEM_KEYS = (*NATURAL_KEY, *SETTLEMENT_FIGURES)
PAYOUT_ITEM_KEYS = (*NATURAL_KEY, "amount")
FREEZE_ITEM_KEYS = ("freeze_id", "freeze_scope", "freeze_reason")
SETTLEMENT_IDS = ("settlement_id", "settlement_no")
PAYOUT_IDS = ("id", "payout_reference", *SETTLEMENT_IDS)

# The optional shard, shared by every phase (``m`` is the merchant).
_SCOPE = """
    (CAST(:shard_count AS int) IS NULL OR m.id % :shard_count = :shard_index)
"""
_IN_WINDOW = """
    e.settlement_id IS NULL
    AND e.occurred_at >= :window_start AND e.occurred_at < :window_end
    AND (CAST(:currency AS text) IS NULL OR e.currency = :currency)
"""

_SKIPPED_MERCHANTS = text(
    f"""
    WITH skipped AS (
        SELECT m.code AS merchant_code, m.status, count(*) AS unsettled_events
          FROM merchants m
          JOIN cashflow_events e ON e.merchant_id = m.id
         WHERE m.status <> 'active' AND {_SCOPE} AND {_IN_WINDOW}
         GROUP BY m.id, m.code, m.status
    )
    SELECT merchant_code, status, unsettled_events, count(*) OVER () AS total
      FROM skipped ORDER BY merchant_code LIMIT :item_limit
    """
)

# Served by the partial index ix_cashflow_events_unsettled (settlement_id IS NULL).
_UNSETTLED_BEFORE_WINDOW = text(
    f"""
    SELECT count(*)
      FROM cashflow_events e JOIN merchants m ON m.id = e.merchant_id
     WHERE e.settlement_id IS NULL AND e.occurred_at < :window_start
       AND (CAST(:currency AS text) IS NULL OR e.currency = :currency)
       AND m.status = 'active' AND {_SCOPE}
    """
)

_NEXT_MERCHANTS = text(
    f"""
    SELECT m.id
      FROM merchants m
     WHERE m.status = 'active' AND m.id > :after AND {_SCOPE}
       AND EXISTS (SELECT 1 FROM cashflow_events e WHERE e.merchant_id = m.id AND {_IN_WINDOW})
     ORDER BY m.id
     LIMIT :batch_size
    """
)

# unnest keeps the array order, so the locks are taken in ascending merchant id.
_LOCK_MERCHANTS = text(
    """
    SELECT count(pg_advisory_xact_lock(:lock_space, CAST(m % 2147483648 AS int)))
      FROM unnest(CAST(:merchant_ids AS bigint[])) AS m
    """
)

_SETTLE_BATCH = text(
    f"""
    WITH locked AS (
        SELECT e.id, e.merchant_id, e.currency,
               CASE e.direction WHEN 'credit' THEN 1 ELSE -1 END AS sign,
               e.amount, e.fee_amount, e.net_amount
          FROM cashflow_events e
         WHERE e.merchant_id = ANY(CAST(:merchant_ids AS bigint[])) AND {_IN_WINDOW}
           FOR UPDATE SKIP LOCKED
    ),
    totals AS (
        SELECT merchant_id, currency, sum(sign * amount) AS gross, sum(sign * fee_amount) AS fee,
               sum(sign * net_amount) AS net, count(*) AS event_count,
               {auto_post_limit_sql("currency")} AS post_limit
          FROM locked GROUP BY merchant_id, currency
    ),
    created AS (
        INSERT INTO settlements (merchant_id, currency, period_start, period_end, sequence,
                                 gross_amount, fee_amount, net_amount, event_count, status,
                                 maker_id, approval_source, posted_at, job_run_id)
        SELECT t.merchant_id, t.currency, :period_start, :period_end,
               1 + coalesce((SELECT max(s.sequence) FROM settlements s
                              WHERE s.merchant_id = t.merchant_id AND s.currency = t.currency
                                AND s.period_start <= :period_end
                                AND s.period_end >= :period_start), 0),
               t.gross, t.fee, t.net, t.event_count,
               CASE WHEN t.net <= t.post_limit THEN 'posted' ELSE 'draft' END,
               :actor_id,
               CASE WHEN t.net <= t.post_limit THEN 'policy:auto_post' END,
               CASE WHEN t.net <= t.post_limit THEN CAST(:now AS timestamptz) END,
               :job_run_id
          FROM totals t
        RETURNING id, settlement_no, merchant_id, currency, period_start, period_end, sequence,
                  gross_amount, fee_amount, net_amount, event_count, status
    ),
    marked AS (
        UPDATE cashflow_events e SET settlement_id = c.id
          FROM locked l JOIN created c USING (merchant_id, currency)
         WHERE e.id = l.id AND e.settlement_id IS NULL
        RETURNING e.id
    ),
    exceptions AS (
        INSERT INTO settlement_exceptions (settlement_id, reason_code, severity, status, note)
        SELECT c.id, 'negative_net', 'high', 'open',
               'net ' || c.net_amount || ' ' || c.currency || ': merchant owes, no payout'
          FROM created c WHERE c.net_amount < 0
        RETURNING id, settlement_id
    ),
    audited AS (
        INSERT INTO audit_log (action, actor_id, target_type, target_id, after, metadata)
        SELECT 'settlement.create', :actor_id, 'settlement', c.id::text,
               jsonb_build_object('status', 'draft', 'net_amount', c.net_amount::text,
                                  'event_count', c.event_count, 'sequence', c.sequence),
               jsonb_build_object('job_run_id', :job_run_id)
          FROM created c
        UNION ALL
        SELECT 'settlement.post', :actor_id, 'settlement', c.id::text,
               jsonb_build_object('status', 'posted', 'approval_source', 'policy:auto_post'),
               jsonb_build_object('job_run_id', :job_run_id,
                                  'auto_post_limit',
                                  CAST({auto_post_limit_sql("c.currency")} AS text))
          FROM created c WHERE c.status = 'posted'
        UNION ALL
        SELECT 'settlement_exception.open', :actor_id, 'settlement_exception', x.id::text,
               jsonb_build_object('status', 'open', 'reason_code', 'negative_net',
                                  'settlement_id', x.settlement_id),
               jsonb_build_object('job_run_id', :job_run_id)
          FROM exceptions x
    )
    SELECT c.id, c.settlement_no, m.code AS merchant_code, c.currency, c.period_start,
           c.period_end, c.sequence, c.gross_amount, c.fee_amount, c.net_amount, c.event_count,
           c.status,
           (SELECT count(*) FROM marked) AS events_marked
      FROM created c JOIN merchants m ON m.id = c.merchant_id
     ORDER BY c.merchant_id, c.currency
    """
)

# What a run pays: the settlements it settled itself and, when it sweeps, those of earlier runs
# still unpaid (posted later by a checker, held by a lifted freeze), never one dated after its
# window: a catch-up run for an old day does not pay today's settlements.
_NEXT_PAYABLE = text(
    f"""
    SELECT s.id, s.merchant_id
      FROM settlements s JOIN merchants m ON m.id = s.merchant_id
     WHERE s.status = 'posted' AND s.net_amount > 0 AND s.id > :after
       AND m.status = 'active' AND {_SCOPE}
       AND (CAST(:currency AS text) IS NULL OR s.currency = :currency)
       AND (s.job_run_id = :job_run_id OR (:sweep AND s.period_end <= :period_end))
       AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.settlement_id = s.id)
     ORDER BY s.id
     LIMIT :batch_size
    """
)

_CREATE_PAYOUTS = text(
    f"""
    WITH payable AS (
        SELECT s.id AS settlement_id, s.settlement_no, s.merchant_id, m.code AS merchant_code,
               s.currency, s.period_start, s.period_end, s.sequence, s.net_amount, m.channel,
               m.destination_account, f.id AS freeze_id, f.scope AS freeze_scope,
               f.reason AS freeze_reason,
               s.job_run_id IS NOT DISTINCT FROM CAST(:job_run_id AS bigint) AS settled_here
          FROM settlements s
          JOIN merchants m ON m.id = s.merchant_id
          LEFT JOIN LATERAL ({active_freeze_sql("s.merchant_id")}) f ON true
         WHERE s.id = ANY(CAST(:settlement_ids AS bigint[]))
           AND s.status = 'posted' AND s.net_amount > 0
           AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.settlement_id = s.id)
    ),
    created AS (
        INSERT INTO payouts (settlement_id, merchant_id, amount, currency, channel,
                             destination_account, status, maker_id)
        SELECT settlement_id, merchant_id, net_amount, currency, channel, destination_account,
               'pending', :actor_id
          FROM payable WHERE freeze_id IS NULL
        ON CONFLICT (settlement_id) DO NOTHING
        RETURNING id, payout_reference, settlement_id, amount
    ),
    audited AS (
        INSERT INTO audit_log (action, actor_id, target_type, target_id, after, metadata)
        SELECT 'payout.create', :actor_id, 'payout', c.id::text,
               jsonb_build_object('status', 'pending', 'amount', c.amount::text,
                                  'settlement_id', c.settlement_id),
               jsonb_build_object('job_run_id', :job_run_id)
          FROM created c
    )
    SELECT c.id, c.payout_reference, p.settlement_id, p.settlement_no, p.merchant_code,
           p.currency, p.period_start, p.period_end, p.sequence, p.net_amount AS amount,
           p.freeze_id, p.freeze_scope, p.freeze_reason, c.id IS NOT NULL AS created,
           p.settled_here
      FROM payable p LEFT JOIN created c USING (settlement_id)
     ORDER BY p.settlement_id
    """
)


@dataclass(frozen=True)
class SettlementRun:
    """The validated inputs of one run."""

    period_start: date
    period_end: date
    currency: str | None
    create_payouts: bool
    backfill: bool
    now: datetime
    shard: tuple[int, int] | None

    def scope_params(self) -> dict[str, Any]:
        window_start, window_end = day_window(self.period_start, self.period_end)
        shard_index, shard_count = self.shard if self.shard else (None, None)
        return {
            "window_start": window_start,
            "window_end": window_end,
            "currency": self.currency,
            "shard_index": shard_index,
            "shard_count": shard_count,
        }


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
    run = _validated(
        settings,
        period_start=period_start,
        period_end=period_end,
        currency=currency,
        create_payouts=create_payouts,
        backfill=backfill,
        now=now,
        shard=shard,
    )
    parameters = {
        "period_start": run.period_start,
        "period_end": run.period_end,
        "currency": run.currency,
        "create_payouts": run.create_payouts,
        "backfill": run.backfill,
        "now": run.now,
        "shard": list(run.shard) if run.shard else None,
    }
    return run_job(
        engine,
        SETTLEMENT_JOB,
        actor_username=actor_username,
        parameters=parameters,
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        settings=settings,
        body=lambda ctx: _run(ctx, run),
    )


def _validated(
    settings: Settings,
    *,
    period_start: date | str | None,
    period_end: date | str | None,
    currency: str | None,
    create_payouts: bool,
    backfill: bool,
    now: datetime | None,
    shard: tuple[int, int] | None,
) -> SettlementRun:
    moment = as_utc(now) if now is not None else utc_now()
    today = moment.date()
    first = _as_date(period_start, "period_start", today - timedelta(days=1))
    last = _as_date(period_end, "period_end", today)
    require_window(first, last)
    _require_settleable_window(settings, first, last, today, backfill=backfill)
    if shard is not None:
        index, count = shard
        if count < 1 or not 0 <= index < count:
            raise InvalidInput(f"shard must be (index, count) with 0 <= index < count, got {shard}")
    return SettlementRun(
        period_start=first,
        period_end=last,
        currency=settings.require_currency(currency) if currency is not None else None,
        create_payouts=create_payouts,
        backfill=backfill,
        now=moment,
        shard=(shard[0], shard[1]) if shard is not None else None,
    )


def _require_settleable_window(
    settings: Settings, first: date, last: date, today: date, *, backfill: bool
) -> None:
    """Nothing is settled ahead of its business date, and a long window is a deliberate
    backfill, not a typo in a daily run."""
    if last > today:
        raise InvalidInput(
            f"the window ends {last}, after the current business date {today}:"
            " a day is settled once it has begun, never ahead"
        )
    days = (last - first).days + 1
    if days > settings.settlement_max_window_days and not backfill:
        raise InvalidInput(
            f"the window {first}..{last} spans {days} days, more than"
            f" OPS_SETTLEMENT_MAX_WINDOW_DAYS ({settings.settlement_max_window_days}):"
            " settle a longer window as an explicit backfill (emergency backfill_settlements)"
        )


def _as_date(value: date | str | None, field: str, default: date) -> date:
    if value is None:
        return default
    if isinstance(value, datetime):
        raise InvalidInput(f"{field} must be a date, got the timestamp {value.isoformat()}")
    if isinstance(value, date):
        return value
    return parse_date(value, field=field)


@dataclass(frozen=True)
class Batch:
    """What one committed batch did, and where the next batch starts (None: no more)."""

    rows: list[dict[str, Any]]
    next_after: int | None


BatchStep = Callable[[Session, JobContext, SettlementRun, int], Batch]
Recorder = Callable[[JobResult, list[dict[str, Any]]], None]


def _run(ctx: JobContext, run: SettlementRun) -> None:
    for counter in COUNTERS:
        ctx.result.counts.setdefault(counter, 0)
    skipped = ctx.run_batch(lambda session: _skipped_merchants(session, run))
    _record_skipped(ctx.result, skipped)
    older = ctx.run_batch(lambda session: _unsettled_before_window(session, run))
    _record_unsettled_before_window(ctx.result, run, older)
    _in_batches(ctx, run, _settle_batch, _record_settlements)
    if run.create_payouts:
        _in_batches(ctx, run, _payout_batch, _record_payouts)
    ctx.result.messages.append(
        f"window {run.period_start}..{run.period_end}"
        f"{' ' + run.currency if run.currency else ''}:"
        f" {ctx.result.counts['settlements_created']} settlement(s) from"
        f" {ctx.result.counts['events_settled']} event(s)"
    )


def _in_batches(ctx: JobContext, run: SettlementRun, step: BatchStep, record: Recorder) -> None:
    """Run ``step`` batch after batch (keyset on id); record each batch once it has committed,
    so a retried batch is never counted twice."""
    after: int | None = 0
    while after is not None:
        batch = ctx.run_batch(lambda session, after=after: step(session, ctx, run, after))
        record(ctx.result, batch.rows)
        after = batch.next_after


def _skipped_merchants(session: Session, run: SettlementRun) -> list[dict[str, Any]]:
    rows = session.execute(_SKIPPED_MERCHANTS, {**run.scope_params(), "item_limit": ITEM_LIMIT})
    return [dict(row) for row in rows.mappings()]


def _record_skipped(result: JobResult, rows: list[dict[str, Any]]) -> None:
    result.add("merchants_skipped", rows[0]["total"] if rows else 0)
    result.add_items(
        "skipped_merchants", [{k: v for k, v in row.items() if k != "total"} for row in rows]
    )


def _unsettled_before_window(session: Session, run: SettlementRun) -> int:
    return session.scalar(_UNSETTLED_BEFORE_WINDOW, run.scope_params()) or 0


def _record_unsettled_before_window(result: JobResult, run: SettlementRun, count: int) -> None:
    """Events older than the window are not this run's to settle, but never silently left."""
    result.add("unsettled_before_window", count)
    if count:
        result.messages.append(
            f"{count} unsettled event(s) of active merchants dated before {run.period_start}"
            " are not settled by this run: settle them with --period-start/--period-end"
            " (or emergency backfill_settlements)"
        )


def _settle_batch(session: Session, ctx: JobContext, run: SettlementRun, after: int) -> Batch:
    """Settle the next batch of merchants after merchant id ``after``."""
    batch_size = ctx.settings.batch_size
    scope = run.scope_params()
    merchant_ids = list(
        session.scalars(_NEXT_MERCHANTS, {**scope, "after": after, "batch_size": batch_size})
    )
    if not merchant_ids:
        return Batch([], None)
    _lock_merchants(session, ctx, merchant_ids)
    rows = session.execute(
        _SETTLE_BATCH,
        {
            **scope,
            "merchant_ids": merchant_ids,
            "period_start": run.period_start,
            "period_end": run.period_end,
            **auto_post_limit_params(ctx.settings),
            "actor_id": ctx.actor.id,
            "now": run.now,
            "job_run_id": ctx.job_run_id,
        },
    ).mappings()
    settlements = [dict(row) for row in rows]
    marked = settlements[0]["events_marked"] if settlements else 0
    if marked != sum(row["event_count"] for row in settlements):
        # Unreachable while the locks hold; if it ever happens the batch must not commit.
        raise AssertionError("events marked differ from the settlements' event counts")
    return Batch(settlements, merchant_ids[-1] if len(merchant_ids) == batch_size else None)


def _lock_merchants(session: Session, ctx: JobContext, merchant_ids: list[int]) -> None:
    """Queue behind any other run on these merchants (ids ascending: no deadlock).

    A dry run takes no such locks: it keeps every lock until it ends, so one lock per merchant
    would pile up over the whole run and exhaust the server's shared lock table (about 6,400
    locks with default settings); a run that writes nothing has nobody to serialise with.
    """
    if not ctx.dry_run:
        session.execute(
            _LOCK_MERCHANTS, {"lock_space": MERCHANT_LOCK_SPACE, "merchant_ids": merchant_ids}
        )


def _record_settlements(result: JobResult, settlements: list[dict[str, Any]]) -> None:
    negative = [row for row in settlements if row["net_amount"] < 0]
    result.add("events_settled", sum(row["event_count"] for row in settlements))
    result.add("settlements_created", len(settlements))
    result.add("settlements_posted", sum(row["status"] == "posted" for row in settlements))
    result.add("settlements_draft", sum(row["status"] == "draft" for row in settlements))
    result.add("negative_net_exceptions", len(negative))
    items = [
        _item(row, SETTLEMENT_ITEM_KEYS, ("id", "settlement_no"), result) for row in settlements
    ]
    result.add_items("settlements", items)
    result.add_items("negative_net", [item for item in items if item["net_amount"] < 0])


def _item(
    row: dict[str, Any], keys: tuple[str, ...], ids: tuple[str, ...], result: JobResult
) -> dict[str, Any]:
    """An item under its natural key; a real run adds ``ids`` (ids and reference numbers),
    which a dry run cannot report: it draws and discards them."""
    return {key: row[key] for key in (keys if result.dry_run else ids + keys)}


def _payout_batch(session: Session, ctx: JobContext, run: SettlementRun, after: int) -> Batch:
    """Create the payouts of the next batch of payable settlements after settlement ``after``."""
    batch_size = ctx.settings.batch_size
    payable = session.execute(
        _NEXT_PAYABLE,
        {
            **run.scope_params(),
            "after": after,
            "batch_size": batch_size,
            "job_run_id": ctx.job_run_id,
            "sweep": not run.backfill,
            "period_end": run.period_end,
        },
    ).all()
    if not payable:
        return Batch([], None)
    merchant_ids = sorted({row.merchant_id for row in payable})
    _lock_merchants(session, ctx, merchant_ids)
    rows = session.execute(
        _CREATE_PAYOUTS,
        {
            "settlement_ids": [row.id for row in payable],
            "actor_id": ctx.actor.id,
            "job_run_id": ctx.job_run_id,
        },
    ).mappings()
    return Batch(
        [dict(row) for row in rows], payable[-1].id if len(payable) == batch_size else None
    )


def _record_payouts(result: JobResult, outcomes: list[dict[str, Any]]) -> None:
    """Count each payout decision once: payouts and holds of this run's own settlements, and
    apart from them the sweep of earlier runs' settlements (a payout those runs reported as
    held is not held again by every later run)."""
    created = [row for row in outcomes if row["created"] and row["settled_here"]]
    held = [row for row in outcomes if row["freeze_id"] is not None and row["settled_here"]]
    swept = [row for row in outcomes if row["created"] and not row["settled_here"]]
    result.add("payouts_created", len(created))
    result.add("payouts_held", len(held))
    result.add("payouts_swept", len(swept))
    result.add_items(
        "payouts", [_item(row, PAYOUT_ITEM_KEYS, PAYOUT_IDS, result) for row in created]
    )
    result.add_items(
        "swept_payouts", [_item(row, PAYOUT_ITEM_KEYS, PAYOUT_IDS, result) for row in swept]
    )
    held_keys = PAYOUT_ITEM_KEYS + FREEZE_ITEM_KEYS
    result.add_items(
        "held_payouts", [_item(row, held_keys, SETTLEMENT_IDS, result) for row in held]
    )


def approve_settlement(
    engine: Engine,
    *,
    settlement_id: int,
    actor_username: str,
    note: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Post a draft settlement: a checker-role user who is not its maker, with a note."""
    moment = as_utc(now) if now is not None else utc_now()
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, "settlements.approve", "settlements approve")
        row = session.execute(
            text(
                "SELECT settlement_no, status, maker_id, net_amount FROM settlements"
                " WHERE id = :id FOR UPDATE"
            ),
            {"id": settlement_id},
        ).first()
        if row is None:
            raise NotFound("settlement", settlement_id)
        check_move(
            session,
            SETTLEMENT_STATES,
            row.status,
            "posted",
            note,
            target_type="settlement",
            target_id=settlement_id,
        )
        require_checker(actor, row.maker_id, note, "settlement approval")
        session.execute(
            text(
                """
                UPDATE settlements
                   SET status = 'posted', approval_source = 'checker', approver_id = :actor,
                       approval_note = :note, posted_at = :at
                 WHERE id = :id
                """
            ),
            {"actor": actor.id, "note": note.strip(), "at": moment, "id": settlement_id},
        )
        record_audit(
            session,
            actor_id=actor.id,
            action="settlement.post",
            target_type="settlement",
            target_id=settlement_id,
            before={"status": row.status},
            after={"status": "posted", "approval_source": "checker"},
            details={"note": note.strip()},
        )
        return {
            "id": settlement_id,
            "settlement_no": row.settlement_no,
            "status": "posted",
            "approval_source": "checker",
            "approved_by": actor.username,
            "net_amount": row.net_amount,
        }
