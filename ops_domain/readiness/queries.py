"""The readiness-waiver list release managers read to find what to decide (read-only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.listing import DEFAULT_LIMIT, fetch_list, require_filter
from ops_domain.readiness.models import WAIVER_STATES

_WAIVERS = text(
    """
    SELECT w.id, w.release_id, w.counter, w.item_ids, w.max_count, w.status, w.reason,
           requester.username AS requested_by, approver.username AS approved_by,
           w.decision_note, w.expires_at, w.created_at, w.decided_at
      FROM readiness_waivers w
      JOIN users requester ON requester.id = w.requested_by
      LEFT JOIN users approver ON approver.id = w.approved_by
     WHERE (CAST(:release_id AS text) IS NULL OR w.release_id = :release_id)
       AND (CAST(:status AS text) IS NULL OR w.status = :status)
     ORDER BY w.id DESC
     LIMIT :limit
    """
)


def list_waivers(
    session: Session,
    *,
    release_id: str | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Readiness waivers, newest first, optionally of one release and status."""
    params = {
        "release_id": release_id,
        "status": require_filter(status, WAIVER_STATES.states, "status"),
    }
    return fetch_list(session, _WAIVERS, params, limit)
