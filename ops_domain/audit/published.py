"""Chain heads published outside the ops database, so a recomputed chain is caught.

After each seal the chain's head (``link_no``, audit id, hash) is appended to
``published_heads`` in the audit export database (``OPS_AUDIT_DATABASE_URL``), under a login
of that database which the ops database's logins are not. Whoever rewrites audit rows and
recomputes every link inside the ops database (its owner, a superuser) cannot make the chain
agree with heads published before: ``audit verify`` compares each published head with the
link at the same position.

Heads are published per chain epoch (``audit_chain_epochs``): after a deliberate, recorded
restart of the chain only the current epoch's heads are compared, and heads of an epoch the
ops database does not record mean the chain was rewritten.

``verified_heads`` holds ``audit verify``'s checkpoints: the furthest link found intact, so
the next verify hashes only the links after it (``--full`` rechecks everything). The
checkpoint lives here, out of reach of the ops database's logins, and its link must still
hash as it did: a chain recomputed before it is caught there.

The tables are created by the publishing login on first use and refuse UPDATE and DELETE.
``source`` names the ops database a head belongs to, so one export database can serve
several.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.chain import ChainPosition, SealReport, chain_epochs, chain_head
from ops_domain.db import transaction

_SCHEMA = (
    "SELECT pg_advisory_xact_lock(hashtext('published_heads'))",
    """
    CREATE TABLE IF NOT EXISTS published_heads (
        source text NOT NULL,
        link_no bigint NOT NULL,
        audit_id bigint NOT NULL,
        chain_hash varchar(64) NOT NULL,
        published_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    # heads published before chain epochs belong to the first epoch
    "ALTER TABLE published_heads ADD COLUMN IF NOT EXISTS epoch bigint NOT NULL DEFAULT 1",
    "ALTER TABLE published_heads DROP CONSTRAINT IF EXISTS published_heads_pkey",
    "ALTER TABLE published_heads ADD PRIMARY KEY (source, epoch, link_no)",
    """
    CREATE TABLE IF NOT EXISTS verified_heads (
        source text NOT NULL,
        epoch bigint NOT NULL,
        link_no bigint NOT NULL,
        chain_hash varchar(64) NOT NULL,
        verified_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, epoch, link_no)
    )
    """,
    """
    CREATE OR REPLACE FUNCTION published_heads_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% on % refused: rows are append-only', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE OR REPLACE TRIGGER published_heads_append_only BEFORE UPDATE OR DELETE ON published_heads
        FOR EACH ROW EXECUTE FUNCTION published_heads_append_only()
    """,
    """
    CREATE OR REPLACE TRIGGER verified_heads_append_only BEFORE UPDATE OR DELETE ON verified_heads
        FOR EACH ROW EXECUTE FUNCTION published_heads_append_only()
    """,
)

_PUBLISH = text(
    """
    INSERT INTO published_heads (source, epoch, link_no, audit_id, chain_hash)
    VALUES (:source, :epoch, :link_no, :audit_id, :chain_hash)
    ON CONFLICT (source, epoch, link_no) DO NOTHING
    RETURNING link_no
    """
)

_HEADS = text(
    "SELECT epoch, link_no, audit_id, chain_hash, published_at FROM published_heads"
    " WHERE source = :source ORDER BY epoch, link_no"
)

# The newest piece of the schema: without it, the schema is (re)built.
_EXISTS = text("SELECT to_regclass('verified_heads') IS NOT NULL")

_CHAIN_AT = text(
    "SELECT link_no, chain_hash FROM audit_chain WHERE link_no = ANY(CAST(:links AS bigint[]))"
)

_CHECKPOINT = text(
    """
    SELECT link_no, chain_hash, verified_at FROM verified_heads
     WHERE source = :source AND epoch = :epoch
     ORDER BY link_no DESC LIMIT 1
    """
)

_RECORD_CHECKPOINT = text(
    """
    INSERT INTO verified_heads (source, epoch, link_no, chain_hash)
    VALUES (:source, :epoch, :link_no, :chain_hash)
    ON CONFLICT (source, epoch, link_no) DO NOTHING
    """
)


