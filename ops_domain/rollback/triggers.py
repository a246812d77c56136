"""The four rollback triggers of the runbook, each one set-based read since the release.

Every trigger compares the present with the release's gate snapshot and what happened since
the release (``watching_since``: its release by the gate, or its reinstatement by a checker
after a false alarm): it reads the audit trail or the current rows, never a cached figure, so
a payout that failed and was resubmitted since, or a refusal whose request was later retried,
still counts. Each returns its status (``ok`` or ``firing``), the evidence (ids, references,
how many, first seen) and the figures it decided on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import (
    CHARGEBACK_TRANSITION_REFUSED,
    JOURNAL_POST_REFUSED,
    PAYOUT_FAIL,
    in_sql,
)
from ops_domain.disputes.models import CHARGEBACK_STATES
from ops_domain.jsonable import jsonable
from ops_domain.readiness.snapshot import COUNTED_ITEMS
from ops_domain.rollback.policy import TRIGGER_NAMES, RollbackPolicy
from ops_domain.rollback.releases import WatchedRelease

EVIDENCE_LIMIT = 100
BREAK_COUNTER = "open_recon_breaks"
# A chargeback waiting for a decision: one from which it can still be won or lost.
AWAITING_DECISION = sorted(
    CHARGEBACK_STATES.sources_of("won") | CHARGEBACK_STATES.sources_of("lost")
)

_EVIDENCE = """
    WITH evidence AS ({sql})
    SELECT id, reference, seen_at, detail,
           count(*) OVER () AS total, min(seen_at) OVER () AS first_seen
      FROM evidence
     ORDER BY seen_at, id
     LIMIT :limit
"""

_BREAKS_OPEN_NOW = f"SELECT count(*) FROM ({COUNTED_ITEMS[BREAK_COUNTER]}) AS counted"

_BREAKS_OPENED_SINCE = f"""
    SELECT b.id, b.break_no AS reference, b.created_at AS seen_at,
           jsonb_build_object('category', b.category, 'status', b.status,
                              'currency', b.currency, 'business_date', b.business_date,
                              'difference', b.difference::text) AS detail
      FROM reconciliation_breaks b
     WHERE b.id IN ({COUNTED_ITEMS[BREAK_COUNTER]})
       AND b.created_at >= :since AND b.created_at <= :now
"""

_PAYOUTS_FAILED = f"""
    SELECT p.id, p.payout_reference AS reference, min(a.created_at) AS seen_at,
           jsonb_build_object('failures', count(*), 'status_now', p.status,
                              'attempt', p.attempt, 'amount', p.amount::text,
                              'currency', p.currency) AS detail
      FROM audit_log a
      JOIN payouts p ON p.id::text = a.target_id
     WHERE a.action = {in_sql(PAYOUT_FAIL)} AND a.target_type = 'payout'
       AND a.created_at >= :since AND a.created_at <= :now
     GROUP BY p.id
"""

_CHARGEBACK_REFUSALS = f"""
    SELECT c.id, c.chargeback_no AS reference, a.created_at AS seen_at,
           jsonb_build_object('kind', 'transition_refused', 'from', a.details->'from',
                              'to', a.details->'to', 'reason', a.details->'reason') AS detail
      FROM audit_log a
      JOIN chargebacks c ON c.id::text = a.target_id
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

_POSTINGS_REFUSED = f"""
    SELECT a.id,
           coalesce(e.entry_no, 'new ' || (a.details->>'currency') || ' entry') AS reference,
           a.created_at AS seen_at,
           jsonb_build_object('entry_id', a.target_id, 'currency', a.details->'currency',
                              'entry_date', a.details->'entry_date',
                              'period', a.details->'period', 'step', a.details->'step',
                              'reason', a.details->'reason') AS detail
      FROM audit_log a
      LEFT JOIN journal_entries e ON e.id::text = a.target_id
     WHERE a.action = {in_sql(JOURNAL_POST_REFUSED)} AND a.target_type = 'journal_entry'
       AND a.created_at >= :since AND a.created_at <= :now
"""


@dataclass(frozen=True)
class Evidence:
    """What a trigger saw: how many, when first, and the first ``EVIDENCE_LIMIT`` items."""

    count: int
    first_seen: datetime | None
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TriggerReading:
    name: str
    status: str
    summary: str
    evidence: Evidence
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "name": self.name,
                "status": self.status,
                "summary": self.summary,
                "count": self.evidence.count,
                "first_seen": self.evidence.first_seen,
                "evidence": self.evidence.items,
                "figures": self.figures,
            }
        )


def read_evidence(session: Session, sql: str, params: dict[str, Any]) -> Evidence:
    rows = session.execute(
        text(_EVIDENCE.format(sql=sql)), {**params, "limit": EVIDENCE_LIMIT}
    ).mappings()
    items = [dict(row) for row in rows]
    if not items:
        return Evidence(0, None, [])
    return Evidence(
        items[0]["total"],
        items[0]["first_seen"],
        [{k: v for k, v in item.items() if k not in {"total", "first_seen"}} for item in items],
    )


def _status(firing: bool) -> str:
    return "firing" if firing else "ok"


