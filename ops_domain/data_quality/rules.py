"""The data-quality rules of SPEC 5.8 as code: each rule names what it protects and the
Great Expectations checks that prove it, one declarative line per table/column.

Why check what the database already constrains? CHECK constraints and triggers guard the
writes this schema's code makes; a restore from an older dump, a superuser repair under
``session_replication_role = replica``, a dropped constraint in a hot fix or a bulk load
bypasses them. Cross-row rules (settlement totals, payout = settlement net, balanced
journals, the trial balance) cannot be a CHECK at all. The release gate re-proves the
invariants on the data as it is.

Row checks select the offending rows' key as ``id`` (ordered), so reports show examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ops_domain.accounting.models import APPROVAL_STATES as JOURNAL_APPROVAL_STATES
from ops_domain.accounting.models import ENTRY_STATES, PERIOD_STATES
from ops_domain.alerts.models import ALERT_STATES
from ops_domain.cases.models import CASE_STATES
from ops_domain.config import Settings
from ops_domain.disputes.models import CHARGEBACK_STATES, REFUND_STATES
from ops_domain.merchants.models import MERCHANT_STATUSES
from ops_domain.models import Base
from ops_domain.payouts.models import PAYOUT_STATES
from ops_domain.readiness.models import RELEASE_STATES, WAIVER_STATES
from ops_domain.reconciliation.models import BREAK_STATES, RESOLUTION_STATES
from ops_domain.settlements.models import EXCEPTION_STATES, SETTLEMENT_STATES

# The allowed values of every status column, taken from the models' own machines and tuples.
STATUS_ENUMS: Mapping[str, frozenset[str]] = {
    "merchants": frozenset(MERCHANT_STATUSES),
    "settlements": SETTLEMENT_STATES.states,
    "settlement_exceptions": EXCEPTION_STATES.states,
    "payouts": PAYOUT_STATES.states,
    "refund_requests": REFUND_STATES.states,
    "chargebacks": CHARGEBACK_STATES.states,
    "cases": CASE_STATES.states,
    "alerts": ALERT_STATES.states,
    "reconciliation_breaks": BREAK_STATES.states,
    "reconciliation_break_resolutions": RESOLUTION_STATES.states,
    "journal_entries": ENTRY_STATES.states,
    "journal_approvals": JOURNAL_APPROVAL_STATES.states,
    "accounting_periods": PERIOD_STATES.states,
    "readiness_waivers": WAIVER_STATES.states,
    "releases": RELEASE_STATES.states,
}

# (table, column, strictly positive?) for every amount whose sign the SPEC fixes. Settlement
# totals are signed (credits minus debits) and are covered by the totals rule instead.
SIGNED_AMOUNTS: tuple[tuple[str, str, bool], ...] = (
    ("cashflow_events", "amount", True),
    ("cashflow_events", "fee_amount", False),
    ("payouts", "amount", True),
    ("refund_requests", "amount", True),
    ("chargebacks", "amount", True),
    ("journal_lines", "debit", True),
    ("journal_lines", "credit", True),
)

# A payout may exist only once its settlement is approved: every settlement state but draft.
PAYABLE_SETTLEMENT_STATES = SETTLEMENT_STATES.states - {"draft"}

ROW_CHECK = "UnexpectedRowsExpectation"


@dataclass(frozen=True)
class Check:
    """One Great Expectations expectation over one table.

    ``expectation`` is the class name in ``great_expectations.expectations``; ``subject`` says
    what the example ids of a failure identify (``cashflow_events.id``, ``currency``).
    """

    table: str
    label: str
    expectation: str
    options: Mapping[str, Any]
    subject: str

    @property
    def is_row_check(self) -> bool:
        return self.expectation == ROW_CHECK


@dataclass(frozen=True)
class Rule:
    """A named business invariant (the stable name reports and tests use)."""

    name: str
    protects: str
    checks: tuple[Check, ...]


def no_rows(table: str, query: str, *, subject: str | None = None) -> Check:
    """Fail when ``query`` (over ``{batch}``, the table) returns any row."""
    return Check(
        table=table,
        label=table,
        expectation=ROW_CHECK,
        options={"unexpected_rows_query": query},
        subject=subject or f"{table}.id",
    )


def values_in(table: str, column: str, allowed: frozenset[str]) -> Check:
    return Check(
        table=table,
        label=f"{table}.{column}",
        expectation="ExpectColumnValuesToBeInSet",
        options={"column": column, "value_set": sorted(allowed)},
        subject=f"{table}.id",
    )


def values_above_zero(table: str, column: str, *, strictly: bool) -> Check:
    return Check(
        table=table,
        label=f"{table}.{column}",
        expectation="ExpectColumnValuesToBeBetween",
        options={"column": column, "min_value": 0, "strict_min": strictly},
        subject=f"{table}.id",
    )


def _sql_list(values: frozenset[str]) -> str:
    return ", ".join(f"'{value}'" for value in sorted(values))


EVENT_NET = Rule(
    "event_net_equals_amount_minus_fee",
    "an event's net is what the merchant is owed: amount minus fee, to the cent",
    (
        no_rows(
            "cashflow_events",
            "SELECT id FROM {batch} WHERE net_amount <> amount - fee_amount ORDER BY id",
        ),
    ),
)

SETTLEMENT_TOTALS = Rule(
    "settlement_totals_match_events",
    "a settlement's gross, fee, net and event count equal the signed sum of its own events"
    " (credits minus debits): nothing paid out that was not earned",
    (
        no_rows(
            "settlements",
            """
            SELECT s.id FROM {batch} s
            LEFT JOIN (
                SELECT settlement_id,
                       count(*) AS event_count,
                       sum(CASE direction WHEN 'credit' THEN amount
                                          WHEN 'debit' THEN -amount END) AS gross,
                       sum(CASE direction WHEN 'credit' THEN fee_amount
                                          WHEN 'debit' THEN -fee_amount END) AS fee,
                       sum(CASE direction WHEN 'credit' THEN net_amount
                                          WHEN 'debit' THEN -net_amount END) AS net
                  FROM cashflow_events WHERE settlement_id IS NOT NULL
                 GROUP BY settlement_id
            ) e ON e.settlement_id = s.id
            WHERE (s.gross_amount, s.fee_amount, s.net_amount, s.event_count)
                  IS DISTINCT FROM
                  (coalesce(e.gross, 0), coalesce(e.fee, 0), coalesce(e.net, 0),
                   coalesce(e.event_count, 0))
            ORDER BY s.id
            """,
        ),
    ),
)

PAYOUT_AMOUNT = Rule(
    "payout_amount_equals_settlement_net",
    "a payout sends exactly its settlement's net, in its currency, to its merchant",
    (
        no_rows(
            "payouts",
            """
            SELECT p.id FROM {batch} p JOIN settlements s ON s.id = p.settlement_id
            WHERE p.amount <> s.net_amount OR p.currency <> s.currency
               OR p.merchant_id <> s.merchant_id
            ORDER BY p.id
            """,
        ),
    ),
)

PAYOUT_POSTED = Rule(
    "payout_requires_posted_settlement",
    "no money leaves for a settlement a checker (or the auto-post policy) has not approved",
    (
        no_rows(
            "payouts",
            f"""
            SELECT p.id FROM {{batch}} p JOIN settlements s ON s.id = p.settlement_id
            WHERE s.status NOT IN ({_sql_list(PAYABLE_SETTLEMENT_STATES)})
            ORDER BY p.id
            """,
        ),
    ),
)

# One settlement_id column and a set-once trigger make "an event in two settlements"
# unrepresentable. What can still go wrong is an event linked to a settlement that could
# never have contained it: another merchant, another currency, or outside its window. Such
# an event was either settled under the wrong merchant or is missing from the right one.
EVENT_IN_ITS_SETTLEMENT = Rule(
    "settled_event_matches_its_settlement",
    "every settled event belongs to its settlement's merchant, currency and business-date"
    " window, so it is settled once and for the right merchant",
    (
        no_rows(
            "cashflow_events",
            """
            SELECT e.id FROM {batch} e JOIN settlements s ON s.id = e.settlement_id
            WHERE e.merchant_id <> s.merchant_id OR e.currency <> s.currency
               OR CAST(e.occurred_at AT TIME ZONE 'UTC' AS date)
                  NOT BETWEEN s.period_start AND s.period_end
            ORDER BY e.id
            """,
        ),
    ),
)

STATUSES = Rule(
    "statuses_within_enums",
    "every status is a state of its machine, so counters, gates and jobs see every row",
    tuple(values_in(table, "status", states) for table, states in STATUS_ENUMS.items()),
)

AMOUNTS = Rule(
    "amounts_non_negative",
    "money amounts are positive (fees non-negative): a sign error never reverses a flow",
    tuple(
        values_above_zero(table, column, strictly=strictly)
        for table, column, strictly in SIGNED_AMOUNTS
    ),
)

POSTED_JOURNALS = Rule(
    "posted_journals_balance",
    "every posted journal has at least two lines and equal, positive debits and credits",
    (
        no_rows(
            "journal_entries",
            """
            SELECT e.id FROM {batch} e LEFT JOIN journal_lines l ON l.entry_id = e.id
            WHERE e.status = 'posted'
            GROUP BY e.id
            HAVING count(l.id) < 2
                OR coalesce(sum(l.debit), 0) <> coalesce(sum(l.credit), 0)
                OR coalesce(sum(l.debit), 0) <= 0
            ORDER BY e.id
            """,
        ),
    ),
)

# Grouped by the account's currency, not the entry's: a line booked to an account in another
# currency balances its entry yet unbalances both currencies' books.
TRIAL_BALANCE = Rule(
    "trial_balance_nets_to_zero",
    "posted debits equal posted credits in every currency's ledger",
    (
        no_rows(
            "journal_lines",
            """
            SELECT a.currency AS id,
                   sum(coalesce(l.debit, 0)) - sum(coalesce(l.credit, 0)) AS imbalance
              FROM {batch} l
              JOIN journal_entries e ON e.id = l.entry_id AND e.status = 'posted'
              JOIN accounts a ON a.id = l.account_id
             GROUP BY a.currency
            HAVING sum(coalesce(l.debit, 0)) <> sum(coalesce(l.credit, 0))
             ORDER BY a.currency
            """,
            subject="currency",
        ),
    ),
)


def currency_columns() -> tuple[tuple[str, str], ...]:
    """Every (table, column) holding a currency code, read from the models."""
    return tuple(
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.name == "currency" or column.name.endswith("_currency")
    )


def currencies_rule(settings: Settings) -> Rule:
    return Rule(
        "currencies_enabled",
        "every money row is in a currency this platform settles (OPS_ENABLED_CURRENCIES)",
        tuple(
            values_in(table, column, settings.enabled_currencies)
            for table, column in currency_columns()
        ),
    )


def data_quality_rules(settings: Settings) -> tuple[Rule, ...]:
    """Every rule of SPEC 5.8, in report order."""
    return (
        EVENT_NET,
        SETTLEMENT_TOTALS,
        PAYOUT_AMOUNT,
        PAYOUT_POSTED,
        EVENT_IN_ITS_SETTLEMENT,
        STATUSES,
        AMOUNTS,
        currencies_rule(settings),
        POSTED_JOURNALS,
        TRIAL_BALANCE,
    )
