"""Which release is watched: a released release in one environment and the gate snapshot
that released it there (the same release id is a separate release in each environment).

The snapshot is the baseline the rollback triggers compare against. "Since the release" starts
at the latest decision on it (``decided_at``): the gate's release, or a checker's reinstatement
after a false alarm, so what a checker reviewed and kept does not fire again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.db import transaction
from ops_domain.errors import InvalidInput, NotFound
from ops_domain.readiness.models import RELEASE_STATES

# A release is watched while it can still be rolled back: released, or rollback recommended.
WATCHED_STATES = RELEASE_STATES.sources_of("rolled_back")

_RELEASE = """
    SELECT r.id, r.release_id, r.environment, r.status, r.released_at,
           greatest(r.released_at, r.decided_at) AS watching_since,
           r.released_snapshot_id AS snapshot_id, s.counters AS snapshot_counters
      FROM releases r
      LEFT JOIN release_snapshots s ON s.id = r.released_snapshot_id
     WHERE r.release_id = :release_id AND r.environment = :environment
"""


@dataclass(frozen=True)
class WatchedRelease:
    id: int
    release_id: str
    environment: str
    status: str
    released_at: datetime
    watching_since: datetime
    snapshot_id: int
    snapshot_counters: dict[str, Any]


def load_release(
    session: Session, release_id: str, environment: str, *, lock: bool = False
) -> dict[str, Any]:
    """The release row of ``environment`` with its snapshot's counters, or ``NotFound``."""
    row = session.execute(
        text(_RELEASE + (" FOR UPDATE OF r" if lock else "")),
        {"release_id": release_id, "environment": environment},
    ).first()
    if row is None:
        raise NotFound(f"{environment} release", release_id)
    return row._asdict()


def watched_release(session: Session, release_id: str, environment: str) -> WatchedRelease:
    """The release if it can be watched: released by the gate and not rolled back."""
    try:
        row = load_release(session, release_id, environment)
    except NotFound:
        verdict = _latest_verdict(session, release_id, environment)
        if verdict is None:
            raise
        raise InvalidInput(
            f"release {release_id} ({environment}) was never released (latest gate verdict:"
            f" {verdict}): there is nothing to watch"
        ) from None
    if row["status"] not in WATCHED_STATES or row["snapshot_id"] is None:
        raise InvalidInput(
            f"release {release_id} ({environment}) is {row['status']}:"
            " only a released release is watched"
        )
    return WatchedRelease(**row)


def _latest_verdict(session: Session, release_id: str, environment: str) -> str | None:
    return session.execute(
        text(
            "SELECT verdict FROM release_snapshots"
            " WHERE release_id = :release_id AND environment = :environment"
            " ORDER BY created_at DESC, id DESC LIMIT 1"
        ),
        {"release_id": release_id, "environment": environment},
    ).scalar_one_or_none()


def release_under_watch(
    engine: Engine, *, now: datetime, window_hours: int
) -> tuple[str, str] | None:
    """(release id, environment) of the most recent release still under watch that was
    released within the window."""
    with transaction(engine) as session:
        row = session.execute(
            text(
                """
                SELECT release_id, environment FROM releases
                 WHERE status = ANY(CAST(:states AS text[]))
                   AND released_at > :since AND released_at <= :now
                 ORDER BY released_at DESC, id DESC
                 LIMIT 1
                """
            ),
            {
                "states": sorted(WATCHED_STATES),
                "since": now - timedelta(hours=window_hours),
                "now": now,
            },
        ).first()
    return None if row is None else (row.release_id, row.environment)
