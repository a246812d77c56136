"""What release managers read before and after a gate (read-only): the waivers to decide, the
counters and the items blocking them now, the stored verdicts and the releases they concern."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.audit.actions import RELEASE_GATE_EVALUATED, in_sql
from ops_domain.listing import DEFAULT_LIMIT, fetch_list, require_checked_reader, require_filter
from ops_domain.readiness.environments import require_environment
from ops_domain.readiness.models import READINESS_COUNTERS, WAIVER_STATES
from ops_domain.readiness.snapshot import COUNTED_ITEMS, take_snapshot

_WAIVERS = text(
    """
    SELECT w.id, w.release_id, w.environment, w.counter, w.item_ids, w.max_count, w.status,
           w.reason,
           requester.username AS requested_by, approver.username AS approved_by,
           w.decision_note, w.expires_at, w.created_at, w.decided_at
      FROM readiness_waivers w
      JOIN users requester ON requester.id = w.requested_by
      LEFT JOIN users approver ON approver.id = w.approved_by
     WHERE (CAST(:release_id AS text) IS NULL OR w.release_id = :release_id)
       AND (CAST(:environment AS text) IS NULL OR w.environment = :environment)
       AND (CAST(:status AS text) IS NULL OR w.status = :status)
     ORDER BY w.id DESC
     LIMIT :limit
    """
)


def list_waivers(
    session: Session,
    *,
    release_id: str | None = None,
    environment: str | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Readiness waivers, newest first, optionally of one release, environment and status."""
    params = {
        "release_id": release_id,
        "environment": environment,
        "status": require_filter(status, WAIVER_STATES.states, "status"),
    }
    return fetch_list(session, _WAIVERS, params, limit)


# The gate's audit row names the channel and reference it was evaluated through: for a DAG
# run, the Airflow run id, which is how a snapshot links back to the run that produced it.
_SNAPSHOTS = text(
    f"""
    SELECT s.id, s.release_id, s.environment, actor.username AS evaluated_by, s.verdict,
           s.checks, s.counters, s.waivers_applied, s.created_at,
           evaluation.channel, evaluation.principal_ref AS run_id
      FROM release_snapshots s
      JOIN users actor ON actor.id = s.actor_id
      LEFT JOIN LATERAL (SELECT a.channel, a.principal_ref FROM audit_log a
                          WHERE a.target_type = 'release' AND a.target_id = s.release_id
                            AND a.action = {in_sql(RELEASE_GATE_EVALUATED)}
                            AND a.after ->> 'snapshot_id' = s.id::text
                          ORDER BY a.id LIMIT 1) evaluation ON true
     WHERE (CAST(:release_id AS text) IS NULL OR s.release_id = :release_id)
       AND (CAST(:environment AS text) IS NULL OR s.environment = :environment)
     ORDER BY s.id DESC
     LIMIT :limit
    """
)

_RELEASES = text(
    """
    SELECT known.release_id, known.environment, r.status, max(known.seen_at) AS last_seen_at
      FROM (SELECT release_id, environment, created_at AS seen_at FROM release_snapshots
            UNION ALL
            SELECT release_id, environment, created_at FROM readiness_waivers) known
      LEFT JOIN releases r
        ON r.release_id = known.release_id AND r.environment = known.environment
     GROUP BY known.release_id, known.environment, r.status
     ORDER BY last_seen_at DESC
     LIMIT :limit
    """
)


def list_snapshots(
    session: Session,
    *,
    release_id: str | None = None,
    environment: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Stored gate evaluations, newest first, with the channel and run id they came from."""
    params = {"release_id": release_id, "environment": environment}
    return fetch_list(session, _SNAPSHOTS, params, limit)


def list_releases(session: Session, *, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """Each (release, environment) that was gated or had a waiver asked, most recent first,
    with its state after the gate (none while it is a candidate never released)."""
    return fetch_list(session, _RELEASES, {}, limit)


# How a person recognises each counted item; which items count is the snapshot's rule.
_ITEM_DESCRIPTIONS: dict[str, str] = {
    "pending_refunds": (
        "SELECT id, refund_no AS reference, status, NULL::text AS severity, amount, currency"
        " FROM refund_requests"
    ),
    "failed_payouts": (
        "SELECT id, payout_reference, status, NULL::text, amount, currency FROM payouts"
    ),
    "open_recon_breaks": (
        "SELECT id, break_no, status, NULL::text, difference, currency FROM reconciliation_breaks"
    ),
    "open_high_alerts": (
        "SELECT id, alert_type || ': ' || title, status, severity, NULL::numeric, NULL::text"
        " FROM alerts"
    ),
}
assert set(_ITEM_DESCRIPTIONS) == set(READINESS_COUNTERS)

_COUNTED = text(
    " UNION ALL ".join(
        f"(SELECT '{name}' AS counter, d.* FROM ({COUNTED_ITEMS[name]}) AS items"
        f" JOIN ({_ITEM_DESCRIPTIONS[name]}) AS d ON d.id = items.id"
        f" ORDER BY d.id LIMIT :limit)"
        for name in READINESS_COUNTERS
    )
)


def list_counted_items(session: Session, *, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    """The items each readiness counter counts now (at most ``limit`` per counter)."""
    return fetch_list(session, _COUNTED, {}, limit)


def list_counters(
    session: Session, *, release_id: str, environment: str, now: datetime
) -> list[dict[str, Any]]:
    """The four counters now for a release in an environment: every counted item, those its
    approved waivers lift, and what still blocks (the gate's own snapshot, not stored)."""
    require_checked_reader(session)
    snapshot = take_snapshot(
        session, release_id=release_id, environment=require_environment(environment), now=now
    )
    return [
        {
            "counter": name,
            "counted": state.total,
            "waived": state.total - state.blocking,
            "blocking": state.blocking,
            "waived_items": state.waived_items,
            "status": state.as_check().status,
        }
        for name, state in snapshot.counters.items()
    ]
