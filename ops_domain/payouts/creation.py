"""Payout creation: each posted settlement with positive net gets one pending payout, unless a
freeze applies (then it is held and reported, and paid by a later run once the freeze is lifted).

It runs as the last phase of a settlement run (``ops_domain.settlement_automation``) under the
same per-merchant locks as settling, in keyset batches; ``ON CONFLICT (settlement_id)`` and the
unique settlement of a payout make a rerun create nothing twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import PAYOUT_CREATE, in_sql
from ops_domain.audit.log import AuditRows, insert_audit_rows
from ops_domain.jobs import JobContext, JobResult
from ops_domain.payouts.freezes import active_freeze_sql
from ops_domain.settlements.run import SettlementRun
from ops_domain.settlements.service import (
    MERCHANT_SCOPE,
    NATURAL_KEY,
    Batch,
    in_batches,
    job_item,
    lock_merchants,
)

PAYOUT_COUNTERS = ("payouts_created", "payouts_held", "payouts_swept")
PAYOUT_ITEM_KEYS = (*NATURAL_KEY, "amount")
FREEZE_ITEM_KEYS = ("freeze_id", "freeze_scope", "freeze_reason")
SETTLEMENT_IDS = ("settlement_id", "settlement_no")
PAYOUT_IDS = ("id", "payout_reference", *SETTLEMENT_IDS)

# What a run pays: the settlements it settled itself and, when it sweeps, those of earlier runs
# still unpaid (posted later by a checker, held by a lifted freeze), never one dated after its
# window: a catch-up run for an old day does not pay today's settlements.
_NEXT_PAYABLE = text(
    f"""
    SELECT s.id, s.merchant_id
      FROM settlements s JOIN merchants m ON m.id = s.merchant_id
     WHERE s.status = 'posted' AND s.net_amount > 0 AND s.id > :after
       AND m.status = 'active' AND {MERCHANT_SCOPE}
       AND (CAST(:currency AS text) IS NULL OR s.currency = :currency)
       AND (s.job_run_id = :job_run_id OR (:sweep AND s.period_end <= :period_end))
       AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.settlement_id = s.id)
     ORDER BY s.id
     LIMIT :batch_size
    """
)

_AUDIT_CREATED = insert_audit_rows(
    AuditRows(
        in_sql(PAYOUT_CREATE),
        "payout",
        source="created c",
        target_id="c.id",
        after="jsonb_build_object('status', 'pending', 'amount', c.amount::text,"
        " 'settlement_id', c.settlement_id)",
        details="jsonb_build_object('job_run_id', :job_run_id)",
    )
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
    audited AS ({_AUDIT_CREATED})
    SELECT c.id, c.payout_reference, p.settlement_id, p.settlement_no, p.merchant_code,
           p.currency, p.period_start, p.period_end, p.sequence, p.net_amount AS amount,
           p.freeze_id, p.freeze_scope, p.freeze_reason, c.id IS NOT NULL AS created,
           p.settled_here
      FROM payable p LEFT JOIN created c USING (settlement_id)
     ORDER BY p.settlement_id
    """
)


def create_payouts(ctx: JobContext, run: SettlementRun) -> None:
    """Pay what the run settled and, unless it is a backfill, posted settlements of earlier
    runs dated up to the window's end that still have no payout (``payouts_swept``)."""
    in_batches(ctx, run, _payout_batch, _record_payouts)


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
    lock_merchants(session, ctx, merchant_ids)
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
        "payouts", [job_item(row, PAYOUT_ITEM_KEYS, PAYOUT_IDS, result) for row in created]
    )
    result.add_items(
        "swept_payouts", [job_item(row, PAYOUT_ITEM_KEYS, PAYOUT_IDS, result) for row in swept]
    )
    held_keys = PAYOUT_ITEM_KEYS + FREEZE_ITEM_KEYS
    result.add_items(
        "held_payouts", [job_item(row, held_keys, SETTLEMENT_IDS, result) for row in held]
    )
