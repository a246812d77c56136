"""Reconciliation runs: internal settled totals against an external statement.

Internal side: the events of ``posted`` or ``paid`` settlements of the currency, per merchant
and business date (the UTC date the event occurred), as a signed net amount (credits minus
debits, after fees) and an event count. External side: the statement's lines, exact duplicate
lines counted once. A statement must fit the run: every line in the window, none in another
currency nor for a merchant settling in another currency, and a named merchant must settle in
the run's currency; otherwise the run is refused before anything is written. Each (merchant,
date) that disagrees opens one break: missing on a side, ``amount_mismatch`` when the amounts
differ (whatever the counts), ``count_mismatch`` when only the counts differ (no money
difference); duplicate lines open their own. A break already open or in review for the same
(merchant, date, category) is not opened again, so re-running a statement is harmless. Runs of
one currency are serialized.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.accounting.periods import currency_lock_key
from ops_domain.audit.actions import RECONCILIATION_BREAK_OPEN, RECONCILIATION_RUN, in_sql
from ops_domain.audit.log import AuditRows, insert_audit_rows, record_audit
from ops_domain.clock import day_window, require_window, utc_now
from ops_domain.config import Settings
from ops_domain.db import transaction, translate_db_errors
from ops_domain.errors import InvalidInput
from ops_domain.merchants.directory import merchant_by_code
from ops_domain.rbac.actors import require_actor
from ops_domain.reconciliation.statements import ExternalStatement

PERMISSION = "reconciliation.run"
RECONCILIATION_LOCK_NAMESPACE = 7102
BREAKS_LISTED = 100

_COMPARE = """
CREATE TEMP TABLE recon_comparison ON COMMIT DROP AS
WITH statement AS (
    SELECT merchant_code, business_date, amount, count, reference, count(*) AS copies
      FROM jsonb_to_recordset(CAST(:lines AS jsonb))
           AS s(merchant_code text, business_date date, amount numeric, count int,
                reference text)
     WHERE business_date BETWEEN :start AND :end
       AND (CAST(:merchant_code AS text) IS NULL OR merchant_code = :merchant_code)
     GROUP BY merchant_code, business_date, amount, count, reference
),
external AS (
    SELECT st.merchant_code, m.id AS merchant_id, st.business_date,
           sum(st.amount) AS amount, sum(st.count) AS count,
           sum(st.copies - 1) AS duplicate_lines,
           jsonb_agg(st.reference ORDER BY st.reference)
               FILTER (WHERE st.reference IS NOT NULL) AS refs
      FROM statement st LEFT JOIN merchants m ON m.code = st.merchant_code
     GROUP BY st.merchant_code, m.id, st.business_date
),
internal AS (
    SELECT s.merchant_id, (e.occurred_at AT TIME ZONE 'UTC')::date AS business_date,
           sum(CASE WHEN e.direction = 'credit' THEN e.net_amount ELSE -e.net_amount END)
               AS amount,
           count(*) AS count
      FROM settlements s
      JOIN cashflow_events e ON e.settlement_id = s.id
     WHERE s.currency = :currency AND s.status IN ('posted', 'paid')
       AND s.period_start <= :end AND s.period_end >= :start
       AND e.occurred_at >= :from_instant AND e.occurred_at < :to_instant
       AND (CAST(:merchant_id AS bigint) IS NULL OR s.merchant_id = :merchant_id)
     GROUP BY s.merchant_id, (e.occurred_at AT TIME ZONE 'UTC')::date
)
SELECT coalesce(x.merchant_id, i.merchant_id) AS merchant_id,
       coalesce(x.merchant_code, mi.code) AS merchant_code,
       coalesce(x.business_date, i.business_date) AS business_date,
       i.amount AS internal_amount, i.count AS internal_count,
       x.amount AS external_amount, x.count AS external_count,
       coalesce(x.duplicate_lines, 0) AS duplicate_lines,
       coalesce(x.refs, '[]') AS refs
  FROM external x
  FULL JOIN internal i ON i.merchant_id = x.merchant_id AND i.business_date = x.business_date
  LEFT JOIN merchants mi ON mi.id = i.merchant_id
