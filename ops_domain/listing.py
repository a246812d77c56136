"""Read-only lists that operators use to find what to act on: bounded, filtered, validated.

Each capability owns one query function per list (``ops_domain/<capability>/queries.py``);
this module holds what they share: who may read a list (``read_list``), the bound on rows and
the check of a filter value. A list query runs only inside ``read_list``: ``fetch_list``
refuses a session whose reader was not checked, so the CLI, a DAG and the Operations Center
pages all get the same permission check, and none can forget it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Engine, TextClause, text
from sqlalchemy.orm import Session

from ops_domain.db import transaction
from ops_domain.errors import InvalidInput
from ops_domain.rbac.actors import require_actor

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_DAYS = 366  # a by-day series covers at most a year
LIST_PERMISSION = "reports.view"
_CHECKED_READER = "ops_domain.listing.checked_reader"  # key in Session.info

Query = Callable[..., list[dict[str, Any]]]


def read_list(
    engine: Engine, query: Query, *, actor_username: str, what: str, **filters: Any
) -> list[dict[str, Any]]:
    """``query(session, **filters)`` for an actor who may read reports, in a read-only
    transaction: a list never changes anything, whoever asks."""
    with transaction(engine) as session:
        session.execute(text("SET TRANSACTION READ ONLY"))
        actor = require_actor(session, actor_username, LIST_PERMISSION, f"{what} list")
        session.info[_CHECKED_READER] = actor.username
        try:
            return query(session, **filters)
        finally:
            del session.info[_CHECKED_READER]


class UncheckedRead(RuntimeError):
    """A list query called outside ``read_list``: a defect of the caller, not a user mistake."""


def require_limit(limit: int) -> int:
    """A list is bounded: 1..MAX_LIMIT rows, so memory never grows with the table."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def require_filter(value: str | None, allowed: Collection[str], field: str) -> str | None:
    """An unknown filter value is bad input, never an empty list that looks like 'nothing'."""
    if value is not None and value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(sorted(allowed))}, got {value!r}")
    return value


def require_checked_reader(session: Session) -> None:
    """Refuse to read a list for a reader ``read_list`` did not check (a list query that
    does not go through ``fetch_list`` calls this first)."""
    if _CHECKED_READER not in session.info:
        raise UncheckedRead("a list is read through listing.read_list, which checks the reader")


def fetch_list(
    session: Session, statement: TextClause, params: Mapping[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Run a list query (its SQL ends in ``LIMIT :limit``) and return plain dict rows; only
    for a reader ``read_list`` checked."""
    require_checked_reader(session)
    rows = session.execute(statement, {**params, "limit": require_limit(limit)})
    return [dict(row) for row in rows.mappings()]


def require_day_window(first_day: date, last_day: date) -> tuple[date, date]:
    """A by-day series runs forward over at most ``MAX_DAYS`` days."""
    if last_day < first_day:
        raise InvalidInput(f"the window ends ({last_day}) before it starts ({first_day})")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise InvalidInput(f"a by-day series covers at most {MAX_DAYS} days")
    return first_day, last_day


def fetch_day_series(
    session: Session, statement: TextClause, first_day: date, last_day: date, limit: int
) -> list[dict[str, Any]]:
    """Run a by-day series query (its SQL reads ``:first_day`` .. ``:last_day`` and ends in
    ``LIMIT :limit``) over a window ``require_day_window`` accepts; only for a reader
    ``read_list`` checked."""
    first_day, last_day = require_day_window(first_day, last_day)
    return fetch_list(session, statement, {"first_day": first_day, "last_day": last_day}, limit)


def open_at_end_of_each_day(changes: str, counts: tuple[str, ...]) -> TextClause:
    """A by-day series (``:first_day`` .. ``:last_day``) of how many things were open at the end
    of each UTC day, from ``changes``: a SELECT of ``day`` and, per name in ``counts``, +1 when
    one opened and -1 when one closed. One pass over the changes, a running sum per day."""
    running = ", ".join(f"CAST(sum(sum({c})) OVER (ORDER BY day) AS bigint) AS {c}" for c in counts)
    return text(
        f"""
        WITH changes AS ({changes}),
        running AS MATERIALIZED (SELECT day, {running} FROM changes GROUP BY day)
        SELECT CAST(d.day AS date) AS day, {", ".join(f"coalesce(r.{c}, 0) AS {c}" for c in counts)}
          FROM generate_series(CAST(:first_day AS date), CAST(:last_day AS date),
                               interval '1 day') AS d(day)
          LEFT JOIN LATERAL (SELECT {", ".join(f"running.{c}" for c in counts)} FROM running
                              WHERE running.day <= CAST(d.day AS date)
                              ORDER BY running.day DESC LIMIT 1) r ON true
         ORDER BY d.day
         LIMIT :limit
        """
    )
