"""The audit trail of the seeded history: the rows the services would have written.

The seed writes business state directly (set-based), so every state it implies is given the
audit row its service writes (SPEC §2: every state change has one), in one INSERT ... SELECT
over the rows just seeded: same action, target and actor as the service, ``created_at`` the
record's own stamp, details ``{"source": "seed_demo"}``. The rows are inserted in the order
of those stamps, so their ids follow history. ``audit verify`` checks them with its
completeness rules.

Who did what, where the record does not say: the Airflow service account runs the jobs
(settlement, payout creation, refund escalation, alerts), the payout columns name its
checkers, Tina (treasury) executes refunds, Rita (risk) moves chargebacks, a case's
transition is by its latest note's author (else its creator), and a journal is voided by its
maker when it was made.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import (
    ACCOUNTING_PERIOD_CLOSE,
    ALERT_RAISE,
    ALERT_UPDATE,
    CASE_OPEN,
    CASE_TRANSITION,
    CHARGEBACK_TRANSITION,
    JOURNAL_CREATE,
    JOURNAL_POST,
    JOURNAL_VOID,
    PAYOUT_APPROVE,
    PAYOUT_CREATE,
    PAYOUT_FAIL,
    PAYOUT_FREEZE,
    PAYOUT_FREEZE_LIFT,
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
)

_SERVICE, _TREASURY, _RISK = "svc_airflow", "tina", "rita"

# Each branch: (at, step, action, actor_id, target_type, target_id, before, after); ``step``
# orders the changes of one record made at the same instant.
_BRANCHES = (
    # settlements: created as drafts by the job, posted by policy or a checker, paid on payout
    f"""
    SELECT s.created_at, 1, {in_sql(SETTLEMENT_CREATE)}, s.maker_id, 'settlement', s.id,
           NULL::jsonb,
           jsonb_build_object('status', 'draft', 'net_amount', s.net_amount::text,
                              'event_count', s.event_count, 'sequence', s.sequence)
      FROM settlements s
    """,
    f"""
    SELECT s.posted_at, 2, {in_sql(SETTLEMENT_POST)},
           coalesce(s.approver_id, s.maker_id), 'settlement',
           s.id, jsonb_build_object('status', 'draft'),
           jsonb_build_object('status', 'posted', 'approval_source', s.approval_source)
      FROM settlements s WHERE s.posted_at IS NOT NULL
    """,
    f"""
    SELECT s.paid_at, 4, {in_sql(SETTLEMENT_PAY)},
           coalesce(p.last_checker_id, s.maker_id), 'settlement',
           s.id, jsonb_build_object('status', 'posted'), jsonb_build_object('status', 'paid')
      FROM settlements s LEFT JOIN payouts p ON p.settlement_id = s.id
     WHERE s.paid_at IS NOT NULL
    """,
    # payouts: created pending by the job, approved (above the limit), sent, settled or failed
    # by checkers
    f"""
    SELECT p.created_at, 1, {in_sql(PAYOUT_CREATE)}, p.maker_id, 'payout', p.id, NULL::jsonb,
           jsonb_build_object('status', 'pending', 'amount', p.amount::text,
                              'settlement_id', p.settlement_id)
      FROM payouts p
    """,
    f"""
    SELECT p.approved_at, 2, {in_sql(PAYOUT_APPROVE)}, p.approved_by, 'payout', p.id,
           jsonb_build_object('status', 'pending', 'approved_by', NULL),
           jsonb_build_object('status', 'pending', 'approved_by', a.username)
      FROM payouts p JOIN users a ON a.id = p.approved_by
    """,
    f"""
    SELECT p.sent_at, 2, {in_sql(PAYOUT_SEND)}, p.sent_by, 'payout', p.id,
           jsonb_build_object('status', 'pending', 'attempt', p.attempt),
           jsonb_build_object('status', 'sent', 'attempt', p.attempt)
      FROM payouts p WHERE p.status <> 'pending'
    """,
    f"""
    SELECT CASE WHEN p.status = 'settled' THEN p.settled_at ELSE p.failed_at END, 3,
           CASE WHEN p.status = 'settled' THEN {in_sql(PAYOUT_SETTLE)}
                ELSE {in_sql(PAYOUT_FAIL)} END,
           p.last_checker_id, 'payout', p.id,
           jsonb_build_object('status', 'sent', 'attempt', p.attempt),
           jsonb_build_object('status', p.status, 'attempt', p.attempt,
                              'failure_reason', p.failure_reason)
      FROM payouts p WHERE p.status IN ('settled', 'failed')
    """,
    f"""
    SELECT f.set_at, 1, {in_sql(PAYOUT_FREEZE)}, f.set_by, 'payout_freeze', f.id, NULL::jsonb,
           jsonb_build_object('scope', f.scope, 'merchant_code', m.code, 'reason', f.reason)
      FROM payout_freezes f LEFT JOIN merchants m ON m.id = f.merchant_id
    """,
    f"""
    SELECT f.lifted_at, 2, {in_sql(PAYOUT_FREEZE_LIFT)}, f.lifted_by, 'payout_freeze', f.id,
           jsonb_build_object('active', true), jsonb_build_object('active', false)
      FROM payout_freezes f WHERE f.lifted_at IS NOT NULL
    """,
    # refund requests: requested, escalated by the SLA job, decided, executed or failed
    f"""
    SELECT r.created_at, 1, {in_sql(REFUND_REQUEST)},
           r.maker_id, 'refund_request', r.id, NULL::jsonb,
           jsonb_build_object('status', 'pending', 'amount', r.amount::text,
                              'currency', r.currency)
      FROM refund_requests r
    """,
    f"""
    SELECT r.escalated_at, 2, {in_sql(REFUND_ESCALATE)}, svc.id, 'refund_request', r.id,
           jsonb_build_object('status', 'pending'),
           jsonb_build_object('status', 'pending', 'escalation_reason', r.escalation_reason)
      FROM refund_requests r, svc WHERE r.escalated_at IS NOT NULL
    """,
    f"""
    SELECT r.decided_at, 3,
           CASE WHEN r.status = 'rejected' THEN {in_sql(REFUND_REJECT)}
                ELSE {in_sql(REFUND_APPROVE)} END,
           r.checker_id, 'refund_request', r.id, jsonb_build_object('status', 'pending'),
           jsonb_build_object('status', CASE WHEN r.status = 'rejected' THEN 'rejected'
                                             ELSE 'approved' END,
                              'checker_note', r.checker_note)
      FROM refund_requests r WHERE r.status <> 'pending'
    """,
    f"""
    SELECT r.decided_at, 4,
           CASE WHEN r.status = 'executed' THEN {in_sql(REFUND_EXECUTE)}
                ELSE {in_sql(REFUND_FAIL)} END,
           treasury.id, 'refund_request', r.id, jsonb_build_object('status', 'approved'),
           jsonb_build_object('status', r.status)
      FROM refund_requests r, treasury WHERE r.status IN ('executed', 'failed')
    """,
    # cases and chargebacks
    f"""
    SELECT c.created_at, 1, {in_sql(CASE_OPEN)}, c.created_by, 'case', c.id, NULL::jsonb,
           jsonb_build_object('status', 'open', 'case_type', c.case_type,
                              'priority', c.priority, 'title', c.title)
      FROM cases c
    """,
    f"""
    SELECT c.updated_at, 2, {in_sql(CASE_TRANSITION)},
           coalesce(n.author_id, c.created_by), 'case', c.id,
           jsonb_build_object('status', 'open'), jsonb_build_object('status', c.status)
      FROM cases c
      LEFT JOIN LATERAL (SELECT author_id FROM case_notes WHERE case_id = c.id
                          ORDER BY created_at DESC, id DESC LIMIT 1) n ON true
     WHERE c.status <> 'open'
    """,
    f"""
    SELECT coalesce(b.last_transition_at, b.created_at), 1, {in_sql(CHARGEBACK_TRANSITION)},
           risk.id,
           'chargeback', b.id, jsonb_build_object('status', 'open'),
           jsonb_build_object('status', b.status, 'last_transition_at', b.last_transition_at)
      FROM chargebacks b, risk WHERE b.status <> 'open'
    """,
    # alerts raised by the jobs, closed by whoever closed them
    f"""
    SELECT a.created_at, 1, {in_sql(ALERT_RAISE)}, svc.id, 'alert', a.id, NULL::jsonb,
           jsonb_build_object('status', 'open', 'alert_type', a.alert_type,
                              'severity', a.severity, 'dedupe_key', a.dedupe_key)
      FROM alerts a, svc
    """,
    f"""
    SELECT a.updated_at, 2, {in_sql(ALERT_UPDATE)}, coalesce(a.closed_by, risk.id), 'alert', a.id,
           jsonb_build_object('status', 'open'),
           jsonb_build_object('status', a.status, 'closed_at', a.closed_at)
      FROM alerts a, risk WHERE a.status <> 'open'
    """,
    # the books: journals drafted, posted or voided; the previous month closed
    f"""
    SELECT j.created_at, 1, {in_sql(JOURNAL_CREATE)},
           j.maker_id, 'journal_entry', j.id, NULL::jsonb,
           jsonb_build_object('status', 'draft', 'entry_no', j.entry_no,
                              'entry_date', j.entry_date, 'currency', j.currency)
      FROM journal_entries j
    """,
    f"""
    SELECT coalesce(j.posted_at, j.created_at), 2,
           CASE WHEN j.status = 'posted' THEN {in_sql(JOURNAL_POST)}
                ELSE {in_sql(JOURNAL_VOID)} END,
           coalesce(j.posted_by, j.maker_id), 'journal_entry', j.id,
           jsonb_build_object('status', 'draft'),
           jsonb_build_object('status', j.status, 'void_note', j.void_note)
      FROM journal_entries j WHERE j.status IN ('posted', 'void')
    """,
    f"""
    SELECT p.closed_at, 1, {in_sql(ACCOUNTING_PERIOD_CLOSE)},
           p.closed_by, 'accounting_period', p.id,
           jsonb_build_object('status', 'open'), jsonb_build_object('status', 'closed')
      FROM accounting_periods p WHERE p.closed_at IS NOT NULL
    """,
)

_RECORD_TRAIL = text(
    f"""
    WITH svc AS (SELECT id FROM users WHERE username = '{_SERVICE}'),
         treasury AS (SELECT id FROM users WHERE username = '{_TREASURY}'),
         risk AS (SELECT id FROM users WHERE username = '{_RISK}'),
         trail (at, step, action, actor_id, target_type, target_id, before, after) AS (
             {" UNION ALL ".join(_BRANCHES)})
    INSERT INTO audit_log (action, actor_id, target_type, target_id, before, after, details,
                           created_at)
    SELECT action, actor_id, target_type, target_id::text, before, after,
           jsonb_build_object('source', 'seed_demo'), at
      FROM trail
     ORDER BY at, target_type, target_id, step
    """
)


def record_seed_trail(session: Session) -> None:
    """Write the audit rows of every state the seed created (call once, after the seed)."""
    session.execute(_RECORD_TRAIL)