"""

_TOTALS = """
SELECT coalesce(sum(internal_amount), 0) AS internal_total,
       coalesce(sum(internal_count), 0) AS internal_count,
       coalesce(sum(external_amount), 0) AS external_total,
       coalesce(sum(external_count), 0) AS external_count
  FROM recon_comparison
"""

# At most one disagreement per (merchant, date), plus a duplicate candidate; ``difference`` is
# external minus internal (a positive figure means the statement shows more money), and NULL
# where no money differs (counts, duplicates).
_CANDIDATES = """
CREATE TEMP TABLE recon_candidates ON COMMIT DROP AS
    SELECT c.*, 'missing_external' AS category, -c.internal_amount AS difference
      FROM recon_comparison c WHERE c.external_amount IS NULL
    UNION ALL
    SELECT c.*, 'missing_internal', c.external_amount
      FROM recon_comparison c WHERE c.internal_amount IS NULL
    UNION ALL
    SELECT c.*, 'amount_mismatch', c.external_amount - c.internal_amount
      FROM recon_comparison c WHERE c.external_amount <> c.internal_amount
    UNION ALL
    SELECT c.*, 'count_mismatch', NULL
      FROM recon_comparison c
     WHERE c.external_amount = c.internal_amount AND c.external_count <> c.internal_count
    UNION ALL
    SELECT c.*, 'duplicate', NULL
      FROM recon_comparison c WHERE c.duplicate_lines > 0
"""

_AUDIT_OPENED = insert_audit_rows(
    AuditRows(
        in_sql(RECONCILIATION_BREAK_OPEN),
        "reconciliation_break",
        source="opened o",
        target_id="o.id",
        after="to_jsonb(o)",
        details="jsonb_build_object('run_id', :run_id)",
    )
)

_OPEN_BREAKS = f"""
WITH fresh AS (
    SELECT * FROM recon_candidates c
     WHERE NOT EXISTS (
           SELECT 1 FROM reconciliation_breaks b
            WHERE b.currency = :currency AND b.business_date = c.business_date
              AND b.status IN ('open', 'in_review') AND b.category = c.category
              AND b.merchant_id IS NOT DISTINCT FROM c.merchant_id
              AND (c.merchant_id IS NOT NULL OR b.details->>'merchant_code' = c.merchant_code))
),
opened AS (
    INSERT INTO reconciliation_breaks (run_id, category, currency, merchant_id, business_date,
                                       difference, details, created_at)
    SELECT :run_id, f.category, :currency, f.merchant_id, f.business_date, f.difference,
           jsonb_build_object(
               'merchant_code', f.merchant_code,
               'internal_amount', f.internal_amount::text,
               'internal_count', f.internal_count,
               'external_amount', f.external_amount::text,
               'external_count', f.external_count,
               'duplicate_lines', f.duplicate_lines,
               'references', f.refs),
           :now
      FROM fresh f
     ORDER BY f.business_date, f.merchant_code, f.category
    RETURNING id, break_no, category, status, merchant_id, business_date, difference, details
),
audited AS ({_AUDIT_OPENED})
SELECT * FROM opened ORDER BY id
"""


def reconcile(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    currency: str,
    window_start: date,
    window_end: date,
    statement: ExternalStatement,
    merchant_code: str | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Record a reconciliation run and open a break for each disagreement not already open.

    A dry run executes the same statements and reports the same figures, then rolls back."""
    settings.require_currency(currency)
    require_window(window_start, window_end)
    statement.require_fits(currency, window_start, window_end)
    moment = now or utc_now()
    with _unit_of_work(engine, dry_run=dry_run) as session:
        actor = require_actor(session, actor_username, PERMISSION, "reconcile")
        merchant_id = _merchant_settling_in(session, merchant_code, currency)
        _require_statement_merchants_settle_in(session, statement, currency)
        session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, :key)"),
            {"namespace": RECONCILIATION_LOCK_NAMESPACE, "key": currency_lock_key(currency)},
        )
        from_instant, to_instant = day_window(window_start, window_end)
        session.execute(
            text(_COMPARE),
            {
                "lines": json.dumps([line.as_row() for line in statement.lines]),
                "start": window_start,
                "end": window_end,
                "from_instant": from_instant,
                "to_instant": to_instant,
                "currency": currency,
                "merchant_code": merchant_code,
                "merchant_id": merchant_id,
            },
        )
        run = _record_run(
            session,
            actor_id=actor.id,
            currency=currency,
            merchant_id=merchant_id,
            window=(window_start, window_end),
            source=statement.source,
            now=moment,
        )
        session.execute(text(_CANDIDATES))
        opened = [
            dict(row._mapping)
            for row in session.execute(
                text(_OPEN_BREAKS),
                {"run_id": run["id"], "currency": currency, "actor_id": actor.id, "now": moment},
            )
        ]
        candidates = session.execute(text("SELECT count(*) FROM recon_candidates")).scalar_one()
    return {
        "dry_run": dry_run,
        "run": {**run, "merchant_code": merchant_code},
        "breaks_opened": dict(Counter(row["category"] for row in opened)),
        "breaks_already_open": candidates - len(opened),
        "breaks": opened[:BREAKS_LISTED],
    }


