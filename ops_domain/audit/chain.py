"""Tamper evidence for the audit log: a sha256 hash chain over audit rows, in id order.

``seal_audit_log`` links every row not yet sealed: ``chain_hash = sha256(previous chain_hash
|| canonical text of the row)``, stored in the append-only ``audit_chain`` table. Writers are
never serialised by the chain: they insert audit rows as before, and sealing runs afterwards
(before every ``audit verify``, or on a schedule).

Sealing takes ``SHARE ROW EXCLUSIVE`` on ``audit_log`` (through the owner's
``lock_audit_log_for_sealing()``). That mode conflicts with the ``ROW EXCLUSIVE`` lock of every
transaction that inserted an audit row, so the seal waits until they committed or rolled back:
no row with a lower id can commit after sealing (ids are drawn while the inserting lock is
held). ``SHARE`` would do that too, but it is compatible with itself: two sealers could chain
the same rows at once. ``SHARE ROW EXCLUSIVE`` conflicts with itself, so sealers queue.

``verify_chain`` checks every link against the stored hash of the link before it, so an edit
is named at the row edited, not at every row after it. Limits: whoever can rewrite both
tables (the owner, a superuser) can recompute the whole chain; publish the head hash that
``audit verify`` prints to detect that too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from ops_domain.audit.models import AuditChainLink
from ops_domain.db import transaction

GENESIS_HASH = "0" * 64
CHUNK = 5_000
# jsonb text output is canonical (sorted keys, fixed spacing); created_at always in UTC.
# The principal columns (migration 0004) join the text only when the row has them: rows
# written before they existed keep the text, hence the seal, they were sealed with.
CANONICAL_ROW_SQL = """
    (jsonb_build_array(a.id, a.action, a.actor_id, a.target_type, a.target_id, a.before,
                       a.after, a.metadata,
                       to_char(a.created_at AT TIME ZONE 'UTC',
                               'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
     || CASE WHEN a.channel IS NULL THEN '[]'::jsonb
             ELSE jsonb_build_array(a.channel, a.principal, a.principal_ref, a.database_user)
        END)::text
"""

_UNSEALED_ROWS = text(
    f"""
    SELECT a.id, {CANONICAL_ROW_SQL} AS canonical
      FROM audit_log a
     WHERE a.id > :after
     ORDER BY a.id
     LIMIT :chunk
    """
)

_CHAIN_HEAD = text("SELECT audit_id, chain_hash FROM audit_chain ORDER BY audit_id DESC LIMIT 1")

_LINK_BEFORE = text(
    "SELECT chain_hash FROM audit_chain WHERE audit_id < :first ORDER BY audit_id DESC LIMIT 1"
)

# Every audit id that has a row, a link or both, with what is needed to check it.
_LINKS_AND_ROWS = text(
    f"""
    SELECT coalesce(c.audit_id, a.id) AS id, c.chain_hash,
           CASE WHEN a.id IS NOT NULL THEN {CANONICAL_ROW_SQL} END AS canonical
      FROM audit_chain c
      FULL JOIN audit_log a ON a.id = c.audit_id
     WHERE coalesce(c.audit_id, a.id) > :after
       AND coalesce(c.audit_id, a.id) <= :last
     ORDER BY 1
     LIMIT :chunk
    """
)


def link_hash(previous_hash: str, canonical_row: str) -> str:
    """The chain rule: sha256 over the previous link's hash followed by the row's text."""
    return hashlib.sha256((previous_hash + canonical_row).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SealReport:
    sealed: int
    head_id: int | None
    head_hash: str


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` checked, and the first broken row (None: the chain is intact)."""

    checked: int
    first_break_id: int | None
    problem: str | None

    @property
    def intact(self) -> bool:
        return self.first_break_id is None


def seal_audit_log(engine: Engine) -> SealReport:
    """Chain every audit row not yet sealed, in id order, in one transaction."""
    with transaction(engine) as session:
        session.execute(text("SELECT lock_audit_log_for_sealing()"))
        head = session.execute(_CHAIN_HEAD).first()
        after, previous = (head.audit_id, head.chain_hash) if head else (0, GENESIS_HASH)
        sealed = 0
        while rows := session.execute(_UNSEALED_ROWS, {"after": after, "chunk": CHUNK}).all():
            links = []
            for row in rows:
                previous = link_hash(previous, row.canonical)
                links.append({"audit_id": row.id, "chain_hash": previous})
            session.execute(insert(AuditChainLink), links)
            after = rows[-1].id
            sealed += len(rows)
        return SealReport(sealed=sealed, head_id=after or None, head_hash=previous)


def verify_chain(
    engine: Engine, *, first_id: int | None = None, last_id: int | None = None
) -> ChainReport:
    """Recheck the links of audit ids ``first_id..last_id`` (default: all sealed rows).

    A row is broken when its content no longer hashes to its link (edited), when its link has
    no row (deleted), or when it has no link although a later row has one (inserted out of
    order, or its link was removed). Rows after the chain head are simply not sealed yet.
    """
    with transaction(engine) as session:
        head = session.execute(_CHAIN_HEAD).first()
        if head is None:
            return ChainReport(checked=0, first_break_id=None, problem=None)
        last = min(last_id, head.audit_id) if last_id is not None else head.audit_id
        first = first_id or 1
        previous = session.execute(_LINK_BEFORE, {"first": first}).scalar() or GENESIS_HASH
        return _walk(session, after=first - 1, last=last, previous=previous)


def _walk(session: Session, *, after: int, last: int, previous: str) -> ChainReport:
    checked = 0
    params = {"after": after, "last": last, "chunk": CHUNK}
    while rows := session.execute(_LINKS_AND_ROWS, params).all():
        for row in rows:
            checked += 1
            problem = _link_problem(row.id, row.chain_hash, row.canonical, previous)
            if problem is not None:
                return ChainReport(checked=checked, first_break_id=row.id, problem=problem)
            previous = row.chain_hash
        params["after"] = rows[-1].id
    return ChainReport(checked=checked, first_break_id=None, problem=None)


def _link_problem(
    audit_id: int, chain_hash: str | None, canonical: str | None, previous: str
) -> str | None:
    if chain_hash is None:
        return (
            f"audit row {audit_id} is not sealed although later rows are"
            " (inserted out of order, or its seal was removed)"
        )
    if canonical is None:
        return f"audit row {audit_id} is missing: it was sealed, then deleted"
    if link_hash(previous, canonical) != chain_hash:
        return f"audit row {audit_id} does not match its seal: edited after sealing"
    return None
