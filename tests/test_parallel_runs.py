"""How ``make test`` shares the suite between its two workers (``tests/support/parallel.py``):
the suites that must share one process go whole, in order, to one worker each, first thing;
every other test goes to whichever worker is free. Each worker has a database of its own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from itertools import dropwhile, takewhile
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from ops_domain.config import PROJECT_ROOT
from tests.support.advisory_locks import advisory_lock_waiters
from tests.support.database import TEST_DATABASE_ENV, create_test_database, drop_in_background
from tests.support.parallel import suite_group

SUITES = {
    "tests/airflow/test_in_airflow.py": 8,
    "tests/runtime/test_on_the_platform.py": 3,
    "tests/runtime_celery/test_on_celery.py": 2,
    "tests/test_anywhere.py": 10,
}
REPORT = re.compile(r"^\[(gw\d)\] \[ *\d+%\] PASSED (\S+) *$", re.MULTILINE)


@pytest.mark.parametrize(
    ("nodeid", "group"),
    [
        ("tests/runtime/test_platform.py::test_gate", "platforms"),
        ("tests/runtime_celery/test_celery_shards.py::test_shards[a/b]", "platforms"),
        ("tests/airflow/operations_center/test_plugin.py::test_menu", "airflow"),
        ("tests/airflow/test_dag_integrity.py::test_policy[tests/runtime/x]", "airflow"),
        ("tests/reliability/test_airflow_hostile.py::test_params", None),
        ("tests/test_runtime_gate.py::test_gate", None),
        ("tests/test_gate.py::test_x[tests/airflow/y]", None),
    ],
)
def test_the_group_of_a_test_is_its_suite_directory(nodeid: str, group: str | None) -> None:
    assert suite_group(nodeid) == group


def run_two_workers(root: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OPS_"))}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    argv = [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-v"]
    argv += ["-p", "tests.support.parallel", "-p", "no:cacheprovider"]
    process = subprocess.Popen(
        argv, cwd=root, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, out
    return out


def test_the_suites_that_share_a_process_run_whole_and_first_in_one_worker(
    tmp_path: Path,
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    for path, count in SUITES.items():
        module = tmp_path / path
        module.parent.mkdir(parents=True, exist_ok=True)
        module.write_text("".join(f"def test_{n}():\n    pass\n\n\n" for n in range(count)))

    ran: dict[str, list[str]] = {}
    for worker, test in REPORT.findall(run_two_workers(tmp_path)):
        ran.setdefault(worker, []).append(test.split("::")[0])

    airflow = ["tests/airflow/test_in_airflow.py"] * 8
    platforms = ["tests/runtime/test_on_the_platform.py"] * 3
    platforms += ["tests/runtime_celery/test_on_celery.py"] * 2
    first = [list(takewhile(suite_group, tests)) for tests in ran.values()]
    assert sorted(first) == sorted([airflow, platforms])
    then = [test for tests in ran.values() for test in dropwhile(suite_group, tests)]
    assert then == ["tests/test_anywhere.py"] * 10


def test_two_workers_refuse_one_configured_test_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_DATABASE_ENV, "postgresql://ops@db.internal/ops_scratch")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    with pytest.raises(RuntimeError, match="run the suite in one process"):
        create_test_database()
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "1")
    assert create_test_database() == ("postgresql://ops@db.internal/ops_scratch", None)


def lock_and_let_go(conn: Connection) -> None:
    conn.execute(text("SET lock_timeout = '60s'"))
    conn.execute(text("SELECT pg_advisory_lock(7, 1)"))
    conn.execute(text("SELECT pg_advisory_unlock(7, 1)"))


def test_a_session_queued_in_another_database_is_not_counted_here(
    engine: Engine, database_url: str
) -> None:
    """As the other worker's database would be: same server, same lock, one session queued."""
    server = make_url(database_url).set(database="postgres")
    other = f"ops_other_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{other}"'))
    elsewhere = create_engine(server.set(database=other), isolation_level="AUTOCOMMIT")
    try:
        with elsewhere.connect() as holder, elsewhere.connect() as waiter:
            holder.execute(text("SELECT pg_advisory_lock(7, 1)"))
            with ThreadPoolExecutor(1) as pool:
                queued = pool.submit(lock_and_let_go, waiter)
                deadline = time.monotonic() + 30
                while advisory_lock_waiters(holder, (7, 1)) == 0:
                    assert time.monotonic() < deadline, "the second session never queued"
                    time.sleep(0.05)
                with engine.connect() as here:
                    assert (advisory_lock_waiters(here), advisory_lock_waiters(here, (7, 1))) == (
                        0,
                        0,
                    )
                holder.execute(text("SELECT pg_advisory_unlock(7, 1)"))
                queued.result(timeout=60)
    finally:
        elsewhere.dispose()
        admin.dispose()
        drop_in_background(server.render_as_string(hide_password=False), [other])
