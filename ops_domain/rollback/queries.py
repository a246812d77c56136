"""What the rollback watch sees now, for people (read-only): each release still under watch,
its state and every trigger's reading, without raising alerts or touching the release (the
``rollback_watch`` job is what acts on a firing trigger)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.config import RollbackPolicy
from ops_domain.listing import DEFAULT_LIMIT, require_checked_reader, require_limit
from ops_domain.rollback.registry import read_triggers
from ops_domain.rollback.releases import WATCHED_STATES, watched_release

_WATCHED = text(
    """
    SELECT release_id, environment FROM releases
     WHERE status = ANY(CAST(:states AS text[]))
     ORDER BY released_at DESC, id DESC
     LIMIT :limit
    """
)


def list_watched_releases(
    session: Session, *, now: datetime, policy: RollbackPolicy, limit: int = DEFAULT_LIMIT
) -> list[dict[str, Any]]:
    """Releases that can still be rolled back, newest first, each with its four triggers
    read as of ``now`` (value, baseline, threshold, evidence)."""
    require_checked_reader(session)
    rows = session.execute(
        _WATCHED, {"states": sorted(WATCHED_STATES), "limit": require_limit(limit)}
    ).all()
    watched = []
    for row in rows:
        release = watched_release(session, row.release_id, row.environment)
        watched.append(
            {
                "release_id": release.release_id,
                "environment": release.environment,
                "status": release.status,
                "released_at": release.released_at,
                "watching_since": release.watching_since,
                "snapshot_id": release.snapshot_id,
                "triggers": [
                    reading.to_dict() for reading in read_triggers(session, release, policy, now)
                ],
            }
        )
    return watched