def _merchant_settling_in(session: Session, merchant_code: str | None, currency: str) -> int | None:
    """The named merchant's id, refused unless it settles in the run's currency."""
    if merchant_code is None:
        return None
    merchant = merchant_by_code(session, merchant_code)
    if merchant.settlement_currency != currency:
        raise InvalidInput(
            f"merchant {merchant_code} settles in {merchant.settlement_currency}, not {currency}:"
            f" reconcile it with --currency {merchant.settlement_currency}"
        )
    return merchant.id


def _require_statement_merchants_settle_in(
    session: Session, statement: ExternalStatement, currency: str
) -> None:
    codes = sorted({line.merchant_code for line in statement.lines})
    foreign = (
        session.execute(
            text(
                "SELECT code || ' (' || settlement_currency || ')' FROM merchants"
                " WHERE code = ANY(:codes) AND settlement_currency <> :currency ORDER BY code"
            ),
            {"codes": codes, "currency": currency},
        )
        .scalars()
        .all()
    )
    if foreign:
        raise InvalidInput(
            f"the statement has lines for merchant(s) settling in another currency than"
            f" {currency}: {', '.join(foreign)}; reconcile each currency with its own statement"
        )


@contextmanager
def _unit_of_work(engine: Engine, *, dry_run: bool) -> Iterator[Session]:
    if not dry_run:
        with transaction(engine) as session:
            yield session
        return
    with translate_db_errors(engine.url), Session(engine) as session:
        session.begin()
        try:
            yield session
        finally:
            session.rollback()


def _record_run(
    session: Session,
    *,
    actor_id: int,
    currency: str,
    merchant_id: int | None,
    window: tuple[date, date],
    source: str,
    now: datetime,
) -> dict[str, Any]:
    row = session.execute(
        text(
            f"""
            INSERT INTO reconciliation_runs (currency, merchant_id, window_start, window_end,
                internal_total, internal_count, external_total, external_count,
                statement_source, created_by, created_at)
            SELECT :currency, :merchant_id, :start, :end, t.internal_total, t.internal_count,
                   t.external_total, t.external_count, :source, :actor_id, :now
              FROM ({_TOTALS}) t
            RETURNING id, run_no, currency, merchant_id, window_start, window_end,
                      internal_total, internal_count, external_total, external_count,
                      statement_source, created_at
            """
        ),
        {
            "currency": currency,
            "merchant_id": merchant_id,
            "start": window[0],
            "end": window[1],
            "source": source,
            "actor_id": actor_id,
            "now": now,
        },
    ).one()
    run = dict(row._mapping)
    record_audit(
        session,
        actor_id=actor_id,
        action=RECONCILIATION_RUN,
        target_type="reconciliation_run",
        target_id=run["id"],
        after=run,
    )
    return run
