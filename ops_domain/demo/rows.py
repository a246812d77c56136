"""Passing a batch of Python rows to one set-based statement (``jsonb_to_recordset``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ops_domain.jsonable import jsonable


def rows_param(rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows as a JSON array; money travels as strings, so no float ever touches it."""
    return json.dumps(jsonable(list(rows)))


def insert_rows(session: Session, table: Any, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert a handful of story rows in one statement; ids come back in the rows' order."""
    if not rows:
        return []
    return list(
        session.scalars(insert(table).returning(table.id, sort_by_parameter_order=True), list(rows))
    )


def lookup(session: Session, column: Any, key_column: Any) -> dict[str, int]:
    """key -> id for a whole (small) table, e.g. username -> user id."""
    return dict(session.execute(select(key_column, column)).all())
