"""``audit verify`` after a verify hashes only the new links (checkpoint kept in the audit
export database), ``--full`` rechecks them all, and a deliberate reset starts a new chain
epoch instead of looking like a rewrite."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import Engine, text

from ops_domain.audit.chain import seal_audit_log
from ops_domain.config import Settings
from ops_domain.demo.seed import seed_demo
from tests.reliability.history import History, hire_staff, write_history
from tests.support.factories import Factory

pytestmark = pytest.mark.reliability
CLI = Callable[..., tuple[int, str, str]]


@pytest.fixture
def history(engine: Engine, settings: Settings, factory: Factory) -> History:
    hire_staff(factory)
    return write_history(engine, settings, factory)


def verify(audit_cli: CLI, *args: str) -> tuple[int, dict]:
    code, out, err = audit_cli("audit", "verify", "--json", *args)
    assert err == ""
    return code, json.loads(out)


def superuser_sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def edit_first_payout_row(engine: Engine) -> None:
    superuser_sql(
        engine,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
        "UPDATE audit_log SET after = jsonb_set(after, '{amount}', '\"1.00\"')"
        " WHERE id = (SELECT min(id) FROM audit_log WHERE action = 'payout.create')",
        "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
    )


def rebuild_chain(engine: Engine) -> None:
    """What the owner could do: drop every link and chain the (edited) rows again."""
    superuser_sql(
        engine,
        "ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only",
        "DELETE FROM audit_chain",
        "ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_append_only",
    )
    seal_audit_log(engine)


def test_a_verify_after_a_verify_hashes_only_the_new_links_unless_full(
    engine: Engine, factory: Factory, history: History, audit_cli: CLI
) -> None:
    code, first = verify(audit_cli)
    assert code == 0
    sealed = first["chain_rows_checked"]
    assert sealed == factory.count("audit_chain") > 30
    assert first["chain_checked_after"] is None

    factory.user("newcomer", "operation")  # one more audit row
    code, second = verify(audit_cli)
    assert code == 0
    assert second["chain_rows_checked"] == 1
    assert second["chain_checked_after"]["link_no"] == sealed
    assert second["chain_checked_links"] == [sealed + 1, sealed + 1]

    code, again = verify(audit_cli)
    assert (code, again["chain_rows_checked"]) == (0, 0)
    code, full = verify(audit_cli, "--full")
    assert (code, full["chain_rows_checked"], full["chain_checked_after"]) == (0, sealed + 1, None)
    code, out, _ = audit_cli("audit", "verify")
    assert f"0 row(s) checked after link {sealed + 1}, verified" in out
    assert "(--full rechecks from link 1)" in out


def test_a_row_edited_before_the_checkpoint_is_found_by_full(
    engine: Engine, history: History, audit_cli: CLI
) -> None:
    assert verify(audit_cli)[0] == 0
    edit_first_payout_row(engine)

    assert verify(audit_cli)[0] == 0  # the incremental verify hashes nothing before the checkpoint
    code, full = verify(audit_cli, "--full")
    assert code == 1
    assert "does not match its seal: edited after sealing" in full["first_problem"]


def test_a_chain_rebuilt_before_the_checkpoint_fails_the_incremental_verify(
    engine: Engine, history: History, audit_cli: CLI
) -> None:
    assert verify(audit_cli)[0] == 0
    edit_first_payout_row(engine)
    rebuild_chain(engine)

    code, verdict = verify(audit_cli)
    assert code == 1
    assert "the chain was rewritten before that checkpoint" in verdict["first_problem"]
    assert verdict["chain_rows_checked"] == 0


def test_a_reset_starts_a_new_epoch_that_verifies_while_a_silent_rewrite_fails(
    engine: Engine, settings: Settings, history: History, audit_cli: CLI
) -> None:
    assert verify(audit_cli)[0] == 0
    seed_demo(
        engine,
        replace(settings, allow_reset=True),
        business_date=date(2026, 11, 23),
        reset=True,
    )

    code, out, _ = audit_cli("audit", "verify")
    assert code == 0, out
    assert "hash chain (epoch 2):" in out
    assert "of earlier chain epochs not compared" in out
    code, verdict = verify(audit_cli)
    assert (code, verdict["chain_epoch"], verdict["chain_rows_checked"]) == (0, 2, 0)

    edit_first_payout_row(engine)  # then recompute the chain without a new epoch
    rebuild_chain(engine)
    code, verdict = verify(audit_cli)
    assert code == 1
    assert "the chain was rewritten" in verdict["first_problem"]


def test_heads_of_an_epoch_the_ops_database_does_not_record_mean_a_rewrite(
    engine: Engine, history: History, audit_cli: CLI, export_engine: Engine
) -> None:
    assert verify(audit_cli)[0] == 0
    with export_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO published_heads (source, epoch, link_no, audit_id, chain_hash)"
                " SELECT source, 3, link_no, audit_id, chain_hash FROM published_heads"
            )
        )
    code, verdict = verify(audit_cli)
    assert code == 1
    assert "heads of chain epoch 3 were published" in verdict["first_problem"]
