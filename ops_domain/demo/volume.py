"""The bulk of the demo: many ordinary merchants and their events, generated in SQL.

Pseudo-random values come from ``hashint8extended(key, seed)`` over the series indexes, so the
data depends only on (seed, scale, business date) and loads at database speed (INSERT ...
SELECT over ``generate_series``, no Python loop). The same generator feeds the history
settlements (as an aggregate) before the events themselves are inserted.

Every even-numbered event of a merchant-day may be a refund-like debit of half the sale just
before it, so each merchant-day nets positive while still carrying debits.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.demo.plan import HISTORY_DAYS, WINDOW_DAYS, DemoPlan

VOLUME_CODE_PREFIX = "M"

_MERCHANTS = text(
    """
    INSERT INTO merchants (code, name, status, settlement_currency, destination_account,
                           channel, created_at)
    SELECT 'M' || lpad(n::text, 6, '0'),
           (ARRAY['Sunrise', 'Harbor', 'Golden', 'Blue Lotus', 'Metro', 'Green Leaf', 'Nusantara',
                  'Alpine', 'Coral', 'Urban', 'Maple', 'Saffron', 'Nordic', 'Bright', 'Sakura',
                  'Atlas'])[1 + h.a % 16]
             || ' ' ||
           (ARRAY['Bakery', 'Pharmacy', 'Books', 'Coffee', 'Mart', 'Travel', 'Fashion', 'Garage',
                  'Florist', 'Telecom', 'Clinic', 'Games'])[1 + h.b % 12]
             || ' ' || n,
           'active',
           c.currency,
           c.currency || '-' || lpad((h.a % 100000000)::text, 8, '0'),
           CASE WHEN c.currency = 'IDR' THEN 'virtual_account'
                WHEN h.b % 4 = 0 THEN 'ewallet' ELSE 'bank_transfer' END,
           CAST(:opened AS timestamptz) + (n % 720) * interval '1 hour'
      FROM generate_series(1, :merchants) AS n
     CROSS JOIN LATERAL (
           SELECT hashint8extended(n, :seed) & 2147483647 AS a,
                  hashint8extended(n, :seed + 1) & 2147483647 AS b) AS h
     CROSS JOIN LATERAL (
           SELECT CASE WHEN n % 10 < 5 THEN 'USD' WHEN n % 10 < 8 THEN 'EUR' ELSE 'IDR' END
                  AS currency) AS c
     ORDER BY n
    """
)

# The generated events, as a subquery: (merchant_id, currency, day, flow_type, direction,
# amount, fee, occurred_at). Deterministic in (:seed, :per_day, :days, :first_day).
GENERATED_EVENTS = """
    SELECT m.id AS merchant_id, m.settlement_currency AS currency,
           CAST(:first_day AS date) + d AS day, e.flow_type, e.direction, e.amount,
           CASE WHEN kind.is_refund THEN 0
                ELSE round(e.amount * (150 + r.g % 130) / 10000.0, key.places) END AS fee,
           e.occurred_at
      FROM merchants AS m
     CROSS JOIN generate_series(0, :days - 1) AS d
     CROSS JOIN generate_series(1, :per_day) AS j
     CROSS JOIN LATERAL (
           SELECT substr(m.code, 2)::bigint * 100000 + d * 1000 + j AS k,
                  CASE m.settlement_currency WHEN 'IDR' THEN 15000 ELSE 1 END AS factor,
                  CASE m.settlement_currency WHEN 'IDR' THEN 0 ELSE 2 END AS places) AS key
     CROSS JOIN LATERAL (
           SELECT hashint8extended(key.k, :seed) & 2147483647 AS h,
                  hashint8extended(key.k - 1, :seed) & 2147483647 AS h_sale,
                  hashint8extended(key.k, :seed + 7) & 2147483647 AS g) AS r
     CROSS JOIN LATERAL (SELECT j % 2 = 0 AND r.g % 100 < 12 AS is_refund) AS kind
     CROSS JOIN LATERAL (
           SELECT CASE WHEN kind.is_refund THEN 'debit' ELSE 'credit' END AS direction,
                  CASE WHEN kind.is_refund THEN 'b2c'
                       ELSE (ARRAY['c2b', 'c2b', 'c2b', 'c2b', 'c2b', 'b2b', 'p2g',
                                   'g2p'])[1 + r.g % 8] END AS flow_type,
                  round(CASE WHEN kind.is_refund THEN (500 + r.h_sale % 24500) / 200.0
                             ELSE (500 + r.h % 24500) / 100.0 END * key.factor,
                        key.places) AS amount,
                  (CAST(:first_day AS timestamp) + d * interval '1 day'
                     + ((j - 1) * (86400 / :per_day) + r.h % (86400 / :per_day))
                       * interval '1 second') AT TIME ZONE 'UTC' AS occurred_at) AS e
     WHERE m.code LIKE 'M%'
"""

# History events go in already settled: their settlements were built from the same
# generator (see history.py), so no bulk UPDATE of a million rows is needed.
_EVENTS = text(
    f"""
    INSERT INTO cashflow_events (merchant_id, flow_type, direction, amount, fee_amount,
                                 net_amount, currency, occurred_at, settlement_id, created_at)
    SELECT g.merchant_id, g.flow_type, g.direction, g.amount, g.fee, g.amount - g.fee,
           g.currency, g.occurred_at, s.id, g.occurred_at + interval '3 seconds'
      FROM ({GENERATED_EVENTS}) AS g
      LEFT JOIN settlements AS s
             ON s.merchant_id = g.merchant_id AND s.currency = g.currency
            AND s.period_start = g.day AND s.period_end = g.day AND s.sequence = 1
    """
)


def generator_params(plan: DemoPlan) -> dict[str, object]:
    return {
        "days": HISTORY_DAYS + WINDOW_DAYS,
        "per_day": plan.scale.events_per_day,
        "seed": plan.seed,
        "first_day": plan.first_history_day,
    }


def insert_volume_merchants(session: Session, plan: DemoPlan) -> None:
    session.execute(
        _MERCHANTS,
        {"merchants": plan.scale.merchants, "seed": plan.seed, "opened": plan.at(-400, 0)},
    )


def insert_volume_events(session: Session, plan: DemoPlan) -> None:
    """Every volume event of every demo day; history days join their settlement."""
    session.execute(_EVENTS, generator_params(plan))
