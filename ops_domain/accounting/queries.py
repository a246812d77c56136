"""The journal-entry list accountants read to find what to approve, post or reverse
(read-only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.accounting.models import ENTRY_STATES
from ops_domain.listing import DEFAULT_LIMIT, fetch_list, require_filter

# An entry's pending approval (id, kind, requester) is what `journals approve|reject` needs.
_COLUMNS = """
    SELECT e.id, e.entry_no, e.entry_date, e.currency, e.status, e.description,
           coalesce(l.total_debit, 0) AS total_debit, reversed.entry_no AS reversal_of_no,
           maker.username AS maker, poster.username AS posted_by, e.posted_at,
           a.id AS approval_id, a.kind AS approval_kind, requester.username AS requested_by,
           a.requested_at, e.created_at
"""
_DETAILS = """
      JOIN users maker ON maker.id = e.maker_id
      LEFT JOIN users poster ON poster.id = e.posted_by
      LEFT JOIN journal_entries reversed ON reversed.id = e.reversal_of
      LEFT JOIN LATERAL (SELECT sum(jl.debit) AS total_debit
                           FROM journal_lines jl WHERE jl.entry_id = e.id) l ON true
      LEFT JOIN users requester ON requester.id = a.requested_by
     WHERE (CAST(:status AS text) IS NULL OR e.status = :status)
"""
_JOURNALS = text(
    f"""
    {_COLUMNS}
      FROM journal_entries e
      LEFT JOIN LATERAL (SELECT ja.id, ja.kind, ja.requested_by, ja.requested_at
                           FROM journal_approvals ja
                          WHERE ja.entry_id = e.id AND ja.status = 'pending'
                          ORDER BY ja.id LIMIT 1) a ON true
    {_DETAILS}
     ORDER BY e.id DESC
     LIMIT :limit
    """
)
# Awaiting a checker: driven by the pending approvals (the partial index on pending ones), the
# longest-waiting first, bounded before any entry is joined: the list costs what is pending,
# not every entry of the books.
_AWAITING_APPROVAL = text(
    f"""
    {_COLUMNS}
      FROM (SELECT pending.*
              FROM (SELECT DISTINCT ON (ja.entry_id) ja.id, ja.entry_id, ja.kind,
                           ja.requested_by, ja.requested_at
                      FROM journal_approvals ja
                     WHERE ja.status = 'pending'
                     ORDER BY ja.entry_id, ja.id) pending
             WHERE CAST(:status AS text) IS NULL
                OR EXISTS (SELECT 1 FROM journal_entries x
                            WHERE x.id = pending.entry_id AND x.status = :status)
             ORDER BY pending.requested_at, pending.entry_id DESC
             LIMIT :limit) a
      JOIN journal_entries e ON e.id = a.entry_id
    {_DETAILS}
     ORDER BY a.requested_at, a.entry_id DESC
     LIMIT :limit
    """
)


def list_journals(
    session: Session,
    *,
    status: str | None = None,
    pending_approval: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """Journal entries, newest first, with their pending approval if any;
    ``pending_approval`` keeps those awaiting a checker, the longest-waiting first."""
    params = {"status": require_filter(status, ENTRY_STATES.states, "status")}
    statement = _AWAITING_APPROVAL if pending_approval else _JOURNALS
    return fetch_list(session, statement, params, limit)
