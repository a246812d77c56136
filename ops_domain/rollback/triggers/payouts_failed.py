"""Payouts failing since the release: any payout moved to ``failed`` fires."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ops_domain.audit.actions import PAYOUT_FAIL, in_sql
from ops_domain.audit.targets import AUDIT_TARGET_ID
from ops_domain.config import RollbackPolicy
from ops_domain.rollback.evidence import (
    TriggerReading,
    gauge,
    read_evidence,
    status_of,
)

if TYPE_CHECKING:  # a type only: the DAG parse imports this module through the registry
    from ops_domain.rollback.releases import WatchedRelease

PAYOUTS_FAILED_SQL = f"""
    SELECT p.id, p.payout_reference AS reference, min(a.created_at) AS seen_at,
           jsonb_build_object('failures', count(*), 'status_now', p.status,
                              'attempt', p.attempt, 'amount', p.amount::text,
                              'currency', p.currency) AS detail
      FROM audit_log a
      JOIN payouts p ON p.id = {AUDIT_TARGET_ID}
     WHERE a.action = {in_sql(PAYOUT_FAIL)} AND a.target_type = 'payout'
       AND a.created_at >= :since AND a.created_at <= :now
     GROUP BY p.id
"""


def payouts_failed(
    session: Session, release: WatchedRelease, policy: RollbackPolicy, now: datetime
) -> TriggerReading:
    """Fires when any payout moved to ``failed`` since the release (audit ``payout.fail``),
    whatever its status now."""
    evidence = read_evidence(
        session, PAYOUTS_FAILED_SQL, {"since": release.watching_since, "now": now}
    )
    return TriggerReading(
        status_of(evidence.count > 0),
        f"{evidence.count} payout(s) moved to failed since the release",
        evidence,
        gauge(evidence.count, 0, "> 0 since the release"),
    )
