"""Settling: unsettled events become settlements per (merchant, currency), posted by policy or
by a checker.

Exactly once: within a batch transaction each merchant is first locked with a transaction-level
advisory lock (taken in merchant-id order, so overlapping runs queue per merchant and never
deadlock), then its unsettled events are locked ``FOR UPDATE SKIP LOCKED``, summed into
settlements and marked ``WHERE settlement_id IS NULL`` in one data-modifying statement. A run
that queued behind another sees the events already settled and creates nothing; a run killed
mid-way lost only its open batch, which the rerun redoes.

Settlements (and the payouts ``ops_domain.payouts.creation`` makes of them) are identified in
results by their natural key (merchant, currency, window, sequence), identical between a dry
run and the real run that follows; a real run adds their ids and reference numbers (``id``,
``settlement_no``, ``payout_reference``), which a dry run cannot report: it draws (and
discards) them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import (
    SETTLEMENT_CREATE,
    SETTLEMENT_EXCEPTION_OPEN,
    SETTLEMENT_POST,
    in_sql,
)
from ops_domain.audit.history import check_move
from ops_domain.audit.log import AuditRows, insert_audit_rows, record_audit
from ops_domain.clock import as_utc, utc_now
from ops_domain.db import transaction
from ops_domain.errors import NotFound
from ops_domain.jobs import ITEM_LIMIT, JobContext, JobResult
from ops_domain.rbac.actors import require_actor, require_checker
from ops_domain.settlements.models import SETTLEMENT_STATES
from ops_domain.settlements.policy import auto_post_limit_params, auto_post_limit_sql
from ops_domain.settlements.run import SettlementRun

# Namespace of the per-merchant advisory locks (first key of pg_advisory_xact_lock(int, int)).
MERCHANT_LOCK_SPACE = 4_517_001
SETTLEMENT_COUNTERS = (
    "events_settled",
    "settlements_created",
    "settlements_posted",
    "settlements_draft",
    "negative_net_exceptions",
    "merchants_skipped",
    "unsettled_before_window",
)

# Items name settlements (and their payouts) by their natural key; a real run adds ids.
NATURAL_KEY = ("merchant_code", "currency", "period_start", "period_end", "sequence")
SETTLEMENT_FIGURES = ("gross_amount", "fee_amount", "net_amount", "event_count", "status")
SETTLEMENT_ITEM_KEYS = (*NATURAL_KEY, *SETTLEMENT_FIGURES)

# The optional shard, shared by every phase (``m`` is the merchant).
MERCHANT_SCOPE = """
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
         WHERE m.status <> 'active' AND {MERCHANT_SCOPE} AND {_IN_WINDOW}
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
       AND m.status = 'active' AND {MERCHANT_SCOPE}
    """
)

_NEXT_MERCHANTS = text(
    f"""
    SELECT m.id
      FROM merchants m
     WHERE m.status = 'active' AND m.id > :after AND {MERCHANT_SCOPE}
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

_JOB_RUN = "jsonb_build_object('job_run_id', :job_run_id)"
_AUDIT_SETTLED = insert_audit_rows(
    AuditRows(
        in_sql(SETTLEMENT_CREATE),
        "settlement",
        source="created c",
        target_id="c.id",
        after="jsonb_build_object('status', 'draft', 'net_amount', c.net_amount::text,"
        " 'event_count', c.event_count, 'sequence', c.sequence)",
        details=_JOB_RUN,
    ),
    AuditRows(
        in_sql(SETTLEMENT_POST),
        "settlement",
        source="created c",
        target_id="c.id",
        where="c.status = 'posted'",
        after="jsonb_build_object('status', 'posted', 'approval_source', 'policy:auto_post')",
        details="jsonb_build_object('job_run_id', :job_run_id, 'auto_post_limit',"
        f" CAST({auto_post_limit_sql('c.currency')} AS text))",
    ),
    AuditRows(
        in_sql(SETTLEMENT_EXCEPTION_OPEN),
        "settlement_exception",
        source="exceptions x",
        target_id="x.id",
        after="jsonb_build_object('status', 'open', 'reason_code', 'negative_net',"
        " 'settlement_id', x.settlement_id)",
        details=_JOB_RUN,
    ),
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
    audited AS ({_AUDIT_SETTLED})
    SELECT c.id, c.settlement_no, m.code AS merchant_code, c.currency, c.period_start,
           c.period_end, c.sequence, c.gross_amount, c.fee_amount, c.net_amount, c.event_count,
           c.status,
           (SELECT count(*) FROM marked) AS events_marked
      FROM created c JOIN merchants m ON m.id = c.merchant_id
     ORDER BY c.merchant_id, c.currency
    """
)


@dataclass(frozen=True)
class Batch:
    """What one committed batch did, and where the next batch starts (None: no more)."""

    rows: list[dict[str, Any]]
    next_after: int | None


BatchStep = Callable[[Session, JobContext, SettlementRun, int], Batch]
Recorder = Callable[[JobResult, list[dict[str, Any]]], None]


def settle(ctx: JobContext, run: SettlementRun) -> None:
    """The settling phase of a run: report skipped merchants and older unsettled events, then
    settle the window batch by batch."""
    skipped = ctx.run_batch(lambda session: _skipped_merchants(session, run))
    _record_skipped(ctx.result, skipped)
    older = ctx.run_batch(lambda session: _unsettled_before_window(session, run))
    _record_unsettled_before_window(ctx.result, run, older)
    in_batches(ctx, run, _settle_batch, _record_settlements)


def in_batches(ctx: JobContext, run: SettlementRun, step: BatchStep, record: Recorder) -> None:
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
    lock_merchants(session, ctx, merchant_ids)
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


def lock_merchants(session: Session, ctx: JobContext, merchant_ids: list[int]) -> None:
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
        job_item(row, SETTLEMENT_ITEM_KEYS, ("id", "settlement_no"), result) for row in settlements
    ]
    result.add_items("settlements", items)
    result.add_items("negative_net", [item for item in items if item["net_amount"] < 0])


def job_item(
    row: dict[str, Any], keys: tuple[str, ...], ids: tuple[str, ...], result: JobResult
) -> dict[str, Any]:
    """An item under its natural key; a real run adds ``ids`` (ids and reference numbers),
    which a dry run cannot report: it draws and discards them."""
    return {key: row[key] for key in (keys if result.dry_run else ids + keys)}


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
            action=SETTLEMENT_POST,
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
