"""The embedded server under one ``var/``, started by two processes at the same moment (the two
test workers of ``make test``, or a CLI call beside ``make demo``): one server, one ``ops``
database, both processes connected to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from ops_domain.config import PROJECT_ROOT
from ops_domain.embedded import stop_embedded_server

START = (
    "import sys; from pathlib import Path; from ops_domain.embedded import embedded_database_url;"
    " print(embedded_database_url(Path(sys.argv[1]), 'ops'))"
)


def start_in_another_process(var_dir: Path, own_tmp: Path) -> subprocess.Popen[str]:
    """Each process has a temporary directory of its own: the server package keeps its start
    lock there, so only a lock beside the data directory keeps the two apart."""
    own_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(own_tmp)}
    env.pop("XDG_RUNTIME_DIR", None)
    return subprocess.Popen(
        [sys.executable, "-c", START, str(var_dir)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_two_processes_starting_it_at_once_share_one_server(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    starters: list[subprocess.Popen[str]] = []
    try:
        starters = [start_in_another_process(var_dir, tmp_path / name) for name in ("a", "b")]
        results = [starter.communicate(timeout=120) for starter in starters]

        assert [starter.returncode for starter in starters] == [0, 0], [e for _, e in results]
        urls = {out.strip() for out, _ in results}
        assert len(urls) == 1
        engine = create_engine(urls.pop(), poolclass=NullPool)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar_one() == "ops"
    finally:
        for starter in starters:
            if starter.poll() is None:
                os.killpg(starter.pid, signal.SIGKILL)
                starter.wait()
        stop_embedded_server(var_dir)
