"""The bench data: a back office at ``scale`` x (250,000 events over 2,500 merchants).

Everything is generated in SQL (INSERT ... SELECT over ``generate_series``, pseudo-random
values from ``hashint8extended``), so a million events load at database speed and the data
depends only on the scale and the bench clock. Per scale unit:

- 2,500 merchants (2 % suspended or inactive: their events stay unsettled), 100 unsettled
  events each on the business day; 0.5 % of merchants mostly refund (negative net).
- 25,000 refund requests (one per tenth event): 25 % pending past their SLA, 25 % pending in
  time, half decided; half of them have a refund case (12,500 cases).
- 10,000 operation cases, 60 % open or in progress, half of those past their SLA.
- 5,000 alerts, 2,500 reconciliation breaks (current month, most older than the 12 h SLA).
- 125,000 journal entries with 2 lines each (250,000 lines): 90 % posted in the previous month
  (the period the bench closes), the rest in the current month (posted, draft, void), with
  pending approvals on half the drafts.

The load runs with ``session_replication_role = replica`` (superuser only): row triggers and
foreign-key triggers do not fire, so journal entries are inserted already posted instead of
drafted and posted one by one through the balance trigger. CHECK constraints still apply, and
the data-quality suite the bench runs afterwards validates the loaded books (posted journals
balance, trial balance nets to zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, text

from ops_domain.accounting.accounts import STANDARD_CHART

EVENTS_PER_SCALE = 250_000
MERCHANTS_PER_SCALE = 2_500
SEED = 20261124


@dataclass(frozen=True)
class BenchClock:
    """The instant the bench pretends it is, and the dates derived from it."""

    now: datetime

    @classmethod
    def at(cls, moment: datetime) -> BenchClock:
        return cls(moment.astimezone(UTC).replace(second=0, microsecond=0))

    @property
    def business_day(self) -> date:
        """The day being settled: the one that just ended."""
        return self.now.date() - timedelta(days=1)

    @property
    def month_start(self) -> date:
        return self.now.date().replace(day=1)

    @property
    def previous_month(self) -> tuple[date, date]:
        end = self.month_start - timedelta(days=1)
        return end.replace(day=1), end


@dataclass(frozen=True)
class Sizes:
    """Row counts of one scale."""

    scale: int

    @property
    def merchants(self) -> int:
        return MERCHANTS_PER_SCALE * self.scale

    @property
    def events(self) -> int:
        return EVENTS_PER_SCALE * self.scale

    @property
    def operation_cases(self) -> int:
        return 4 * self.merchants

    @property
    def alerts(self) -> int:
        return 2 * self.merchants

    @property
    def breaks(self) -> int:
        return self.merchants

    @property
    def journal_entries(self) -> int:
        return 50 * self.merchants


CURRENCY_OF = "CASE WHEN {m} % 10 < 5 THEN 'USD' WHEN {m} % 10 < 8 THEN 'EUR' ELSE 'IDR' END"
CURRENCY_INDEX = "CASE WHEN {m} % 10 < 5 THEN 0 WHEN {m} % 10 < 8 THEN 1 ELSE 2 END"
CURRENCIES = ("USD", "EUR", "IDR")

_MERCHANTS = f"""
    INSERT INTO merchants (id, code, name, status, settlement_currency, destination_account,
                           channel, created_at)
    SELECT n, 'B' || lpad(n::text, 7, '0'), 'Bench merchant ' || n,
           CASE n % 100 WHEN 37 THEN 'suspended' WHEN 73 THEN 'inactive' ELSE 'active' END,
           c.currency, c.currency || '-' || lpad(n::text, 10, '0'),
           CASE WHEN c.currency = 'IDR' THEN 'virtual_account'
                WHEN n % 4 = 0 THEN 'ewallet' ELSE 'bank_transfer' END,
           CAST(:now AS timestamptz) - interval '400 days'
      FROM generate_series(1, :merchants) AS n
     CROSS JOIN LATERAL (SELECT {CURRENCY_OF.format(m="n")} AS currency) AS c