def break_baseline(release: WatchedRelease) -> int:
    """Open breaks the snapshot counted (before waivers); a snapshot without it counts 0, so
    a missing baseline can only make the trigger fire sooner, never hide a spike."""
    counted = release.snapshot_counters.get("counted") or {}
    value = counted.get(BREAK_COUNTER, release.snapshot_counters.get(BREAK_COUNTER))
    return int(value or 0)


def recon_break_spike(
    session: Session, release: WatchedRelease, policy: RollbackPolicy, now: datetime
) -> TriggerReading:
    """Fires when open breaks rose over the snapshot by more than the absolute threshold
    AND by more than the relative one (any rise is relatively infinite over a zero baseline)."""
    baseline = break_baseline(release)
    open_now = session.execute(text(_BREAKS_OPEN_NOW)).scalar_one()
    rise = open_now - baseline
    relative_ok = baseline == 0 or Decimal(rise) > policy.breaks_rel * baseline
    firing = rise > policy.breaks_abs and relative_ok
    evidence = read_evidence(
        session, _BREAKS_OPENED_SINCE, {"since": release.watching_since, "now": now}
    )
    return TriggerReading(
        "recon_break_spike",
        _status(firing),
        f"{open_now} open break(s), {baseline} at the release: rise {rise:+d}"
        f" (fires above +{policy.breaks_abs} and +{policy.breaks_rel * 100:.0f}%)",
        evidence,
        {
            "baseline": baseline,
            "open_now": open_now,
            "rise": rise,
            "abs_threshold": policy.breaks_abs,
            "rel_threshold": policy.breaks_rel,
        },
    )


def payouts_failed(
    session: Session, release: WatchedRelease, policy: RollbackPolicy, now: datetime
) -> TriggerReading:
    """Fires when any payout moved to ``failed`` since the release (audit ``payout.fail``),
    whatever its status now."""
    evidence = read_evidence(
        session, _PAYOUTS_FAILED, {"since": release.watching_since, "now": now}
    )
    return TriggerReading(
        "payouts_failed",
        _status(evidence.count > 0),
        f"{evidence.count} payout(s) moved to failed since the release",
        evidence,
    )


def chargebacks_stalled(
    session: Session, release: WatchedRelease, policy: RollbackPolicy, now: datetime
) -> TriggerReading:
    """Fires when chargeback transitions the state table refused since the release exceed the
    tolerated number (input mistakes such as a missing note are not recorded as refusals), or
    on any chargeback
    awaiting a decision whose ``due_at`` passed since the release with no transition since
    (one already overdue at the release was overdue when the gate passed it)."""
    params = {"since": release.watching_since, "now": now, "awaiting": AWAITING_DECISION}
    refused = read_evidence(session, _CHARGEBACK_REFUSALS, params)
    past_due = read_evidence(session, _CHARGEBACKS_PAST_DUE, params)
    seen = [moment for moment in (refused.first_seen, past_due.first_seen) if moment]
    items = sorted(refused.items + past_due.items, key=lambda item: (item["seen_at"], item["id"]))
    evidence = Evidence(
        refused.count + past_due.count, min(seen, default=None), items[:EVIDENCE_LIMIT]
    )
    return TriggerReading(
        "chargebacks_stalled",
        _status(refused.count > policy.chargeback_refusals or past_due.count > 0),
        f"{refused.count} chargeback transition(s) refused (tolerated:"
        f" {policy.chargeback_refusals}) and {past_due.count} chargeback(s) past due without a"
        " transition since the release",
        evidence,
        {
            "refused_transitions": refused.count,
            "past_due_without_transition": past_due.count,
            "refusals_tolerated": policy.chargeback_refusals,
        },
    )


def posting_refusals(
    session: Session, release: WatchedRelease, policy: RollbackPolicy, now: datetime
) -> TriggerReading:
    """Fires when postings refused by period-close controls since the release exceed the
    tolerated number (default 0: any refusal)."""
    evidence = read_evidence(
        session, _POSTINGS_REFUSED, {"since": release.watching_since, "now": now}
    )
    return TriggerReading(
        "posting_refusals",
        _status(evidence.count > policy.posting_refusals),
        f"{evidence.count} posting(s) refused by period-close controls since the release"
        f" (tolerated: {policy.posting_refusals})",
        evidence,
        {"threshold": policy.posting_refusals},
    )


Trigger = Callable[[Session, WatchedRelease, RollbackPolicy, datetime], TriggerReading]
TRIGGERS: dict[str, Trigger] = {
    "recon_break_spike": recon_break_spike,
    "payouts_failed": payouts_failed,
    "chargebacks_stalled": chargebacks_stalled,
    "posting_refusals": posting_refusals,
}
assert tuple(TRIGGERS) == TRIGGER_NAMES


def read_triggers(
    session: Session, release: WatchedRelease, policy: RollbackPolicy, now: datetime
) -> list[TriggerReading]:
    """Every trigger, in runbook order, read in one transaction (one consistent view)."""
    return [trigger(session, release, policy, now) for trigger in TRIGGERS.values()]
