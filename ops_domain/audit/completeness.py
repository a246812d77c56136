"""Audit completeness: every state change recorded in a domain table has its audit row.

Each rule reads a domain table and derives, from the record's own columns (status, stamps,
attempt counter), how many audit rows of one action it must have; a record with another
number (missing, or duplicated) breaks the rule. ``exact`` rules count precisely; the others
(where the record cannot tell how many transitions it went through) require at least one.

The rules, as the services write them:

- settlement: one ``settlement.create``; one ``settlement.post`` once posted; one
  ``settlement.pay`` once paid.
- payout: one ``payout.create``; ``attempt - 1`` resubmissions, each preceded by a send and a
  fail, plus the current attempt's send (sent, settled or failed), fail and settle.
- refund request: one ``refund.request``; one ``refund.escalate`` once escalated; one
  ``refund.approve`` / ``refund.reject`` / ``refund.execute`` / ``refund.fail`` per decision its
  status implies.
- journal entry: one ``journal.create``; one ``journal.post`` once posted; one ``journal.void``.
- chargeback, case: at least one transition row once they left ``open`` (for a case, a
  ``case.transition`` or the escalation jobs' ``case.escalate``).
- accounting period: at least one ``accounting_period.close`` once closed, one
  ``accounting_period.reopen`` once re-opened.
- job run: a finished real run has its ``job.<name>.<outcome>`` row.

A window selects records whose latest stamp falls in it; their audit rows are counted
whenever they were written.

The other way round, an audit row naming a record of one of these kinds that does not exist
records a change that never happened (a forged row): each kind reports the first such row
written in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text

from ops_domain.audit.actions import (
    ACCOUNTING_PERIOD_CLOSE,
    ACCOUNTING_PERIOD_REOPEN,
    CASE_ESCALATE,
    CASE_TRANSITION,
    CHARGEBACK_TRANSITION,
    JOURNAL_CREATE,
    JOURNAL_POST,
    JOURNAL_VOID,
    PAYOUT_CREATE,
    PAYOUT_FAIL,
    PAYOUT_RESUBMIT,
    PAYOUT_SEND,
    PAYOUT_SETTLE,
    REFUND_APPROVE,
    REFUND_ESCALATE,
    REFUND_EXECUTE,
    REFUND_FAIL,
    REFUND_REJECT,
    REFUND_REQUEST,
    SETTLEMENT_CREATE,
    SETTLEMENT_PAY,
    SETTLEMENT_POST,
    in_sql,
    job_outcome_sql,
)
from ops_domain.audit.targets import AUDIT_TARGET_ID
from ops_domain.db import transaction


@dataclass(frozen=True)
class Expectation:
    """``count_sql`` audit rows of action ``action_sql`` (SQL over the record ``t``); an
    ``also_counts`` action is an alternative spelling of the same change."""

    action_sql: str
    count_sql: str
    exact: bool = True
    also_counts: str | None = None


@dataclass(frozen=True)
class Rule:
    kind: str
    table: str
    target_type: str
    moment_sql: str
    reference_sql: str
    expectations: tuple[Expectation, ...]


def _once(action: str, condition: str = "true", *, exact: bool = True) -> Expectation:
    return Expectation(in_sql(action), f"CASE WHEN {condition} THEN 1 ELSE 0 END", exact)


RULES = (
    Rule(
        "settlement",
        "settlements",
        "settlement",
        "greatest(t.created_at, t.posted_at, t.paid_at)",
        "t.settlement_no",
        (
            _once(SETTLEMENT_CREATE),
            _once(SETTLEMENT_POST, "t.posted_at IS NOT NULL"),
            _once(SETTLEMENT_PAY, "t.paid_at IS NOT NULL"),
        ),
    ),
    Rule(
        "payout",
        "payouts",
        "payout",
        "greatest(t.created_at, t.sent_at, t.settled_at, t.failed_at)",
        "t.payout_reference",
        (
            _once(PAYOUT_CREATE),
            Expectation(
                in_sql(PAYOUT_SEND),
                "t.attempt - 1 + CASE WHEN t.status <> 'pending' THEN 1 ELSE 0 END",
            ),
            Expectation(
                in_sql(PAYOUT_FAIL),
                "t.attempt - 1 + CASE WHEN t.status = 'failed' THEN 1 ELSE 0 END",
            ),
            Expectation(in_sql(PAYOUT_RESUBMIT), "t.attempt - 1"),
            _once(PAYOUT_SETTLE, "t.status = 'settled'"),
        ),
    ),
    Rule(
        "refund request",
        "refund_requests",
        "refund_request",
        "greatest(t.created_at, t.escalated_at, t.decided_at)",
        "t.refund_no",
        (
            _once(REFUND_REQUEST),
            _once(REFUND_ESCALATE, "t.escalated_at IS NOT NULL"),
            _once(REFUND_APPROVE, "t.status IN ('approved', 'executed', 'failed')"),
            _once(REFUND_REJECT, "t.status = 'rejected'"),
            _once(REFUND_EXECUTE, "t.status = 'executed'"),
            _once(REFUND_FAIL, "t.status = 'failed'"),
        ),
    ),
    Rule(
        "journal entry",
        "journal_entries",
        "journal_entry",
        "greatest(t.created_at, t.posted_at)",
        "t.entry_no",
        (
            _once(JOURNAL_CREATE),
            _once(JOURNAL_POST, "t.status = 'posted'"),
            _once(JOURNAL_VOID, "t.status = 'void'"),
        ),
    ),
    Rule(
        "chargeback",
        "chargebacks",
        "chargeback",
        "greatest(t.created_at, t.last_transition_at)",
        "t.chargeback_no",
        (_once(CHARGEBACK_TRANSITION, "t.status <> 'open'", exact=False),),
    ),
    Rule(
        "case",
        "cases",
        "case",
        "greatest(t.created_at, t.updated_at)",
        "t.case_no",
        (
            Expectation(
                in_sql(CASE_TRANSITION),
                "CASE WHEN t.status <> 'open' THEN 1 ELSE 0 END",
                exact=False,
                also_counts=CASE_ESCALATE,  # the escalation jobs' transition to escalated
            ),
        ),
    ),
    Rule(
        "accounting period",
        "accounting_periods",
        "accounting_period",
        "greatest(t.closed_at, t.reopened_at)",
        "t.currency || ' ' || t.period_start || '..' || t.period_end",
        (
            _once(ACCOUNTING_PERIOD_CLOSE, "t.closed_at IS NOT NULL", exact=False),
            _once(ACCOUNTING_PERIOD_REOPEN, "t.reopened_at IS NOT NULL", exact=False),
        ),
    ),
    Rule(
        "job run",
        "job_runs",
        "job_run",
        "t.finished_at",
        "t.job_name || ' run #' || t.id",
        (
            Expectation(
                job_outcome_sql("t.job_name", "t.outcome"),
                "CASE WHEN t.outcome <> 'running' AND NOT t.dry_run THEN 1 ELSE 0 END",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class MissingLink:
    """A record whose audit rows of ``action`` number ``found`` instead of ``expected``
    (``expected`` 0 and reference ``(no such record)``: rows naming a record that does not
    exist)."""

    kind: str
    record_id: int | None
    reference: str
    action: str
    expected: int
    found: int
    total: int  # records breaking the same expectation

    def describe(self) -> str:
        wanted = f"{self.expected}" if self.expected else "no"
        return (
            f"{self.kind} #{self.record_id} ({self.reference}) has {self.found} {self.action}"
            f" audit row(s), expected {wanted}"
            + (f" ({self.total - 1} more like it)" if self.total > 1 else "")
        )


def _rule_sql(rule: Rule) -> str:
    """The first record breaking each expectation of ``rule`` (one row per broken
    expectation, in the rule's order): the rule's audit rows are counted once for all."""
    expectations = ", ".join(
        f"({n}, {e.action_sql}, CAST({_quoted(e.also_counts)} AS text), {e.count_sql},"
        f" {'true' if e.exact else 'false'})"
        for n, e in enumerate(rule.expectations)
    )
    return f"""
        WITH audited AS (
            SELECT target_id, action, count(*) AS found
              FROM audit_log WHERE target_type = :target_type
             GROUP BY target_id, action
        ),
        expected AS (
            SELECT t.id, CAST({rule.reference_sql} AS text) AS reference, e.n, e.action,
                   e.also_counts, e.expected, e.exact
              FROM {rule.table} t
             CROSS JOIN LATERAL (VALUES {expectations})
                   AS e(n, action, also_counts, expected, exact)
             WHERE (CAST(:since AS timestamptz) IS NULL OR {rule.moment_sql} >= :since)
               AND (CAST(:until AS timestamptz) IS NULL OR {rule.moment_sql} < :until)
        ),
        broken AS (
            SELECT e.n, e.id, e.reference, e.action, e.expected,
                   coalesce(sum(a.found), 0)::int AS found
              FROM expected e
              LEFT JOIN audited a
                ON a.target_id = e.id::text
               AND (a.action = e.action OR a.action = e.also_counts)
             GROUP BY e.n, e.id, e.reference, e.action, e.expected, e.exact
            HAVING CASE WHEN e.exact THEN coalesce(sum(a.found), 0) <> e.expected
                        ELSE coalesce(sum(a.found), 0) < e.expected END
        )
        SELECT DISTINCT ON (n) id AS record_id, reference, action, expected, found,
               count(*) OVER (PARTITION BY n) AS total
          FROM broken
         ORDER BY n, id
    """


def _quoted(value: str | None) -> str:
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def _orphan_sql(rule: Rule) -> str:
    return f"""
        SELECT {AUDIT_TARGET_ID} AS record_id,
               '(no such record)' AS reference, a.action, 0 AS expected,
               count(*) OVER (PARTITION BY a.target_id, a.action)::int AS found,
               count(*) OVER ()::int AS total
          FROM audit_log a
         WHERE a.target_type = :target_type
           AND (CAST(:since AS timestamptz) IS NULL OR a.created_at >= :since)
           AND (CAST(:until AS timestamptz) IS NULL OR a.created_at < :until)
           AND NOT EXISTS (SELECT 1 FROM {rule.table} t WHERE t.id = {AUDIT_TARGET_ID})
         ORDER BY a.id
         LIMIT 1
    """


_WORK_MEM = text("SELECT set_config('work_mem', '128MB', true)")


def missing_audit_links(
    engine: Engine, *, since: datetime | None = None, until: datetime | None = None
) -> list[MissingLink]:
    """The first record breaking each expectation of every rule (empty: the log is complete)."""
    missing = []
    with transaction(engine) as session:
        session.execute(_WORK_MEM)  # the counts per record group in memory, not on disk
        for rule in RULES:
            missing += [
                MissingLink(rule.kind, **row._asdict())
                for row in session.execute(
                    text(_rule_sql(rule)),
                    {"since": since, "until": until, "target_type": rule.target_type},
                )
            ]
            orphan = session.execute(
                text(_orphan_sql(rule)),
                {"since": since, "until": until, "target_type": rule.target_type},
            ).first()
            if orphan is not None:
                missing.append(MissingLink(rule.kind, **orphan._asdict()))
    return missing


def rule_count() -> int:
    """Expectations, plus one "names an existing record" rule per kind."""
    return sum(len(rule.expectations) + 1 for rule in RULES)
