"""Tamper evidence for the audit log: a sha256 hash chain over audit rows, in sealing order.

``seal_audit_log`` links every committed row that has no link yet: ``chain_hash =
sha256(previous chain_hash || canonical text of the row)``, stored in the append-only
``audit_chain`` table at the next ``link_no``. Writers are never serialised by the chain, and
a seal never waits for them: a row still inside an open transaction is not visible yet and is
chained by the next seal, after rows with higher ids. Nobody locks ``audit_log`` for sealing,
so nobody can stall its writers by holding that lock (issue 18, finding 6). Two sealers at
once collide on ``link_no`` (unique): one of them retries.

Only the sealing role may insert links (the application role reads them). ``verify_chain``
checks every link against the stored hash of the link before it, so an edit is named at the
row edited, not at every row after it; a deleted link shows as a gap in ``link_no``. Whoever
can rewrite both tables (the owner, a superuser) can recompute the whole chain: the heads
published outside the ops database (``ops_domain.audit.published``) catch that.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ops_domain.audit.models import AuditChainLink
from ops_domain.db import transaction

GENESIS_HASH = "0" * 64
CHUNK = 5_000
CHECK_CHUNK = 50_000  # links hashed per statement by verify_chain
SEAL_ATTEMPTS = 3
# jsonb text output is canonical (sorted keys, fixed spacing); created_at always in UTC.
# The principal columns (migration 0004) join the text only when the row has them: rows
# written before they existed keep the text, hence the seal, they were sealed with.
CANONICAL_ROW_SQL = """
    (jsonb_build_array(a.id, a.action, a.actor_id, a.target_type, a.target_id, a.before,
                       a.after, a.details,
                       to_char(a.created_at AT TIME ZONE 'UTC',
                               'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
     || CASE WHEN a.channel IS NULL THEN '[]'::jsonb
             ELSE jsonb_build_array(a.channel, a.principal, a.principal_ref, a.database_user)
        END)::text
"""

_UNSEALED_IDS = text(
    """
    SELECT a.id FROM audit_log a
     WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id)
     ORDER BY a.id
    """
)

_ROWS = text(
    f"""
    SELECT a.id, {CANONICAL_ROW_SQL} AS canonical
      FROM audit_log a WHERE a.id = ANY(CAST(:ids AS bigint[])) ORDER BY a.id
    """
)

_CHAIN_HEAD = text(
    "SELECT link_no, audit_id, chain_hash FROM audit_chain ORDER BY link_no DESC LIMIT 1"
)

_LINK_RANGE = text(
    """
    SELECT min(link_no) AS first_link, max(link_no) AS last_link FROM audit_chain
     WHERE audit_id BETWEEN :first_id AND :last_id
    """
)

_LINK_HASH = text("SELECT chain_hash FROM audit_chain WHERE link_no = :link_no")

_LINK_COUNT = text("SELECT count(*) FROM audit_chain WHERE link_no > :after AND link_no <= :last")

_LINK_BEFORE = text("SELECT coalesce(max(link_no), 0) FROM audit_chain WHERE link_no < :link_no")

# The links of a range, in chain order, each with the text of its row (NULL: row deleted).
_LINKS_AND_ROWS = text(
    f"""
    SELECT c.link_no, c.audit_id AS id, c.chain_hash,
           CASE WHEN a.id IS NOT NULL THEN {CANONICAL_ROW_SQL} END AS canonical
      FROM audit_chain c
      LEFT JOIN audit_log a ON a.id = c.audit_id
     WHERE c.link_no > :after AND c.link_no <= :last
     ORDER BY c.link_no
    """
)

# The next ``:chunk`` links after ``:after`` checked in the database: each must follow the
# link before it (no gap), have its row (not deleted) and hash as the chain rule says (not
# edited). Returns how many were checked, the last one, and the first broken one, which
# ``_name_break`` then names.
_CHECK_CHUNK = text(
    f"""
    WITH chunk AS MATERIALIZED (
        SELECT link_no, audit_id, chain_hash,
               coalesce(lag(chain_hash) OVER w, :previous) AS previous,
               coalesce(lag(link_no) OVER w, :after) AS previous_link
          FROM (SELECT * FROM audit_chain WHERE link_no > :after AND link_no <= :last
                 ORDER BY link_no LIMIT :chunk) links
        WINDOW w AS (ORDER BY link_no)
    )
    SELECT count(*) AS checked, max(c.link_no) AS last_link,
           min(c.link_no) FILTER (
               WHERE c.link_no <> c.previous_link + 1 OR a.id IS NULL
                  OR encode(sha256(convert_to(c.previous || {CANONICAL_ROW_SQL}, 'UTF8')), 'hex')
                     <> c.chain_hash
           ) AS first_bad
      FROM chunk c
      LEFT JOIN audit_log a
        ON a.id = c.audit_id
       AND a.id BETWEEN (SELECT min(audit_id) FROM chunk) AND (SELECT max(audit_id) FROM chunk)
    """
)

_WORK_MEM = text("SELECT set_config('work_mem', '64MB', true)")

_CURRENT_EPOCH = text("SELECT coalesce(max(epoch), 1) FROM audit_chain_epochs")

_EPOCHS = text("SELECT epoch, reason, started_by, started_at FROM audit_chain_epochs")

_NEW_EPOCH = text(
    """
    INSERT INTO audit_chain_epochs (epoch, reason)
    SELECT coalesce(max(epoch), 1) + 1, :reason FROM audit_chain_epochs
    RETURNING epoch
    """
)


def link_hash(previous_hash: str, canonical_row: str) -> str:
    """The chain rule: sha256 over the previous link's hash followed by the row's text."""
    return hashlib.sha256((previous_hash + canonical_row).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SealReport:
    """What one seal chained, and the chain's head after it (None: nothing was ever sealed)."""

    sealed: int
    head_id: int | None
    head_hash: str
    head_link: int | None = None
    epoch: int = 1


@dataclass(frozen=True)
class ChainPosition:
    """A link already verified: checking resumes after it (``audit verify`` checkpoints)."""

    link_no: int
    chain_hash: str
    verified_at: datetime


@dataclass(frozen=True)
class Epoch:
    """A recorded restart of the chain (``audit_chain_epochs``)."""

    epoch: int
    reason: str
    started_by: str
    started_at: datetime


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` checked, and the first broken row (None: the chain is intact)."""

    checked: int
    first_break_id: int | None
    problem: str | None
    first_link: int | None = None  # where checking started (after a checkpoint: past it)
    last_link: int | None = None
    last_hash: str | None = None  # of ``last_link``, when the chain is intact

    @property
    def intact(self) -> bool:
        return self.problem is None


def seal_audit_log(engine: Engine) -> SealReport:
    """Chain every committed audit row without a link, in id order, in one transaction;
    retried when another seal committed links at the same moment."""
    for attempt in range(1, SEAL_ATTEMPTS + 1):
        try:
            with transaction(engine) as session:
                return _seal(session)
        except IntegrityError:
            if attempt == SEAL_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _seal(session: Session) -> SealReport:
    epoch = session.execute(_CURRENT_EPOCH).scalar_one()
    head = session.execute(_CHAIN_HEAD).first()
    link_no, audit_id, previous = (
        (head.link_no, head.audit_id, head.chain_hash) if head else (0, None, GENESIS_HASH)
    )
    ids = list(session.scalars(_UNSEALED_IDS))
    for start in range(0, len(ids), CHUNK):
        links = []
        for row in session.execute(_ROWS, {"ids": ids[start : start + CHUNK]}):
            previous = link_hash(previous, row.canonical)
            link_no += 1
            audit_id = row.id
            links.append({"link_no": link_no, "audit_id": row.id, "chain_hash": previous})
        session.execute(insert(AuditChainLink), links)
    return SealReport(
        sealed=len(ids),
        head_id=audit_id,
        head_hash=previous,
        head_link=link_no or None,
        epoch=epoch,
    )


def chain_head(engine: Engine) -> SealReport:
    """The chain's current head, sealing nothing."""
    with transaction(engine) as session:
        epoch = session.execute(_CURRENT_EPOCH).scalar_one()
        head = session.execute(_CHAIN_HEAD).first()
    if head is None:
        return SealReport(sealed=0, head_id=None, head_hash=GENESIS_HASH, epoch=epoch)
    return SealReport(
        sealed=0,
        head_id=head.audit_id,
        head_hash=head.chain_hash,
        head_link=head.link_no,
        epoch=epoch,
    )


def start_epoch(session: Session, reason: str) -> int:
    """Record a deliberate restart of the chain, in the caller's transaction (the one that
    empties ``audit_chain``); returns the new epoch."""
    return session.execute(_NEW_EPOCH, {"reason": reason}).scalar_one()


def chain_epochs(engine: Engine) -> dict[int, Epoch]:
    """Every recorded epoch after the first, by number."""
    with transaction(engine) as session:
        return {row.epoch: Epoch(*row) for row in session.execute(_EPOCHS)}


def verify_chain(
    engine: Engine,
    *,
    first_id: int | None = None,
    last_id: int | None = None,
    after: ChainPosition | None = None,
) -> ChainReport:
    """Recheck the links of the rows with audit ids ``first_id..last_id`` (default: every
    link; ``after`` a checkpoint: every link past it), in chain order.

    A link is broken when its row no longer hashes to it (edited), when it has no row
    (deleted), or when the link before it is missing (a gap in ``link_no``). Rows without a
    link are simply not sealed yet. A checkpoint's own link must still hash as it did when
    it was verified: a chain rewritten before it (and recomputed since) is named there.
    """
    with transaction(engine) as session:
        head = session.execute(_CHAIN_HEAD).first()
        if head is None:
            return ChainReport(checked=0, first_break_id=None, problem=None)
        first_link, last_link = 1, head.link_no
        if first_id is not None or last_id is not None:
            window = session.execute(
                _LINK_RANGE, {"first_id": first_id or 0, "last_id": last_id or head.audit_id}
            ).one()
            if window.first_link is None:
                return ChainReport(checked=0, first_break_id=None, problem=None)
            first_link, last_link = window.first_link, window.last_link
        elif after is not None:
            first_link = after.link_no + 1
        previous = GENESIS_HASH
        if first_link > 1:
            previous = session.execute(_LINK_HASH, {"link_no": first_link - 1}).scalar()
            if previous is None:
                return ChainReport(0, None, f"chain link {first_link - 1} is missing")
            if after is not None and previous != after.chain_hash:
                return ChainReport(0, None, _rewritten_before(after, previous))
        report = _walk(session, first_link=first_link, last_link=last_link, previous=previous)
        return replace(report, first_link=first_link, last_link=last_link)


def _rewritten_before(checkpoint: ChainPosition, found: str) -> str:
    return (
        f"chain link {checkpoint.link_no} hashes {found[:12]}..., but audit verify checked it"
        f" as {checkpoint.chain_hash[:12]}... at {checkpoint.verified_at:%Y-%m-%d %H:%M:%S %Z}:"
        " the chain was rewritten before that checkpoint (audit verify --full names the row)"
    )


def _walk(session: Session, *, first_link: int, last_link: int, previous: str) -> ChainReport:
    """Check links ``first_link..last_link`` in the database, a chunk at a time; name the
    first broken one in Python."""
    session.execute(_WORK_MEM)  # the chunk's rows hash in memory instead of spilling
    checked = 0
    after = first_link - 1
    while after < last_link:
        chunk = session.execute(
            _CHECK_CHUNK,
            {"after": after, "last": last_link, "previous": previous, "chunk": CHECK_CHUNK},
        ).one()
        if chunk.first_bad is not None:
            before = session.execute(_LINK_BEFORE, {"link_no": chunk.first_bad}).scalar_one()
            report = _name_break(session, max(before, after), chunk.first_bad, previous, after)
            upto = session.execute(_LINK_COUNT, {"after": after, "last": chunk.first_bad})
            return replace(report, checked=checked + upto.scalar_one())
        checked += chunk.checked
        after = chunk.last_link
        previous = session.execute(_LINK_HASH, {"link_no": after}).scalar_one()
    return ChainReport(checked=checked, first_break_id=None, problem=None, last_hash=previous)


def _name_break(
    session: Session, before: int, bad: int, chunk_previous: str, chunk_after: int
) -> ChainReport:
    """The report on the first broken link ``bad``, whose predecessor is link ``before``
    (the chunk started after link ``chunk_after``, chained to ``chunk_previous``)."""
    previous = (
        chunk_previous
        if before == chunk_after
        else session.execute(_LINK_HASH, {"link_no": before}).scalar_one()
    )
    expected_link = before + 1
    for row in session.execute(_LINKS_AND_ROWS, {"after": before, "last": bad}):
        problem = _link_problem(row, expected_link, previous)
        if problem is not None:
            return ChainReport(checked=0, first_break_id=row.id, problem=problem)
        previous = row.chain_hash
        expected_link += 1
    raise AssertionError(f"chain link {bad} was found broken, then not")


def _link_problem(row: Row[Any], expected_link: int, previous: str) -> str | None:
    link_no, audit_id = row.link_no, row.id
    if link_no != expected_link:
        return (
            f"chain link {expected_link} is missing (the next is {link_no}, audit row"
            f" {audit_id}): a seal was removed"
        )
    if row.canonical is None:
        return f"audit row {audit_id} is missing: it was sealed, then deleted"
    if link_hash(previous, row.canonical) != row.chain_hash:
        return f"audit row {audit_id} does not match its seal: edited after sealing"
    return None
