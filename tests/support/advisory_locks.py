"""Sessions queued on an advisory lock, counted in the caller's own database: ``pg_locks``
shows the whole server, where the other test worker's database takes the same locks (the same
lock spaces, merchants numbered from 1) at the same time."""

from __future__ import annotations

from sqlalchemy import Connection, text

WAITING = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def advisory_lock_waiters(conn: Connection, key: tuple[int, int] | None = None) -> int:
    """How many sessions wait for an advisory lock here; with ``key`` (two-int form, as in
    ``pg_advisory_lock(space, id)``) only for that one."""
    if key is None:
        return conn.execute(text(WAITING)).scalar_one()
    space, object_id = key
    return conn.execute(
        text(f"{WAITING} AND classid = :space AND objid = :id AND objsubid = 2"),
        {"space": space, "id": object_id},
    ).scalar_one()
