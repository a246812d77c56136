"""Helpers for the multi-process settlement tests: bulk data, CLI subprocesses, invariants."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, text

from ops_domain.config import PROJECT_ROOT
from ops_domain.settlements.service import MERCHANT_LOCK_SPACE
from tests.support.advisory_locks import advisory_lock_waiters


def mixed_events(engine: Engine, merchant_ids: list[int], per_merchant: int, *, day: date) -> int:
    """Events of varied amounts and fees over ``day``; every seventh one is a debit."""
    with engine.begin() as conn:
        return conn.execute(
            text(
                """
                INSERT INTO cashflow_events (merchant_id, flow_type, direction, amount,
                    fee_amount, net_amount, currency, occurred_at)
                SELECT m, 'c2b', CASE WHEN n % 7 = 0 THEN 'debit' ELSE 'credit' END,
                       (n % 97) + 1.37, (n % 5) * 0.11, (n % 97) + 1.37 - (n % 5) * 0.11,
                       CASE WHEN n % 3 = 0 THEN 'EUR' ELSE 'USD' END,
                       :start + ((n * 37) % 86400) * interval '1 second'
                  FROM unnest(CAST(:merchants AS bigint[])) AS m,
                       generate_series(1, :per) AS n
                """
            ),
            {
                "start": datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                "merchants": merchant_ids,
                "per": per_merchant,
            },
        ).rowcount


def start_settlement_cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """``python -m ops_domain automate_settlements --json ...`` as its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "ops_domain", "automate_settlements", "--json", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def settlement_invariant_breaches(engine: Engine) -> dict[str, int]:
    """Counts of rows breaking exactly-once settlement; all zero when the books are right."""
    with engine.begin() as conn:
        row = conn.execute(
            text(
                """
                SELECT
                  (SELECT count(*) FROM cashflow_events WHERE settlement_id IS NULL)
                      AS unsettled_events,
                  (SELECT count(*) FROM (
                      SELECT s.id FROM settlements s
                        LEFT JOIN cashflow_events e ON e.settlement_id = s.id
                       GROUP BY s.id
                      HAVING s.event_count <> count(e.id)
                          OR s.net_amount <> coalesce(sum(CASE e.direction
                                 WHEN 'credit' THEN e.net_amount ELSE -e.net_amount END), 0)
                          OR s.gross_amount <> coalesce(sum(CASE e.direction
                                 WHEN 'credit' THEN e.amount ELSE -e.amount END), 0)
                          OR bool_or(e.merchant_id <> s.merchant_id OR e.currency <> s.currency)
                  ) bad) AS settlements_not_matching_events,
                  (SELECT count(*) - count(DISTINCT (merchant_id, currency)) FROM settlements)
                      AS extra_settlements_per_merchant_currency,
                  (SELECT coalesce(sum(event_count), 0) FROM settlements)
                      - (SELECT count(*) FROM cashflow_events WHERE settlement_id IS NOT NULL)
                      AS event_count_drift
                """
            )
        ).one()
    return dict(row._mapping)


def lock_merchant(holder: Connection, merchant_id: int) -> None:
    """Take ``merchant_id``'s settlement lock in ``holder``'s session: a run reaching that
    merchant queues until it is let go or the session ends."""
    holder.execute(
        text("SELECT pg_advisory_lock(:space, :merchant)"),
        {"space": MERCHANT_LOCK_SPACE, "merchant": merchant_id},
    )
    holder.commit()


@contextmanager
def merchant_lock_barrier(engine: Engine, merchant_id: int, waiters: int) -> Iterator[None]:
    """Hold ``merchant_id``'s settlement lock until ``waiters`` runs queue on it, then let go:
    the runs start settling from the same point at the same moment."""
    with engine.connect() as holder:
        lock_merchant(holder, merchant_id)
        try:
            yield
            wait_for_waiters(engine, merchant_id, waiters)
        finally:
            holder.execute(
                text("SELECT pg_advisory_unlock(:space, :merchant)"),
                {"space": MERCHANT_LOCK_SPACE, "merchant": merchant_id},
            )
            holder.commit()


def wait_for_waiters(engine: Engine, merchant_id: int, waiters: int) -> None:
    """Return once ``waiters`` sessions queue on ``merchant_id``'s settlement lock."""
    deadline = time.monotonic() + 60
    while True:
        with engine.connect() as conn:
            queued = advisory_lock_waiters(conn, (MERCHANT_LOCK_SPACE, merchant_id))
        if queued >= waiters:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"only {queued} of {waiters} runs reached merchant {merchant_id}")
        time.sleep(0.02)
