"""Reconciliation breaks spiking since the release: open breaks rose over the snapshot's count
by more than the absolute AND the relative threshold.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.config import RollbackPolicy
from ops_domain.rollback.evidence import TriggerReading, gauge, read_evidence, status_of

if TYPE_CHECKING:  # a type only: the DAG parse imports this module through the registry
    from ops_domain.rollback.releases import WatchedRelease

BREAK_COUNTER = "open_recon_breaks"


def _open_breaks_sql() -> str:
    """The breaks the readiness snapshot counts as open (its query, not a copy of it)."""
    # imported when the trigger runs: the DAG parse reads the registry, not the snapshot
    from ops_domain.readiness.snapshot import COUNTED_ITEMS

    return COUNTED_ITEMS[BREAK_COUNTER]


def _breaks_opened_since() -> str:
    return f"""
        SELECT b.id, b.break_no AS reference, b.created_at AS seen_at,
               jsonb_build_object('category', b.category, 'status', b.status,
                                  'currency', b.currency, 'business_date', b.business_date,
                                  'difference', b.difference::text) AS detail
          FROM reconciliation_breaks b
         WHERE b.id IN ({_open_breaks_sql()})
           AND b.created_at >= :since AND b.created_at <= :now
    """


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
    open_now = session.execute(
        text(f"SELECT count(*) FROM ({_open_breaks_sql()}) AS counted")
    ).scalar_one()
    rise = open_now - baseline
    relative_ok = baseline == 0 or Decimal(rise) > policy.breaks_rel * baseline
    firing = rise > policy.breaks_abs and relative_ok
    evidence = read_evidence(
        session, _breaks_opened_since(), {"since": release.watching_since, "now": now}
    )
    return TriggerReading(
        status_of(firing),
        f"{open_now} open break(s), {baseline} at the release: rise {rise:+d}"
        f" (fires above +{policy.breaks_abs} and +{policy.breaks_rel * 100:.0f}%)",
        evidence,
        {
            "baseline": baseline,
            "open_now": open_now,
            "rise": rise,
            "abs_threshold": policy.breaks_abs,
            "rel_threshold": policy.breaks_rel,
            **gauge(
                open_now,
                baseline,
                f"rise > +{policy.breaks_abs} and > +{policy.breaks_rel * 100:.0f}%",
            ),
        },
    )
