"""Attacks on the audit trail with the application role's own login (issue 18 findings 3-6):
forged and back-dated rows, a poisoned or recomputed chain, a stalled sealer, jobs waiting
forever on a lock held elsewhere."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ops_domain.audit.chain import seal_audit_log
from ops_domain.audit.sealing import seal_and_publish
from ops_domain.config import PROJECT_ROOT, Settings
from ops_domain.settlement_automation import automate_settlements
from ops_domain.settlements.service import MERCHANT_LOCK_SPACE
from tests.reliability.history import History, hire_staff, write_history
from tests.support.factories import Factory

pytestmark = pytest.mark.reliability
CLI = Callable[..., tuple[int, str, str]]
DAY = date(2026, 11, 20)


def as_app(app_engine: Engine, statement: str, **params: object) -> object:
    with app_engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return result.scalar() if result.returns_rows else None


@pytest.fixture
def history(engine: Engine, app_engine: Engine, settings: Settings, factory: Factory) -> History:
    hire_staff(factory)
    return write_history(app_engine, settings, factory)


# finding 3 ---------------------------------------------------------------------------------


def test_a_back_dated_audit_row_gets_the_databases_time(
    engine: Engine, app_engine: Engine, factory: Factory
) -> None:
    rita = factory.user("rita", "risk")
    stored = as_app(
        app_engine,
        "INSERT INTO audit_log (action, actor_id, target_type, target_id, created_at)"
        " VALUES ('case.note', :rita, 'case', '1', '2020-01-01T00:00:00Z') RETURNING created_at",
        rita=rita,
    )
    assert isinstance(stored, datetime)
    assert abs(stored - factory.now()) < timedelta(minutes=1)


def test_a_forged_audit_row_for_a_change_that_never_happened_is_found(
    history: History, app_engine: Engine, factory: Factory, audit_cli: CLI
) -> None:
    assert audit_cli("audit", "verify")[0] == 0
    forged = as_app(
        app_engine,
        "INSERT INTO audit_log (action, actor_id, target_type, target_id, after)"
        " SELECT 'refund.approve', id, 'refund_request', '999999', '{\"status\": \"approved\"}'"
        " FROM users WHERE username = 'rita' RETURNING id",
    )
    code, out, _ = audit_cli("audit", "verify", "--json")
    verdict = json.loads(out)
    assert code == 1
    assert verdict["first_problem"] == (
        "refund request #999999 ((no such record)) has 1 refund.approve audit row(s), expected no"
    )
    assert forged


def test_a_forged_decision_row_on_a_real_record_is_found(
    history: History, app_engine: Engine, audit_cli: CLI
) -> None:
    as_app(
        app_engine,
        "INSERT INTO audit_log (action, actor_id, target_type, target_id)"
        " SELECT 'payout.settle', id, 'payout', :payout FROM users WHERE username = 'rita'",
        payout=str(history.payout_id),
    )
    code, out, _ = audit_cli("audit", "verify")
    assert code == 1
    assert "has 2 payout.settle audit row(s), expected 1" in out


# finding 4 ---------------------------------------------------------------------------------


def test_every_job_seals_its_rows_and_publishes_the_head_at_its_end(
    engine: Engine,
    app_engine: Engine,
    settings: Settings,
    factory: Factory,
    sealer_database_url: str,
    export_engine: Engine,
) -> None:
    hire_staff(factory)
    factory.events_bulk([factory.merchant("M-1")], 3, day=DAY)
    configured = replace(
        settings,
        sealer_database_url=sealer_database_url,
        audit_export_url=export_engine.url.render_as_string(hide_password=False),
    )
    automate_settlements(
        app_engine,
        configured,
        actor_username="olga",
        period_start=DAY,
        period_end=DAY,
        create_payouts=True,
        now=datetime(2026, 11, 21, 6, tzinfo=UTC),
    )
    assert factory.count("audit_log") == factory.count("audit_chain") > 2
    with engine.begin() as conn:
        head = conn.execute(
            text("SELECT link_no, chain_hash FROM audit_chain ORDER BY link_no DESC LIMIT 1")
        ).one()
    with export_engine.begin() as conn:
        published = conn.execute(text("SELECT link_no, chain_hash FROM published_heads")).all()
    assert published == [tuple(head)]


def test_a_chain_recomputed_by_a_superuser_disagrees_with_the_published_heads(
    engine: Engine, history: History, audit_cli: CLI
) -> None:
    assert audit_cli("audit", "seal")[0] == 0
    with engine.begin() as conn:  # edit a row, then rebuild every link from scratch
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text("ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only"))
        conn.execute(
            text(
                "UPDATE audit_log SET after = jsonb_set(after, '{amount}', '\"1.00\"')"
                " WHERE action = 'payout.create'"
            )
        )
        conn.execute(text("DELETE FROM audit_chain"))
        conn.execute(text("ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_append_only"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    seal_audit_log(engine)
    code, out, _ = audit_cli("audit", "verify")
    assert code == 1
    assert "row(s) checked, intact" in out  # the rebuilt chain is self-consistent...
    assert "the chain was rewritten" in out  # ...but not the one published


# finding 5 ---------------------------------------------------------------------------------


def test_the_app_role_cannot_poison_the_chain(
    engine: Engine, app_engine: Engine, history: History, audit_cli: CLI
) -> None:
    with pytest.raises(DBAPIError, match="permission denied"):
        as_app(
            app_engine,
            "INSERT INTO audit_chain (audit_id, link_no, chain_hash)"
            " VALUES (9000000000000, 9000000000000, repeat('f', 64))",
        )
    code, out, _ = audit_cli("audit", "verify")
    assert code == 0, out


# finding 6 ---------------------------------------------------------------------------------


def test_the_app_role_cannot_stall_audit_writers_or_the_seal(
    engine: Engine,
    app_engine: Engine,
    sealer_engine: Engine,
    export_engine: Engine,
    history: History,
) -> None:
    """The old attack (holding the sealing lock) is gone, and the strongest lock the app
    role may take in an open transaction holds up neither a writer nor a seal."""
    with pytest.raises(DBAPIError, match=r"does not exist|permission denied"):
        as_app(app_engine, "SELECT lock_audit_log_for_sealing()")
    attacker = app_engine.connect()
    attacker.begin()
    try:
        attacker.execute(text("LOCK TABLE audit_log IN ROW EXCLUSIVE MODE"))
        attacker.execute(
            text(
                "INSERT INTO audit_log (action, target_type, target_id)"
                " VALUES ('case.note', 'case', '1')"
            )
        )
        started = time.monotonic()
        as_app(
            app_engine,
            "INSERT INTO audit_log (action, target_type, target_id)"
            " VALUES ('case.note', 'case', '2')",
        )
        outcome = seal_and_publish(sealer_engine, export_engine)
        assert time.monotonic() - started < 5
        assert outcome.seal.sealed >= 1
    finally:
        attacker.rollback()
        attacker.close()


def test_a_job_waiting_for_a_lock_held_elsewhere_fails_with_exit_3(
    engine: Engine, factory: Factory, cli_env: dict[str, str]
) -> None:
    hire_staff(factory)
    merchant = factory.merchant("M-LOCKED")
    factory.events_bulk([merchant], 2, day=DAY)
    holder = engine.connect()
    holder.begin()
    try:
        holder.execute(
            text("SELECT pg_advisory_xact_lock(:space, :merchant)"),
            {"space": MERCHANT_LOCK_SPACE, "merchant": merchant},
        )
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "ops_domain", "automate_settlements",
             "--actor-username", "olga", "--period-start", str(DAY), "--period-end", str(DAY)],
            cwd=PROJECT_ROOT,
            env={**cli_env, "OPS_LOCK_TIMEOUT_SECONDS": "1"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr == (
        "error: automate_settlements: waited more than 1 s for a lock another transaction"
        " holds (OPS_LOCK_TIMEOUT_SECONDS); this batch wrote nothing: rerun once that"
        " transaction has ended\n"
    )
    assert waited < 30
    assert factory.count("settlements") == 0
