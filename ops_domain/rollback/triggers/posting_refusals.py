"""Postings refused by period-close controls since the release, beyond the tolerated number."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ops_domain.audit.actions import JOURNAL_POST_REFUSED, in_sql
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

POSTINGS_REFUSED_SQL = f"""
    SELECT a.id,
           coalesce(e.entry_no, 'new ' || (a.details->>'currency') || ' entry') AS reference,
           a.created_at AS seen_at,
           jsonb_build_object('entry_id', a.target_id, 'currency', a.details->'currency',
                              'entry_date', a.details->'entry_date',
                              'period', a.details->'period', 'step', a.details->'step',
                              'reason', a.details->'reason') AS detail
      FROM audit_log a
      LEFT JOIN journal_entries e ON e.id = {AUDIT_TARGET_ID}
     WHERE a.action = {in_sql(JOURNAL_POST_REFUSED)} AND a.target_type = 'journal_entry'
       AND a.created_at >= :since AND a.created_at <= :now
"""


def posting_refusals(
    session: Session, release: WatchedRelease, policy: RollbackPolicy, now: datetime
) -> TriggerReading:
    """Fires when postings refused by period-close controls since the release exceed the
    tolerated number (default 0: any refusal)."""
    evidence = read_evidence(
        session, POSTINGS_REFUSED_SQL, {"since": release.watching_since, "now": now}
    )
    return TriggerReading(
        status_of(evidence.count > policy.posting_refusals),
        f"{evidence.count} posting(s) refused by period-close controls since the release"
        f" (tolerated: {policy.posting_refusals})",
        evidence,
        gauge(evidence.count, 0, f"> {policy.posting_refusals} since the release"),
    )
