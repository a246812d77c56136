"""Chain heads published outside the ops database, so a recomputed chain is caught.

After each seal the chain's head (``link_no``, audit id, hash) is appended to
``published_heads`` in the audit export database (``OPS_AUDIT_DATABASE_URL``), under a login
of that database which the ops database's logins are not. Whoever rewrites audit rows and
recomputes every link inside the ops database (its owner, a superuser) cannot make the chain
agree with heads published before: ``audit verify`` compares each published head with the
link at the same position.

The table is created by the publishing login on first use and refuses UPDATE and DELETE.
``source`` names the ops database a head belongs to, so one export database can serve
several.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from ops_domain.audit.chain import SealReport
from ops_domain.db import transaction

_SCHEMA = (
    "SELECT pg_advisory_xact_lock(hashtext('published_heads'))",
    """
    CREATE TABLE IF NOT EXISTS published_heads (
        source text NOT NULL,
        link_no bigint NOT NULL,
        audit_id bigint NOT NULL,
        chain_hash varchar(64) NOT NULL,
        published_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, link_no)
    )
    """,
    """
    CREATE OR REPLACE FUNCTION published_heads_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% on published_heads refused: rows are append-only', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE OR REPLACE TRIGGER published_heads_append_only BEFORE UPDATE OR DELETE ON published_heads
        FOR EACH ROW EXECUTE FUNCTION published_heads_append_only()
    """,
)

_PUBLISH = text(
    """
    INSERT INTO published_heads (source, link_no, audit_id, chain_hash)
    VALUES (:source, :link_no, :audit_id, :chain_hash)
    ON CONFLICT (source, link_no) DO NOTHING
    RETURNING link_no
    """
)

_HEADS = text(
    "SELECT link_no, audit_id, chain_hash, published_at FROM published_heads"
    " WHERE source = :source ORDER BY link_no"
)

_EXISTS = text("SELECT to_regclass('published_heads') IS NOT NULL")

_CHAIN_AT = text(
    "SELECT link_no, chain_hash FROM audit_chain WHERE link_no = ANY(CAST(:links AS bigint[]))"
)


@dataclass(frozen=True)
class HeadComparison:
    """How many published heads were compared with the chain, and the first disagreement."""

    compared: int
    latest_link: int | None
    problem: str | None


def source_of(ops_engine: Engine) -> str:
    """The ops database a chain belongs to, as its heads are filed: its name."""
    with transaction(ops_engine) as session:
        return session.execute(text("SELECT current_database()")).scalar_one()


def publish_head(export_engine: Engine, source: str, head: SealReport) -> bool:
    """Append ``head`` to the published heads (once per link); False when already there or
    there is no head."""
    if head.head_link is None or head.head_id is None:
        return False
    with transaction(export_engine) as session:
        if not session.execute(_EXISTS).scalar_one():
            for statement in _SCHEMA:
                session.execute(text(statement))
        published = session.execute(
            _PUBLISH,
            {
                "source": source,
                "link_no": head.head_link,
                "audit_id": head.head_id,
                "chain_hash": head.head_hash,
            },
        ).first()
    return published is not None


def compare_with_published(ops_engine: Engine, export_engine: Engine) -> HeadComparison:
    """Every published head must still be the chain's link at its position."""
    source = source_of(ops_engine)
    with transaction(export_engine) as session:
        if not session.execute(_EXISTS).scalar_one():
            return HeadComparison(compared=0, latest_link=None, problem=None)
        heads = session.execute(_HEADS, {"source": source}).all()
    if not heads:
        return HeadComparison(compared=0, latest_link=None, problem=None)
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
            )
    return HeadComparison(compared=len(heads), latest_link=heads[-1].link_no, problem=None)
