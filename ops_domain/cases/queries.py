"""The operation-case list operators read to find what to work on (read-only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.cases.models import CASE_STATES, PRIORITIES
from ops_domain.listing import DEFAULT_LIMIT, fetch_list, require_filter

_CASES = text(
    """
    SELECT c.id, c.case_no, c.case_type, c.priority, c.status, c.title, m.code AS merchant_code,
           assignee.username AS assignee, c.sla_due_at, c.release_id,
           creator.username AS created_by, c.created_at, c.updated_at
      FROM cases c
      JOIN users creator ON creator.id = c.created_by
      LEFT JOIN users assignee ON assignee.id = c.assignee_id
      LEFT JOIN merchants m ON m.id = c.merchant_id
     WHERE (CAST(:status AS text) IS NULL OR c.status = :status)
       AND (CAST(:priority AS text) IS NULL OR c.priority = :priority)
     ORDER BY c.id DESC
     LIMIT :limit
    """
)


def list_cases(
    session: Session,
    *,
    status: str | None = None,
    priority: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Cases, newest first, optionally of one status and priority."""
    params = {
        "status": require_filter(status, CASE_STATES.states, "status"),
        "priority": require_filter(priority, PRIORITIES, "priority"),
    }
    return fetch_list(session, _CASES, params, limit)
