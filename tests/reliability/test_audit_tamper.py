"""``audit verify``: the hash chain names an edited or deleted audit row, the completeness
rules name a state change without its audit row, and sealing never races a writer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ops_domain.audit.chain import seal_audit_log, verify_chain
from ops_domain.config import Settings
from tests.reliability.history import History, hire_staff, write_history
from tests.support.factories import Factory

pytestmark = pytest.mark.reliability
CLI = Callable[..., tuple[int, str, str]]


@pytest.fixture
def history(engine: Engine, settings: Settings, factory: Factory) -> History:
    hire_staff(factory)
    return write_history(engine, settings, factory)


def superuser_sql(engine: Engine, *statements: str, **params: object) -> None:
    """What an attacker with the owner's or a superuser's login could do."""
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def audit_id_of(engine: Engine, action: str) -> int:
    with engine.begin() as conn:
        return conn.execute(
            text("SELECT min(id) FROM audit_log WHERE action = :a"), {"a": action}
        ).scalar_one()


def test_service_written_history_verifies_complete_and_intact(history: History, cli: CLI) -> None:
    code, out, err = cli("audit", "verify", "--json")
    verdict = json.loads(out)
    assert (code, err) == (0, "")
    assert verdict["ok"] is True
    assert verdict["missing"] == []
    assert verdict["sealed_now"] == verdict["chain_rows_checked"] > 30
    assert verdict["completeness_rules"] == 30

    code, out, _ = cli("audit", "verify")
    assert code == 0
    assert "sealed now: 0 row(s)" in out
    assert out.strip().endswith("audit verify: OK")


def test_verify_names_a_sealed_row_edited_with_the_trigger_disabled(
    engine: Engine, history: History, cli: CLI
) -> None:
    assert cli("audit", "seal")[0] == 0
    forged = audit_id_of(engine, "payout.create")
    superuser_sql(
        engine,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "UPDATE audit_log SET after = jsonb_set(after, '{amount}', '\"1.00\"') WHERE id = :id",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
        id=forged,
    )
    code, out, err = cli("audit", "verify")
    assert code == 1
    assert f"audit verify: FAILED: audit row {forged} does not match its seal" in out
    assert err == ""


def test_verify_names_a_sealed_row_deleted_by_a_superuser(
    engine: Engine, history: History, cli: CLI
) -> None:
    seal_audit_log(engine)
    deleted = audit_id_of(engine, "refund.escalate")
    superuser_sql(
        engine,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "DELETE FROM audit_log WHERE id = :id",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
        id=deleted,
    )
    code, out, _ = cli("audit", "verify", "--json")
    verdict = json.loads(out)
    assert code == 1
    assert verdict["chain_first_break"] == deleted
    assert verdict["first_problem"] == (
        f"audit row {deleted} is missing: it was sealed, then deleted"
    )
    # the completeness rules see the same hole from the refund's side
    assert [m["action"] for m in verdict["missing"]] == ["refund.escalate"]


def test_verify_names_a_state_change_whose_audit_row_vanished_before_sealing(
    engine: Engine, history: History, cli: CLI
) -> None:
    superuser_sql(
        engine,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "DELETE FROM audit_log WHERE action = 'payout.resubmit'",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
    )
    code, out, _ = cli("audit", "verify")
    assert code == 1
    assert f"audit verify: FAILED: payout #{history.payout_id} (PAYOUT-" in out
    assert "has 0 payout.resubmit audit row(s), expected 1" in out


def test_a_row_inserted_below_the_seal_is_named(engine: Engine, history: History, cli: CLI) -> None:
    sealed = seal_audit_log(engine)
    superuser_sql(
        engine,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "DELETE FROM audit_log WHERE id = 3",
        "INSERT INTO audit_log (id, action, target_type, target_id)"
        " VALUES (3, 'payout.send', 'payout', '1')",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
    )
    report = verify_chain(engine)
    assert (report.first_break_id, report.checked) == (3, 3)
    assert sealed.head_id is not None
    assert sealed.head_id > 3


def test_the_chain_itself_is_append_only(engine: Engine, history: History) -> None:
    seal_audit_log(engine)
    for statement in ("UPDATE audit_chain SET chain_hash = 'x'", "DELETE FROM audit_chain"):
        with pytest.raises(DBAPIError, match="append-only"):
            superuser_sql(engine, statement)


def test_a_window_checks_only_the_records_changed_in_it(
    engine: Engine, history: History, cli: CLI
) -> None:
    superuser_sql(
        engine,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "DELETE FROM audit_log WHERE action = 'journal.post'",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
    )
    code, out, _ = cli("audit", "verify", "--since", "2030-01-01", "--until", "2030-01-02")
    assert code == 0, out
    assert "hash chain (epoch 1): 0 row(s) checked, intact" in out
    now = datetime.now(UTC)
    code, out, _ = cli(
        "audit", "verify", "--since", "2026-01-01T00:00:00Z", "--until", now.isoformat()
    )
    assert code == 1
    assert f"journal entry #{history.journal_id}" in out
    assert "journal.post" in out


def test_sealing_never_waits_for_a_writer_and_chains_its_row_once_committed(
    engine: Engine, history: History
) -> None:
    """A row still inside an open transaction is not visible to the seal, which neither
    waits for it nor chains it; the next seal chains it after rows with higher ids."""
    seal_audit_log(engine)
    writer = engine.connect()
    writer.begin()
    try:
        pending_id = writer.execute(
            text(
                "INSERT INTO audit_log (action, target_type, target_id)"
                " VALUES ('case.note', 'case', '1') RETURNING id"
            )
        ).scalar_one()
        with engine.begin() as conn:
            later_id = conn.execute(
                text(
                    "INSERT INTO audit_log (action, target_type, target_id)"
                    " VALUES ('case.note', 'case', '2') RETURNING id"
                )
            ).scalar_one()
        started = time.monotonic()
        report = seal_audit_log(engine)
        assert time.monotonic() - started < 5
        assert (report.sealed, report.head_id) == (1, later_id)
        writer.commit()
    finally:
        writer.close()
    report = seal_audit_log(engine)
    assert (report.sealed, report.head_id) == (1, pending_id)
    assert pending_id < later_id
    assert verify_chain(engine).intact
