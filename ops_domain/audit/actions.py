"""The audit log's action names: one spelling for the services that write audit rows and the
readers that count them (the rollback triggers, the completeness rules, the demo's trail).

A reader that counts ``payout.fail`` rows and a writer that records them import the same
constant, so a renamed action cannot silently stop a trigger from firing. SQL takes a name
through ``in_sql``.
"""

from __future__ import annotations

import re

ACTION_NAME = re.compile(r"[a-z_]+(\.[a-z_]+)+")

# settlements
SETTLEMENT_CREATE = "settlement.create"
SETTLEMENT_POST = "settlement.post"
SETTLEMENT_PAY = "settlement.pay"
SETTLEMENT_EXCEPTION_OPEN = "settlement_exception.open"
# payouts (``payout.fail`` is a rollback trigger)
PAYOUT_CREATE = "payout.create"
PAYOUT_APPROVE = "payout.approve"
PAYOUT_SEND = "payout.send"
PAYOUT_SETTLE = "payout.settle"
PAYOUT_FAIL = "payout.fail"
PAYOUT_RESUBMIT = "payout.resubmit"
PAYOUT_FREEZE = "payout.freeze"
PAYOUT_FREEZE_LIFT = "payout.freeze_lift"
# refunds and chargebacks (``chargeback.transition_refused`` is a rollback trigger)
REFUND_REQUEST = "refund.request"
REFUND_ESCALATE = "refund.escalate"
REFUND_APPROVE = "refund.approve"
REFUND_REJECT = "refund.reject"
REFUND_EXECUTE = "refund.execute"
REFUND_FAIL = "refund.fail"
CHARGEBACK_OPEN = "chargeback.open"
CHARGEBACK_TRANSITION = "chargeback.transition"
CHARGEBACK_TRANSITION_REFUSED = "chargeback.transition_refused"
# cases
CASE_OPEN = "case.open"
CASE_TRANSITION = "case.transition"
CASE_ESCALATE = "case.escalate"
CASE_NOTE = "case.note"
# accounting (``journal.post_refused`` is a rollback trigger)
ACCOUNT_CREATE = "account.create"
JOURNAL_CREATE = "journal.create"
JOURNAL_POST = "journal.post"
JOURNAL_VOID = "journal.void"
JOURNAL_REVERSE = "journal.reverse"
JOURNAL_POST_REFUSED = "journal.post_refused"
JOURNAL_APPROVAL_REQUEST = "journal_approval.request"
JOURNAL_APPROVAL_APPROVE = "journal_approval.approve"
JOURNAL_APPROVAL_REJECT = "journal_approval.reject"
ACCOUNTING_PERIOD_CLOSE = "accounting_period.close"
ACCOUNTING_PERIOD_REOPEN = "accounting_period.reopen"
# reconciliation
RECONCILIATION_RUN = "reconciliation.run"
RECONCILIATION_BREAK_OPEN = "reconciliation_break.open"
RECONCILIATION_BREAK_IN_REVIEW = "reconciliation_break.in_review"
RECONCILIATION_BREAK_RESOLVED = "reconciliation_break.resolved"
BREAK_RESOLUTION_PROPOSE = "break_resolution.propose"
BREAK_RESOLUTION_APPROVE = "break_resolution.approve"
BREAK_RESOLUTION_REJECT = "break_resolution.reject"
# alerts
ALERT_RAISE = "alert.raise"
ALERT_UPDATE = "alert.update"
# releases and waivers
RELEASE_GATE_EVALUATED = "release.gate_evaluated"
RELEASE_RELEASED = "release.released"
RELEASE_ROLLBACK_RECOMMENDED = "release.rollback_recommended"
RELEASE_REINSTATED = "release.reinstated"
RELEASE_ROLLED_BACK = "release.rolled_back"
WAIVER_REQUEST = "waiver.request"
WAIVER_APPROVE = "waiver.approve"
WAIVER_REJECT = "waiver.reject"
WAIVER_APPROVE_REFUSED = "waiver.approve_refused"
WAIVER_REJECT_REFUSED = "waiver.reject_refused"
# users
USER_BOOTSTRAP = "user.bootstrap"
USER_CREATE = "user.create"
USER_SET_ROLES = "user.set_roles"
USER_DEACTIVATE = "user.deactivate"
USER_REACTIVATE = "user.reactivate"
DEMO_SEED = "demo.seed"


def job_outcome(job_name: str, outcome: str) -> str:
    """``job.<name>.<outcome>``: the row every finished real job run writes."""
    return f"job.{job_name}.{outcome}"


def job_outcome_sql(job_name_sql: str, outcome_sql: str) -> str:
    """``job_outcome`` as a SQL expression over the columns naming a run's job and outcome."""
    return f"'job.' || {job_name_sql} || '.' || {outcome_sql}"


def in_sql(action: str) -> str:
    """The action as a SQL string literal (names are lower-case words joined by dots)."""
    if not ACTION_NAME.fullmatch(action):
        raise ValueError(f"not an audit action name: {action!r}")
    return f"'{action}'"
