"""The per-test reset: every table empty and every id sequence restarted, as freshly migrated."""

from __future__ import annotations

from sqlalchemy import Engine, text

from tests.support.database import ALL_TABLES, wipe
from tests.support.factories import Factory


def test_wipe_empties_every_table_and_restarts_ids(engine: Engine, factory: Factory) -> None:
    factory.user("ana", "operation")
    merchant = factory.merchant()
    factory.event(merchant, "10.00")
    with engine.connect() as conn:  # an insert rolled back still draws from the sequence
        conn.execute(text("SELECT nextval(pg_get_serial_sequence('merchants', 'id'))"))
        conn.rollback()

    wipe(engine)

    with engine.connect() as conn:
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ALL_TABLES
        }
    assert set(counts.values()) == {0}, {t: n for t, n in counts.items() if n}
    assert Factory(engine).merchant() == merchant  # the same first id again


def test_wipe_leaves_the_guards_on(engine: Engine, factory: Factory) -> None:
    factory.user("ana", "operation")
    wipe(engine)
    with engine.connect() as conn:
        replica = conn.execute(text("SHOW session_replication_role")).scalar_one()
        enabled = conn.execute(
            text("SELECT tgenabled FROM pg_trigger WHERE tgname = 'audit_log_no_truncate'")
        ).scalar_one()
    assert (replica, enabled) == ("origin", "O")
