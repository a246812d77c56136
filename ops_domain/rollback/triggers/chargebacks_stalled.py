"""Chargebacks stalled since the release: refused transitions beyond the tolerated number, or
a chargeback awaiting a decision that went past due without a transition.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ops_domain.audit.actions import CHARGEBACK_TRANSITION_REFUSED, in_sql
from ops_domain.audit.targets import AUDIT_TARGET_ID
from ops_domain.config import RollbackPolicy
from ops_domain.rollback.evidence import (
    EVIDENCE_LIMIT,
    Evidence,
    TriggerReading,
    gauge,
    read_evidence,
    status_of,
)

if TYPE_CHECKING:  # a type only: the DAG parse imports this module through the registry
    from ops_domain.rollback.releases import WatchedRelease


CHARGEBACK_REFUSALS_SQL = f"""
    SELECT c.id, c.chargeback_no AS reference, a.created_at AS seen_at,
           jsonb_build_object('kind', 'transition_refused', 'from', a.details->'from',
                              'to', a.details->'to', 'reason', a.details->'reason') AS detail
      FROM audit_log a
      JOIN chargebacks c ON c.id = {AUDIT_TARGET_ID}
     WHERE a.action = {in_sql(CHARGEBACK_TRANSITION_REFUSED)} AND a.target_type = 'chargeback'
       AND a.created_at >= :since AND a.created_at <= :now
"""

_CHARGEBACKS_PAST_DUE = """
    SELECT c.id, c.chargeback_no AS reference, c.due_at AS seen_at,
           jsonb_build_object('kind', 'past_due_without_transition', 'status', c.status,
                              'due_at', c.due_at, 'last_transition_at', c.last_transition_at)
               AS detail
      FROM chargebacks c
     WHERE c.status = ANY(CAST(:awaiting AS text[]))
       AND c.due_at >= :since AND c.due_at <= :now
       AND (c.last_transition_at IS NULL OR c.last_transition_at < :since)
"""


def awaiting_decision() -> list[str]:
    """A chargeback waiting for a decision: one from which it can still be won or lost."""
    # imported when the trigger runs: the DAG parse reads the registry, not the models
    from ops_domain.disputes.models import CHARGEBACK_STATES

    return sorted(CHARGEBACK_STATES.sources_of("won") | CHARGEBACK_STATES.sources_of("lost"))


def chargebacks_stalled(
    session: Session, release: WatchedRelease, policy: RollbackPolicy, now: datetime
) -> TriggerReading:
    """Fires when chargeback transitions the state table refused since the release exceed the
    tolerated number (input mistakes such as a missing note are not recorded as refusals), or
    on any chargeback
    awaiting a decision whose ``due_at`` passed since the release with no transition since
    (one already overdue at the release was overdue when the gate passed it)."""
    params = {"since": release.watching_since, "now": now, "awaiting": awaiting_decision()}
    refused = read_evidence(session, CHARGEBACK_REFUSALS_SQL, params)
    past_due = read_evidence(session, _CHARGEBACKS_PAST_DUE, params)
    seen = [moment for moment in (refused.first_seen, past_due.first_seen) if moment]
    items = sorted(refused.items + past_due.items, key=lambda item: (item["seen_at"], item["id"]))
    evidence = Evidence(
        refused.count + past_due.count, min(seen, default=None), items[:EVIDENCE_LIMIT]
    )
    return TriggerReading(
        status_of(refused.count > policy.chargeback_refusals or past_due.count > 0),
        f"{refused.count} chargeback transition(s) refused (tolerated:"
        f" {policy.chargeback_refusals}) and {past_due.count} chargeback(s) past due without a"
        " transition since the release",
        evidence,
        {
            "refused_transitions": refused.count,
            "past_due_without_transition": past_due.count,
            "refusals_tolerated": policy.chargeback_refusals,
            **gauge(
                f"{refused.count} refused, {past_due.count} past due",
                0,
                f"> {policy.chargeback_refusals} refused or > 0 past due",
            ),
        },
    )