"""

_EVENTS = f"""
    INSERT INTO cashflow_events (id, merchant_id, flow_type, direction, amount, fee_amount,
                                 net_amount, currency, occurred_at, external_ref, created_at)
    SELECT n, k.m, f.flow_type, f.direction, a.amount, f.fee, a.amount - f.fee, c.currency,
           f.occurred_at, 'EXT-' || n, f.occurred_at + interval '2 seconds'
      FROM generate_series(1, :events) AS n
     CROSS JOIN LATERAL (
           SELECT 1 + (n - 1) % :merchants AS m,
                  hashint8extended(n, :seed) & 2147483647 AS h) AS k
     CROSS JOIN LATERAL (
           SELECT {CURRENCY_OF.format(m="k.m")} AS currency,
                  CASE WHEN k.m % 10 >= 8 THEN 15000 ELSE 1 END AS factor,
                  CASE WHEN k.m % 10 >= 8 THEN 0 ELSE 2 END AS places,
                  k.h % 100 < CASE WHEN k.m % 200 = 11 THEN 80 ELSE 12 END AS is_debit) AS c
     CROSS JOIN LATERAL (
           SELECT round((100 + (k.h / 100) % 24900) / 100.0 * c.factor, c.places) AS amount) AS a
     CROSS JOIN LATERAL (
           SELECT CASE WHEN c.is_debit THEN 'debit' ELSE 'credit' END AS direction,
                  CASE WHEN c.is_debit THEN 'b2c'
                       ELSE (ARRAY['c2b', 'c2b', 'c2b', 'b2b', 'p2g', 'g2p'])[1 + (k.h / 7) % 6]
                  END AS flow_type,
                  CASE WHEN c.is_debit THEN 0 ELSE round(a.amount * 0.015, c.places) END AS fee,
                  CAST(:day_start AS timestamptz)
                      + ((k.h / 13) % 86400) * interval '1 second' AS occurred_at) AS f
"""

# Refund cases take the ids 1..events/20 (case id = event id / 20), operation cases follow.
_REFUND_CASES = """
    INSERT INTO cases (id, case_type, priority, status, title, merchant_id, sla_due_at,
                       created_by, created_at)
    SELECT e.id / 20, 'refund', 'medium', 'open', 'Refund dispute on event ' || e.id,
           e.merchant_id, CAST(:now AS timestamptz) + interval '3 days', :maker,
           CAST(:now AS timestamptz) - interval '1 day'
      FROM cashflow_events e
     WHERE e.id % 20 = 0
"""

_OPERATION_CASES = """
    INSERT INTO cases (id, case_type, priority, status, title, merchant_id, sla_due_at,
                       created_by, created_at)
    SELECT :first_id + n,
           (ARRAY['complaint', 'dispute', 'incident'])[1 + n % 3],
           (ARRAY['low', 'medium', 'high', 'critical'])[1 + (n / 3) % 4],
           (ARRAY['open', 'open', 'open', 'open', 'in_progress', 'in_progress', 'resolved',
                  'resolved', 'closed', 'closed'])[1 + n % 10],
           'Operation case ' || n, 1 + n % :merchants,
           CASE (n / 10) % 4 WHEN 0 THEN CAST(:now AS timestamptz) - interval '2 hours'
                             WHEN 1 THEN NULL
                             ELSE CAST(:now AS timestamptz) + interval '2 days' END,
           :maker, CAST(:now AS timestamptz) - interval '2 days' - (n % 48) * interval '1 hour'
      FROM generate_series(1, :cases) AS n
"""

_REFUNDS = """
    INSERT INTO refund_requests (case_id, merchant_id, customer_ref, source_event_id, amount,
                                 currency, reason, status, maker_id, checker_id, checker_note,
                                 sla_due_at, decided_at, created_at)
    SELECT CASE WHEN e.id % 20 = 0 THEN e.id / 20 END, e.merchant_id, 'CUST-' || e.id, e.id,
           round(e.amount / 2, CASE e.currency WHEN 'IDR' THEN 0 ELSE 2 END), e.currency,
           'Customer disputes the charge',
           (ARRAY['pending', 'pending', 'approved', 'rejected'])[1 + q.q],
           :maker, CASE WHEN q.q >= 2 THEN :checker END, CASE WHEN q.q >= 2 THEN 'checked' END,
           s.sla_due_at, CASE WHEN q.q >= 2 THEN CAST(:now AS timestamptz) END,
           s.sla_due_at - interval '48 hours'
      FROM cashflow_events e
     CROSS JOIN LATERAL (SELECT (e.id / 10) % 4 AS q) AS q
     CROSS JOIN LATERAL (
           SELECT CAST(:now AS timestamptz)
                  + CASE WHEN q.q = 0 THEN -1 ELSE 1 END * (1 + e.id % 47) * interval '1 hour'
                  AS sla_due_at) AS s
     WHERE e.id % 10 = 0
