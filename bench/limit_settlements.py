"""The limit: settlement as one hand-written statement pair, with nothing else.

An aggregate INSERT of one settlement per (merchant, currency) from the unsettled events of
active merchants in the window, then one UPDATE linking every such event to it; one
transaction. No batching, locking, sequence handling, audit rows, exceptions, payouts or
checks: the floor our job's cost is compared with, not something to run in production.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, text

from ops_domain.clock import day_window

_IN_WINDOW = """
    e.settlement_id IS NULL AND e.occurred_at >= :window_start AND e.occurred_at < :window_end
"""

_AGGREGATE_INSERT = text(
    f"""
    INSERT INTO settlements (merchant_id, currency, period_start, period_end, sequence,
                             gross_amount, fee_amount, net_amount, event_count, status,
                             maker_id, approval_source, posted_at)
    SELECT t.merchant_id, t.currency, :period_start, :period_end, 1, t.gross, t.fee, t.net,
           t.event_count,
           CASE WHEN t.net <= :auto_post_limit THEN 'posted' ELSE 'draft' END, :actor_id,
           CASE WHEN t.net <= :auto_post_limit THEN 'policy:auto_post' END,
           CASE WHEN t.net <= :auto_post_limit THEN now() END
      FROM (SELECT e.merchant_id, e.currency,
                   sum(CASE e.direction WHEN 'credit' THEN e.amount ELSE -e.amount END) AS gross,
                   sum(CASE e.direction WHEN 'credit' THEN e.fee_amount ELSE -e.fee_amount END)
                       AS fee,
                   sum(CASE e.direction WHEN 'credit' THEN e.net_amount ELSE -e.net_amount END)
                       AS net,
                   count(*) AS event_count
              FROM cashflow_events e JOIN merchants m ON m.id = e.merchant_id
             WHERE m.status = 'active' AND {_IN_WINDOW}
             GROUP BY e.merchant_id, e.currency) AS t
    """
)

_LINK_EVENTS = text(
    f"""
    UPDATE cashflow_events e SET settlement_id = s.id
      FROM settlements s
     WHERE s.merchant_id = e.merchant_id AND s.currency = e.currency
       AND s.period_start = :period_start AND s.period_end = :period_end AND s.sequence = 1
       AND {_IN_WINDOW}
    """
)


def settle_at_the_limit(
    engine: Engine, *, period_start: date, period_end: date, actor_id: int, auto_post_limit: Decimal
) -> int:
    """Settle the window in two statements; return the number of events linked."""
    window_start, window_end = day_window(period_start, period_end)
    params = {
        "period_start": period_start,
        "period_end": period_end,
        "window_start": window_start,
        "window_end": window_end,
        "actor_id": actor_id,
        "auto_post_limit": auto_post_limit,
    }
    with engine.begin() as conn:
        conn.execute(_AGGREGATE_INSERT, params)
        return conn.execute(_LINK_EVENTS, params).rowcount
