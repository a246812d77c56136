"""Settled history: every event before the window is settled per merchant-day and paid out.

Built the way the settlement job would have left it, set-based: one settlement per
(merchant, currency, day) with signed totals (credits minus debits), posted by policy up to the
auto-post limit and by a checker above it; a payout per positive settlement once it is
posted, settled (so the settlement is paid) unless the story says otherwise for that
merchant-day. Stamps follow that order, so the seeded audit trail (trail.py) reads in time.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.clock import start_of_day
from ops_domain.config import Settings
from ops_domain.demo.plan import DemoPlan
from ops_domain.demo.rows import rows_param
from ops_domain.demo.volume import GENERATED_EVENTS, generator_params
from ops_domain.settlements.policy import auto_post_limit_params, auto_post_limit_sql

_OUTCOMES = """
    outcome AS (
        SELECT o.code, o.day, o.status
          FROM jsonb_to_recordset(CAST(:outcomes AS jsonb)) AS o(code text, day date, status text))
"""

_SETTLEMENTS = text(
    f"""
    WITH {_OUTCOMES},
    pending AS (
        SELECT e.merchant_id, e.currency, CAST(e.occurred_at AT TIME ZONE 'UTC' AS date) AS day,
               e.direction, e.amount, e.fee_amount AS fee
          FROM cashflow_events AS e
         WHERE e.settlement_id IS NULL AND e.occurred_at < :window_start
        UNION ALL
        SELECT g.merchant_id, g.currency, g.day, g.direction, g.amount, g.fee
          FROM ({GENERATED_EVENTS}) AS g
         WHERE g.day < CAST(:window_start AS date)),
    totals AS (
        SELECT merchant_id, currency, day,
               sum(CASE WHEN direction = 'credit' THEN amount ELSE -amount END) AS gross,
               sum(CASE WHEN direction = 'credit' THEN fee ELSE -fee END) AS fee,
               count(*) AS events
          FROM pending
         GROUP BY 1, 2, 3)
    INSERT INTO settlements (merchant_id, currency, period_start, period_end, sequence,
                             gross_amount, fee_amount, net_amount, event_count, status, maker_id,
                             approver_id, approval_source, approval_note, posted_at, paid_at,
                             created_at)
    SELECT t.merchant_id, t.currency, t.day, t.day, 1, t.gross, t.fee, t.gross - t.fee, t.events,
           CASE WHEN t.gross - t.fee > 0 AND o.status IS NULL THEN 'paid' ELSE 'posted' END,
           svc.id,
           CASE WHEN by_checker THEN checker.id END,
           CASE WHEN by_checker THEN 'checker' ELSE 'policy:auto_post' END,
           CASE WHEN by_checker THEN 'totals agreed with the acquirer statement' END,
           (CAST(t.day AS timestamp) + CASE WHEN by_checker THEN interval '1 day 08:30'
                                            ELSE interval '1 day 02:00' END) AT TIME ZONE 'UTC',
           CASE WHEN t.gross - t.fee > 0 AND o.status IS NULL
                THEN (CAST(t.day AS timestamp) + interval '1 day 15:00') AT TIME ZONE 'UTC' END,
           (CAST(t.day AS timestamp) + interval '1 day 02:00') AT TIME ZONE 'UTC'
      FROM totals AS t
      JOIN merchants AS m ON m.id = t.merchant_id
      LEFT JOIN outcome AS o ON o.code = m.code AND o.day = t.day
     CROSS JOIN LATERAL (SELECT t.gross - t.fee > {auto_post_limit_sql("t.currency")} AS by_checker)
           AS approval
     CROSS JOIN (SELECT id FROM users WHERE username = 'svc_airflow') AS svc
     CROSS JOIN (SELECT id FROM users WHERE username = 'rita') AS checker
     ORDER BY t.day, m.code
    """
)

_MARK_EVENTS = text(
    """
    UPDATE cashflow_events AS e
       SET settlement_id = s.id
      FROM settlements AS s
     WHERE e.settlement_id IS NULL
       AND e.occurred_at < :window_start
       AND s.merchant_id = e.merchant_id
       AND s.currency = e.currency
       AND e.occurred_at >= CAST(s.period_start AS timestamp) AT TIME ZONE 'UTC'
       AND e.occurred_at < CAST(s.period_end + 1 AS timestamp) AT TIME ZONE 'UTC'
    """
)

_PAYOUTS = text(
    f"""
    WITH {_OUTCOMES}
    INSERT INTO payouts (settlement_id, merchant_id, amount, currency, channel,
                         destination_account, status, attempt, maker_id, approved_by,
                         approved_at, sent_by, last_checker_id, last_note, failure_reason,
                         sent_at, settled_at, failed_at, created_at)
    SELECT s.id, s.merchant_id, s.net_amount, s.currency, m.channel, m.destination_account,
           p.status, 1, svc.id,
           CASE WHEN p.released AND p.two_checkers THEN adam.id END,
           CASE WHEN p.released AND p.two_checkers THEN day_after + interval '08:30' END,
           CASE WHEN p.released THEN rita.id END,
           CASE p.status WHEN 'pending' THEN NULL WHEN 'sent' THEN rita.id ELSE adam.id END,
           CASE p.status WHEN 'settled' THEN 'credited per bank statement'
                         WHEN 'sent' THEN 'released to the payout rail'
                         WHEN 'failed' THEN 'returned by the beneficiary bank' END,
           CASE WHEN p.status = 'failed'
                THEN 'beneficiary account closed (bank return code AC04)' END,
           CASE WHEN p.released THEN day_after + interval '09:00' END,
           CASE WHEN p.status = 'settled' THEN day_after + interval '15:00' END,
           CASE WHEN p.status = 'failed' THEN day_after + interval '16:00' END,
           s.posted_at + interval '5 minutes'
      FROM settlements AS s
      JOIN merchants AS m ON m.id = s.merchant_id
      LEFT JOIN outcome AS o ON o.code = m.code AND o.day = s.period_start
     CROSS JOIN LATERAL (
           SELECT coalesce(o.status, 'settled') AS status,
                  coalesce(o.status, 'settled') <> 'pending' AS released,
                  s.net_amount > coalesce(
                      CAST(CAST(:approval_limits AS jsonb) ->> s.currency AS numeric),
                      :approval_limit) AS two_checkers,
                  CAST(s.period_end + 1 AS timestamp) AT TIME ZONE 'UTC' AS day_after) AS p
     CROSS JOIN (SELECT id FROM users WHERE username = 'svc_airflow') AS svc
     CROSS JOIN (SELECT id FROM users WHERE username = 'rita') AS rita
     CROSS JOIN (SELECT id FROM users WHERE username = 'adam') AS adam
     WHERE s.net_amount > 0
     ORDER BY s.period_start, m.code
    """
)


def settle_history(
    session: Session, plan: DemoPlan, settings: Settings, outcomes: list[dict[str, object]]
) -> None:
    """Settle every merchant-day before the window: the story events already in the table
    and the volume events still to be generated (they are inserted afterwards, settled)."""
    window_start = start_of_day(plan.window[0])
    session.execute(
        _SETTLEMENTS,
        {
            "window_start": window_start,
            **auto_post_limit_params(settings),
            "outcomes": rows_param(outcomes),
            **generator_params(plan),
        },
    )
    session.execute(_MARK_EVENTS, {"window_start": window_start})


def pay_out_history(
    session: Session, settings: Settings, outcomes: list[dict[str, object]]
) -> None:
    """A payout per positive history settlement; ``outcomes`` lists the merchant-days
    (code, day, payout status) whose payout is still pending, sent or failed. Rita (risk)
    sent the released ones, Adam (admin) settled or failed them and gave the first approval
    of those above the second-approval limit."""
    session.execute(
        _PAYOUTS,
        {
            "outcomes": rows_param(outcomes),
            "approval_limit": settings.payout_second_approval_limit,
            "approval_limits": settings.payout_second_approval_limits_json(),
        },
    )