@dataclass(frozen=True)
class HeadComparison:
    """How many published heads were compared with the chain, and the first disagreement."""

    compared: int
    latest_link: int | None
    problem: str | None
    earlier_epochs: int = 0  # heads of chains restarted since (not compared)


def source_of(ops_engine: Engine) -> str:
    """The ops database a chain belongs to, as its heads are filed: its name."""
    with transaction(ops_engine) as session:
        return session.execute(text("SELECT current_database()")).scalar_one()


def _ensure_schema(session: Session) -> bool:
    """Build the export tables unless they are there; False when they were not (nothing
    published yet)."""
    if session.execute(_EXISTS).scalar_one():
        return True
    for statement in _SCHEMA:
        session.execute(text(statement))
    return False


def publish_head(export_engine: Engine, source: str, head: SealReport) -> bool:
    """Append ``head`` to the published heads (once per link of an epoch); False when
    already there or there is no head."""
    if head.head_link is None or head.head_id is None:
        return False
    with transaction(export_engine) as session:
        _ensure_schema(session)
        published = session.execute(
            _PUBLISH,
            {
                "source": source,
                "epoch": head.epoch,
                "link_no": head.head_link,
                "audit_id": head.head_id,
                "chain_hash": head.head_hash,
            },
        ).first()
    return published is not None


def compare_with_published(ops_engine: Engine, export_engine: Engine) -> HeadComparison:
    """Every head published in the chain's current epoch must still be the chain's link at
    its position; an epoch published outside must be one the ops database recorded."""
    source = source_of(ops_engine)
    with transaction(export_engine) as session:
        if not _ensure_schema(session):
            return HeadComparison(compared=0, latest_link=None, problem=None)
        heads = session.execute(_HEADS, {"source": source}).all()
    current = chain_head(ops_engine).epoch
    epochs = chain_epochs(ops_engine)
    unknown = sorted({h.epoch for h in heads if h.epoch > 1 and h.epoch not in epochs})
    if unknown or any(h.epoch > current for h in heads):
        epoch = (unknown or [max(h.epoch for h in heads)])[0]
        return HeadComparison(
            compared=0,
            latest_link=None,
            problem=(
                f"heads of chain epoch {epoch} were published, but the ops database's chain"
                f" is in epoch {current} and records no such restart: the chain was rewritten"
            ),
        )
    earlier = sum(1 for h in heads if h.epoch < current)
    heads = [h for h in heads if h.epoch == current]
    if not heads:
        return HeadComparison(compared=0, latest_link=None, problem=None, earlier_epochs=earlier)
    with transaction(ops_engine) as session:
        chain = dict(
            session.execute(_CHAIN_AT, {"links": [head.link_no for head in heads]}).tuples().all()
        )
    for head in heads:
        stored = chain.get(head.link_no)
        if stored != head.chain_hash:
            found = "is missing" if stored is None else f"hashes {stored[:12]}..."
            return HeadComparison(
                compared=len(heads),
                latest_link=heads[-1].link_no,
                problem=(
                    f"chain link {head.link_no} (audit row {head.audit_id}) {found}, but"
                    f" {head.chain_hash[:12]}... was published at"
                    f" {head.published_at:%Y-%m-%d %H:%M:%S %Z}: the chain was rewritten"
                ),
                earlier_epochs=earlier,
            )
    return HeadComparison(
        compared=len(heads), latest_link=heads[-1].link_no, problem=None, earlier_epochs=earlier
    )


def last_checkpoint(export_engine: Engine, source: str, epoch: int) -> ChainPosition | None:
    """The furthest link of ``epoch`` a verify found intact (None: never verified)."""
    with transaction(export_engine) as session:
        if not _ensure_schema(session):
            return None
        row = session.execute(_CHECKPOINT, {"source": source, "epoch": epoch}).first()
    return ChainPosition(*row) if row else None


def record_checkpoint(
    export_engine: Engine, source: str, epoch: int, link_no: int, chain_hash: str
) -> None:
    """Remember that the chain was verified intact up to ``link_no`` (append-only, outside
    the ops database: its logins can neither move nor forge a checkpoint)."""
    with transaction(export_engine) as session:
        _ensure_schema(session)
        session.execute(
            _RECORD_CHECKPOINT,
            {"source": source, "epoch": epoch, "link_no": link_no, "chain_hash": chain_hash},
        )
