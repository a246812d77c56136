"""The audit trail of the seeded history: the rows the services would have written.

The seed writes business state directly (set-based), so every state it implies is given the
audit row its service writes (SPEC §2: every state change has one), in one INSERT ... SELECT
over the rows just seeded (``insert_audit_history``, an ``AuditRows`` per kind of change): same
action, target and actor as the service, ``created_at`` the record's own stamp, details
``{"source": "seed_demo"}``. The rows are inserted in the order of those stamps, so their ids
follow history. ``audit verify`` checks them with its completeness rules.

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
from ops_domain.audit.log import AuditRows, insert_audit_history

_SERVICE, _TREASURY, _RISK = "svc_airflow", "tina", "rita"
_SEEDED = "jsonb_build_object('source', 'seed_demo')"


def _seeded(action: str, target_type: str, **fields: str) -> AuditRows:
    """The audit rows of one kind of seeded change, marked as written by the seed."""
    return AuditRows(action, target_type, details=_SEEDED, **fields)


# A record's changes are listed in the order they happen (which orders those made at the same
# instant); ``svc``, ``treasury`` and ``risk`` are the ids of the users who acted.
_TRAIL = (
    # settlements: created as drafts by the job, posted by policy or a checker, paid on payout
    _seeded(
        in_sql(SETTLEMENT_CREATE),
        "settlement",
        source="settlements s",
        target_id="s.id",
        actor_id="s.maker_id",
        created_at="s.created_at",
        after="jsonb_build_object('status', 'draft', 'net_amount', s.net_amount::text,"
        " 'event_count', s.event_count, 'sequence', s.sequence)",
    ),
    _seeded(
        in_sql(SETTLEMENT_POST),
        "settlement",
        source="settlements s",
        where="s.posted_at IS NOT NULL",
        target_id="s.id",
        actor_id="coalesce(s.approver_id, s.maker_id)",
        created_at="s.posted_at",
        before="jsonb_build_object('status', 'draft')",
        after="jsonb_build_object('status', 'posted', 'approval_source', s.approval_source)",
    ),
    _seeded(
        in_sql(SETTLEMENT_PAY),
        "settlement",
        source="settlements s LEFT JOIN payouts p ON p.settlement_id = s.id",
        where="s.paid_at IS NOT NULL",
        target_id="s.id",
        actor_id="coalesce(p.last_checker_id, s.maker_id)",
        created_at="s.paid_at",
        before="jsonb_build_object('status', 'posted')",
        after="jsonb_build_object('status', 'paid')",
    ),
    # payouts: created pending by the job, approved (above the limit), sent, settled or failed
    # by checkers
    _seeded(
        in_sql(PAYOUT_CREATE),
        "payout",
        source="payouts p",
        target_id="p.id",
        actor_id="p.maker_id",
        created_at="p.created_at",
        after="jsonb_build_object('status', 'pending', 'amount', p.amount::text,"
        " 'settlement_id', p.settlement_id)",
    ),
    _seeded(
        in_sql(PAYOUT_APPROVE),
        "payout",
        source="payouts p JOIN users a ON a.id = p.approved_by",
        target_id="p.id",
        actor_id="p.approved_by",
        created_at="p.approved_at",
        before="jsonb_build_object('status', 'pending', 'approved_by', NULL)",
        after="jsonb_build_object('status', 'pending', 'approved_by', a.username)",
    ),
    _seeded(
        in_sql(PAYOUT_SEND),
        "payout",
        source="payouts p",
        where="p.status <> 'pending'",
        target_id="p.id",
        actor_id="p.sent_by",
        created_at="p.sent_at",
        before="jsonb_build_object('status', 'pending', 'attempt', p.attempt)",
        after="jsonb_build_object('status', 'sent', 'attempt', p.attempt)",
    ),
    _seeded(
        f"CASE WHEN p.status = 'settled' THEN {in_sql(PAYOUT_SETTLE)}"
        f" ELSE {in_sql(PAYOUT_FAIL)} END",
        "payout",
        source="payouts p",
        where="p.status IN ('settled', 'failed')",
        target_id="p.id",
        actor_id="p.last_checker_id",
        created_at="CASE WHEN p.status = 'settled' THEN p.settled_at ELSE p.failed_at END",
        before="jsonb_build_object('status', 'sent', 'attempt', p.attempt)",
        after="jsonb_build_object('status', p.status, 'attempt', p.attempt,"
        " 'failure_reason', p.failure_reason)",
    ),
    _seeded(
        in_sql(PAYOUT_FREEZE),
        "payout_freeze",
        source="payout_freezes f LEFT JOIN merchants m ON m.id = f.merchant_id",
        target_id="f.id",
        actor_id="f.set_by",
        created_at="f.set_at",
        after="jsonb_build_object('scope', f.scope, 'merchant_code', m.code, 'reason', f.reason)",
    ),
    _seeded(
        in_sql(PAYOUT_FREEZE_LIFT),
        "payout_freeze",
        source="payout_freezes f",
        where="f.lifted_at IS NOT NULL",
        target_id="f.id",
        actor_id="f.lifted_by",
        created_at="f.lifted_at",
        before="jsonb_build_object('active', true)",
        after="jsonb_build_object('active', false)",
    ),
    # refund requests: requested, escalated by the SLA job, decided, executed or failed
    _seeded(
        in_sql(REFUND_REQUEST),
        "refund_request",
        source="refund_requests r",
        target_id="r.id",
        actor_id="r.maker_id",
        created_at="r.created_at",
        after="jsonb_build_object('status', 'pending', 'amount', r.amount::text,"
        " 'currency', r.currency)",
    ),
    _seeded(
        in_sql(REFUND_ESCALATE),
        "refund_request",
        source="refund_requests r, svc",
        where="r.escalated_at IS NOT NULL",
        target_id="r.id",
        actor_id="svc.id",
        created_at="r.escalated_at",
        before="jsonb_build_object('status', 'pending')",
        after="jsonb_build_object('status', 'pending', 'escalation_reason', r.escalation_reason)",
    ),
    _seeded(
        f"CASE WHEN r.status = 'rejected' THEN {in_sql(REFUND_REJECT)}"
        f" ELSE {in_sql(REFUND_APPROVE)} END",
        "refund_request",
        source="refund_requests r",
        where="r.status <> 'pending'",
        target_id="r.id",
        actor_id="r.checker_id",
        created_at="r.decided_at",
        before="jsonb_build_object('status', 'pending')",
        after="jsonb_build_object('status', CASE WHEN r.status = 'rejected' THEN 'rejected'"
        " ELSE 'approved' END, 'checker_note', r.checker_note)",
    ),
    _seeded(
        f"CASE WHEN r.status = 'executed' THEN {in_sql(REFUND_EXECUTE)}"
        f" ELSE {in_sql(REFUND_FAIL)} END",
        "refund_request",
        source="refund_requests r, treasury",
        where="r.status IN ('executed', 'failed')",
        target_id="r.id",
        actor_id="treasury.id",
        created_at="r.decided_at",
        before="jsonb_build_object('status', 'approved')",
        after="jsonb_build_object('status', r.status)",
    ),
    # cases and chargebacks
    _seeded(
        in_sql(CASE_OPEN),
        "case",
        source="cases c",
        target_id="c.id",
        actor_id="c.created_by",
        created_at="c.created_at",
        after="jsonb_build_object('status', 'open', 'case_type', c.case_type,"
        " 'priority', c.priority, 'title', c.title)",
    ),
    _seeded(
        in_sql(CASE_TRANSITION),
        "case",
        source="cases c LEFT JOIN LATERAL (SELECT author_id FROM case_notes"
        " WHERE case_id = c.id ORDER BY created_at DESC, id DESC LIMIT 1) n ON true",
        where="c.status <> 'open'",
        target_id="c.id",
        actor_id="coalesce(n.author_id, c.created_by)",
        created_at="c.updated_at",
        before="jsonb_build_object('status', 'open')",
        after="jsonb_build_object('status', c.status)",
    ),
    _seeded(
        in_sql(CHARGEBACK_TRANSITION),
        "chargeback",
        source="chargebacks b, risk",
        where="b.status <> 'open'",
        target_id="b.id",
        actor_id="risk.id",
        created_at="coalesce(b.last_transition_at, b.created_at)",
        before="jsonb_build_object('status', 'open')",
        after="jsonb_build_object('status', b.status, 'last_transition_at', b.last_transition_at)",
    ),
    # alerts raised by the jobs, closed by whoever closed them
    _seeded(
        in_sql(ALERT_RAISE),
        "alert",
        source="alerts a, svc",
        target_id="a.id",
        actor_id="svc.id",
        created_at="a.created_at",
        after="jsonb_build_object('status', 'open', 'alert_type', a.alert_type,"
        " 'severity', a.severity, 'dedupe_key', a.dedupe_key)",
    ),
    _seeded(
        in_sql(ALERT_UPDATE),
        "alert",
        source="alerts a, risk",
        where="a.status <> 'open'",
        target_id="a.id",
        actor_id="coalesce(a.closed_by, risk.id)",
        created_at="a.updated_at",
        before="jsonb_build_object('status', 'open')",
        after="jsonb_build_object('status', a.status, 'closed_at', a.closed_at)",
    ),
    # the books: journals drafted, posted or voided; the previous month closed
    _seeded(
        in_sql(JOURNAL_CREATE),
        "journal_entry",
        source="journal_entries j",
        target_id="j.id",
        actor_id="j.maker_id",
        created_at="j.created_at",
        after="jsonb_build_object('status', 'draft', 'entry_no', j.entry_no,"
        " 'entry_date', j.entry_date, 'currency', j.currency)",
    ),
    _seeded(
        f"CASE WHEN j.status = 'posted' THEN {in_sql(JOURNAL_POST)}"
        f" ELSE {in_sql(JOURNAL_VOID)} END",
        "journal_entry",
        source="journal_entries j",
        where="j.status IN ('posted', 'void')",
        target_id="j.id",
        actor_id="coalesce(j.posted_by, j.maker_id)",
        created_at="coalesce(j.posted_at, j.created_at)",
        before="jsonb_build_object('status', 'draft')",
        after="jsonb_build_object('status', j.status, 'void_note', j.void_note)",
    ),
    _seeded(
        in_sql(ACCOUNTING_PERIOD_CLOSE),
        "accounting_period",
        source="accounting_periods p",
        where="p.closed_at IS NOT NULL",
        target_id="p.id",
        actor_id="p.closed_by",
        created_at="p.closed_at",
        before="jsonb_build_object('status', 'open')",
        after="jsonb_build_object('status', 'closed')",
    ),
)

_RECORD_TRAIL = text(
    f"""
    WITH svc AS (SELECT id FROM users WHERE username = '{_SERVICE}'),
         treasury AS (SELECT id FROM users WHERE username = '{_TREASURY}'),
         risk AS (SELECT id FROM users WHERE username = '{_RISK}')
    {insert_audit_history(*_TRAIL)}
    """
)


def record_seed_trail(session: Session) -> None:
    """Write the audit rows of every state the seed created (call once, after the seed)."""
    session.execute(_RECORD_TRAIL)
