"""Every mapped table, imported once so the metadata is complete (Alembic, tests)."""

from ops_domain.accounting.models import (
    Account,
    AccountingPeriod,
    JournalApproval,
    JournalEntry,
    JournalLine,
)
from ops_domain.alerts.models import Alert
from ops_domain.audit.models import AuditLog, JobRun
from ops_domain.cases.models import Case, CaseAssignment, CaseNote
from ops_domain.db import Base
from ops_domain.disputes.models import Chargeback
from ops_domain.merchants.models import CashflowEvent, Merchant
from ops_domain.payouts.models import Payout, PayoutFreeze
from ops_domain.rbac.models import Role, RolePermission, User, UserRole
from ops_domain.readiness.models import ReadinessWaiver, Release, ReleaseSnapshot
from ops_domain.reconciliation.models import (
    BreakResolution,
    ReconciliationBreak,
    ReconciliationRun,
)
from ops_domain.settlements.models import Settlement, SettlementException

__all__ = [
    "Account",
    "AccountingPeriod",
    "Alert",
    "AuditLog",
    "Base",
    "BreakResolution",
    "Case",
    "CaseAssignment",
    "CaseNote",
    "CashflowEvent",
    "Chargeback",
    "JobRun",
    "JournalApproval",
    "JournalEntry",
    "JournalLine",
    "Merchant",
    "Payout",
    "PayoutFreeze",
    "ReadinessWaiver",
    "ReconciliationBreak",
    "ReconciliationRun",
    "Release",
    "ReleaseSnapshot",
    "Role",
    "RolePermission",
    "Settlement",
    "SettlementException",
    "User",
    "UserRole",
]
