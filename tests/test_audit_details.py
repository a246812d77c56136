"""The audit log's free-form column has one name, ``details``, in Python and in the database;
renaming it (migration 0009, from ``metadata``) left every sealed link and published head valid."""

from __future__ import annotations

from sqlalchemy import Engine, text

from ops_domain.audit.chain import (
    CANONICAL_ROW_SQL,
    GENESIS_HASH,
    link_hash,
    seal_audit_log,
    verify_chain,
)
from ops_domain.audit.log import record_audit
from ops_domain.db import transaction


def test_the_column_is_called_details_in_the_database(engine: Engine) -> None:
    with transaction(engine) as session:
        record_audit(
            session,
            actor_id=None,
            action="test.details",
            target_type="test",
            target_id=1,
            details={"note": "checked"},
        )
    with engine.begin() as conn:
        stored = conn.execute(text("SELECT details FROM audit_log WHERE action = 'test.details'"))
        assert stored.scalar_one() == {"note": "checked"}


def test_links_sealed_under_the_old_column_name_still_verify(engine: Engine) -> None:
    with transaction(engine) as session:
        for number in (1, 2):
            record_audit(
                session,
                actor_id=None,
                action="test.renamed",
                target_type="test",
                target_id=number,
                details={"n": number},
            )
    seal_audit_log(engine)
    old_canonical = CANONICAL_ROW_SQL.replace("a.details", "a.metadata")
    with engine.begin() as conn:  # the row texts as a seal before migration 0009 saw them
        conn.execute(text("ALTER TABLE audit_log RENAME COLUMN details TO metadata"))
        texts = conn.execute(text(f"SELECT {old_canonical} FROM audit_log a ORDER BY a.id"))
        old_texts = texts.scalars().all()
        conn.execute(text("ALTER TABLE audit_log RENAME COLUMN metadata TO details"))
        stored = conn.execute(text("SELECT chain_hash FROM audit_chain ORDER BY link_no"))
        hashes = stored.scalars().all()
    previous, expected = GENESIS_HASH, []
    for canonical in old_texts:
        previous = link_hash(previous, canonical)
        expected.append(previous)
    assert hashes == expected
    assert verify_chain(engine).intact