"""

_ALERTS = """
    INSERT INTO alerts (alert_type, severity, status, title, message, merchant_id, target_type,
                        target_id, dedupe_key, created_at, closed_by, closed_at)
    SELECT 'bench_signal', (ARRAY['low', 'medium', 'high', 'critical'])[1 + n % 4],
           (ARRAY['open', 'in_review', 'closed'])[1 + (n / 4) % 3], 'Bench signal ' || n, '',
           1 + n % :merchants, 'merchant', (1 + n % :merchants)::text, 'bench_signal:' || n,
           CAST(:now AS timestamptz) - (n % 72) * interval '1 hour',
           CASE WHEN (n / 4) % 3 = 2 THEN :checker END,
           CASE WHEN (n / 4) % 3 = 2 THEN CAST(:now AS timestamptz) END
      FROM generate_series(1, :alerts) AS n
"""

# One reconciliation run per currency and day of the last week (within the current month).
_RECON_RUNS = """
    INSERT INTO reconciliation_runs (id, currency, window_start, window_end, internal_total,
                                     external_total, internal_count, external_count,
                                     statement_source, created_by, created_at)
    SELECT (c.position - 1) * 7 + d + 1, c.currency, r.day, r.day, 1000, 1000, 10, 10,
           'bench statement', :maker, CAST(:now AS timestamptz) - interval '3 days'
      FROM unnest(CAST(:currencies AS text[])) WITH ORDINALITY AS c(currency, position)
     CROSS JOIN generate_series(0, 6) AS d
     CROSS JOIN LATERAL (SELECT greatest(CAST(:month_start AS date), CAST(:today AS date) - d)
                         AS day) AS r
"""

_BREAKS = """
    INSERT INTO reconciliation_breaks (run_id, category, status, currency, merchant_id,
                                       business_date, difference, created_at)
    SELECT r.id,
           (ARRAY['amount_mismatch', 'missing_external', 'missing_internal', 'duplicate',
                  'timing_cutoff'])[1 + n % 5],
           (ARRAY['open', 'open', 'open', 'in_review', 'resolved'])[1 + (n / 21) % 5],
           r.currency, NULL, r.window_start, 12.34,
           CAST(:now AS timestamptz) - (n % 72) * interval '1 hour'
      FROM generate_series(1, :breaks) AS n
      JOIN reconciliation_runs r ON r.id = 1 + n % 21
"""

# (debit, credit) positions in STANDARD_CHART: fees, payouts, bank charges, reclass.
ENTRY_PAIRS = "ARRAY[[2, 6], [3, 1], [7, 1], [2, 3]]"

# Account id = currency index * 8 + chart position (1-based).
_ACCOUNTS = """
    INSERT INTO accounts (id, code, name, account_type, currency)
    SELECT (c.position - 1) * 8 + a.position, a.code, a.name, a.kind, c.currency
      FROM unnest(CAST(:currencies AS text[])) WITH ORDINALITY AS c(currency, position)
     CROSS JOIN unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:kinds AS text[]))
           WITH ORDINALITY AS a(code, name, kind, position)
"""

_PERIODS = """
    INSERT INTO accounting_periods (currency, period_start, period_end, created_at)
    SELECT c.currency, p.period_start, p.period_end, CAST(:now AS timestamptz) - interval '60 days'
      FROM unnest(CAST(:currencies AS text[])) AS c(currency)
     CROSS JOIN (VALUES (CAST(:previous_start AS date), CAST(:previous_end AS date)),
                        (CAST(:month_start AS date), CAST(:month_end AS date)))
           AS p(period_start, period_end)
"""

# kind 0..17 (90 %): posted in the previous month; 18: posted this month; 19: this month,
# four drafts for one void.
_ENTRY_SHAPE = f"""
    CROSS JOIN LATERAL (SELECT {CURRENCY_INDEX.format(m="n")} AS ci, (n / 10) % 20 AS kind) AS k
    CROSS JOIN LATERAL (
          SELECT CASE WHEN k.kind < 18 THEN 'posted' WHEN k.kind = 18 THEN 'posted'
                      WHEN (n / 200) % 5 < 4 THEN 'draft' ELSE 'void' END AS status,
                 CASE WHEN k.kind < 18
                      THEN CAST(:previous_start AS date) + n % :previous_days
                      ELSE CAST(:month_start AS date) + n % :month_days END AS entry_date) AS s
