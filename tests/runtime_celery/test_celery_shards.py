"""Scale-out with ``make airflow-celery``: one day's settlement split into two shards runs on two
Celery workers, every event is settled exactly once, and the workers log no error while doing
it; then Ctrl-C stops every component within 10 s (the last test: it stops the platform).

Which worker ran a shard is read from the workers' own logs (each worker writes its own file;
Celery logs every workload it executes with the task instance's path, map index included). Each
worker runs one task at a time and holds no message it is not running, and each shard has
enough events to outlast the scheduler's next loop, so the second shard cannot wait for the
first worker: it goes to the other one.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, create_engine, text

from scripts.airflow_logins import AIRFLOW_ADMIN
from scripts.airflow_rest import AirflowClient
from tests.runtime.conftest import TODAY, seed_demo
from tests.runtime_celery.conftest import MakeAirflow
from tests.support.factories import Factory

DAG = "settlement_automation"
DAY = TODAY - timedelta(days=1)
MERCHANTS, EVENTS_EACH = 40, 2_500  # 100,000 events: a few seconds per shard
ERROR_LINE = re.compile(r"\[(error|critical)\s*\]|Traceback|ERROR")


@pytest.fixture
def ops(platform: MakeAirflow) -> Engine:
    """The ops database with the demo's back office (its users act) and a busy day."""
    seed_demo(platform.env, DAY)
    engine = create_engine(platform.env["OPS_DATABASE_URL"])
    factory = Factory(engine)
    merchants = [factory.merchant(f"CELERY-{n:03d}") for n in range(MERCHANTS)]
    factory.events_bulk(merchants, EVENTS_EACH, day=DAY)
    return engine


def waiting_events(ops: Engine) -> int:
    with ops.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM cashflow_events e JOIN merchants m ON m.id = e.merchant_id"
                " WHERE m.status = 'active' AND e.currency = 'USD' AND e.settlement_id IS NULL"
                " AND e.occurred_at >= :day AND e.occurred_at < :next"
            ),
            {"day": DAY, "next": DAY + timedelta(days=1)},
        ).scalar_one()


def test_two_workers_share_a_days_shards_and_settle_every_event_once(
    platform: MakeAirflow, client: Callable[[str], AirflowClient], ops: Engine
) -> None:
    waiting = waiting_events(ops)
    logs = platform.worker_logs()
    offsets = {name: path.stat().st_size for name, path in logs.items()}
    conf = {
        "business_date": DAY.isoformat(),
        "lookback_days": 0,
        "currency": "USD",
        "create_payouts": False,
        "shards": 2,
    }
    client(AIRFLOW_ADMIN).unpause(DAG)

    run_id = client("oscar").trigger(DAG, conf)
    run = client("oscar").wait(DAG, run_id, timeout=300)

    assert run.state == "success", run.failed_tasks()
    assert run.states() == dict.fromkeys(
        ("authorise_run", "plan_shards", "settle[0]", "settle[1]", "report"), "success"
    )
    written = {
        name: path.read_bytes()[offsets[name] :].decode(errors="replace")
        for name, path in logs.items()
    }
    shard_worker = {
        int(index): name
        for name, lines in written.items()
        for index in re.findall(
            rf"run_id={re.escape(run_id)}/task_id=settle/map_index=(\d+)/", lines
        )
    }
    print(f"shard -> worker: {shard_worker}; shard durations: "
          f"{[run.tasks[f'settle[{i}]'].duration for i in (0, 1)]}")  # fmt: skip
    assert sorted(shard_worker) == [0, 1]
    assert len(set(shard_worker.values())) == 2, f"one worker ran both shards: {shard_worker}"
    with ops.connect() as conn:
        settled = conn.execute(
            text(
                "SELECT count(*) AS settlements, sum(s.event_count) AS events,"
                " count(DISTINCT s.job_run_id) AS job_runs,"
                " count(DISTINCT (s.merchant_id, s.currency)) AS merchants"
                " FROM settlements s JOIN job_runs j ON j.id = s.job_run_id"
                " WHERE j.idempotency_key LIKE :key"
            ),
            {"key": f"{DAG}/{run_id}/settle/%"},
        ).one()
    assert waiting >= MERCHANTS * EVENTS_EACH
    assert settled.events == waiting
    assert waiting_events(ops) == 0
    assert settled.job_runs == 2  # one job run per shard
    assert settled.merchants == settled.settlements  # no merchant settled by both shards
    errors = {name: [ln for ln in text_.splitlines() if ERROR_LINE.search(ln)]
              for name, text_ in written.items()}  # fmt: skip
    assert errors == {name: [] for name in logs}
    ops.dispose()


def test_ctrl_c_stops_every_component_within_10_s(platform: MakeAirflow) -> None:
    printed = "".join(platform.output)

    started = time.monotonic()
    os.killpg(platform.process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
    platform.process.wait(timeout=30)
    stopped_after = time.monotonic() - started

    assert f"Airflow UI: {platform.base_url}" in printed  # the port AIRFLOW__API__PORT named
    assert "passwords: printed above, once" in printed
    assert stopped_after < 10.0, f"stopped after {stopped_after:.1f} s"
    assert platform.process.returncode == 0
    assert platform.still_running() == []