"""

_ENTRIES = f"""
    INSERT INTO journal_entries (id, entry_date, currency, status, description, maker_id,
                                 posted_by, posted_at, void_note, created_at)
    SELECT n, s.entry_date, (CAST(:currencies AS text[]))[1 + k.ci], s.status,
           'Bench entry ' || n, :maker,
           CASE WHEN s.status = 'posted' THEN :checker END,
           CASE WHEN s.status = 'posted' THEN s.entry_date + interval '10 hours' END,
           CASE WHEN s.status = 'void' THEN 'bench duplicate' END,
           s.entry_date + interval '9 hours'
      FROM generate_series(1, :entries) AS n
    {_ENTRY_SHAPE}
"""

_LINES = f"""
    INSERT INTO journal_lines (entry_id, account_id, debit, credit, memo)
    SELECT n, k.ci * 8 + ({ENTRY_PAIRS})[1 + n % 4][side.i],
           CASE WHEN side.i = 1 THEN a.amount END, CASE WHEN side.i = 2 THEN a.amount END,
           'bench'
      FROM generate_series(1, :entries) AS n
    {_ENTRY_SHAPE}
     CROSS JOIN LATERAL (
           SELECT round((100 + (hashint8extended(n, :seed) & 2147483647) % 99900) / 100.0
                        * CASE k.ci WHEN 2 THEN 15000 ELSE 1 END,
                        CASE k.ci WHEN 2 THEN 0 ELSE 2 END) AS amount) AS a
     CROSS JOIN (VALUES (1), (2)) AS side(i)
"""

_APPROVALS = """
    INSERT INTO journal_approvals (entry_id, kind, status, requested_by, requested_at)
    SELECT e.id, 'post', 'pending', :maker,
           CAST(:now AS timestamptz) - (e.id % 24) * interval '1 hour'
      FROM journal_entries e
     WHERE e.status = 'draft' AND e.id % 2 = 0
"""

SETTLEMENT_DATA = (_MERCHANTS, _EVENTS, _ACCOUNTS, _PERIODS)
ALL_DATA = (
    _MERCHANTS,
    _EVENTS,
    _REFUND_CASES,
    _OPERATION_CASES,
    _REFUNDS,
    _ALERTS,
    _RECON_RUNS,
    _BREAKS,
    _ACCOUNTS,
    _PERIODS,
    _ENTRIES,
    _LINES,
    _APPROVALS,
)

_EXPLICIT_ID_TABLES = (
    "merchants",
    "cashflow_events",
    "cases",
    "reconciliation_runs",
    "accounts",
    "journal_entries",
)


def generate(
    conn: Connection,
    sizes: Sizes,
    clock: BenchClock,
    users: dict[str, int],
    *,
    settlement_only: bool = False,
) -> None:
    """Load one scale's data into an empty, migrated database (one transaction);
    ``settlement_only``: the merchants, their events and the books' accounts and periods, what
    a settlement run reads (``make bench-large``)."""
    previous_start, previous_end = clock.previous_month
    month_end = (clock.month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    params = {
        "now": clock.now,
        "seed": SEED,
        "merchants": sizes.merchants,
        "events": sizes.events,
        "cases": sizes.operation_cases,
        "first_id": sizes.events // 20,
        "alerts": sizes.alerts,
        "breaks": sizes.breaks,
        "entries": sizes.journal_entries,
        "maker": users["maker"],
        "checker": users["checker"],
        "currencies": list(CURRENCIES),
        "codes": [code for code, _, _ in STANDARD_CHART],
        "names": [name for _, name, _ in STANDARD_CHART],
        "kinds": [kind for _, _, kind in STANDARD_CHART],
        "day_start": datetime.combine(clock.business_day, datetime.min.time(), tzinfo=UTC),
        "today": clock.now.date(),
        "month_start": clock.month_start,
        "month_end": month_end,
        "month_days": (clock.now.date() - clock.month_start).days + 1,
        "previous_start": previous_start,
        "previous_end": previous_end,
        "previous_days": (previous_end - previous_start).days + 1,
    }
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    conn.execute(text("SET LOCAL synchronous_commit = off"))
    for statement in SETTLEMENT_DATA if settlement_only else ALL_DATA:
        conn.execute(text(statement), params)
    for table in _EXPLICIT_ID_TABLES:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
        )
