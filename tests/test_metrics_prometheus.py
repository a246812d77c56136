"""A real Prometheus (Debian package ``prometheus``, installed by ``make prometheus``) scrapes the
exporter started through the CLI; ``check_metrics`` passes, then fails once the exporter stops.

Prometheus 2.42 cannot send custom scrape headers (``http_headers`` arrived later), so it sends
the metrics token as ``Authorization: Bearer``, which the exporter accepts like
``X-Metrics-Token``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ops_domain.metrics.check import MetricsReport, check_metrics
from tests.support.factories import Factory

TOKEN = "prometheus-scrape-token-81c4"
WAIT_SECONDS = 60.0

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local test URL)
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            pytest.fail(f"{what}: process exited with {process.returncode}")
        time.sleep(0.2)
    pytest.fail(f"{what}: not within {WAIT_SECONDS:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the process group; kill it if it does not exit in time."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@pytest.fixture
def processes() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(
        argv: list[str], log: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        with log.open("wb") as sink:
            process = subprocess.Popen(
                argv, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        stop(process)


def prometheus_config(exporter_port: int) -> str:
    return f"""
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: wallet_ops
    authorization:
      type: Bearer
      credentials: {TOKEN}
    static_configs:
      - targets: ["127.0.0.1:{exporter_port}"]
"""


def prometheus_value(prometheus: str, query: str) -> float:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (local test URL)
        result = json.load(response)["data"]["result"]
    return float(result[0]["value"][1])


def poll_report(
    condition: Callable[[MetricsReport], bool], url: str, prometheus: str
) -> MetricsReport:
    deadline = time.monotonic() + WAIT_SECONDS
    report = check_metrics(url, prometheus, token=TOKEN)
    while not condition(report) and time.monotonic() < deadline:
        time.sleep(0.5)
        report = check_metrics(url, prometheus, token=TOKEN)
    return report


def test_prometheus_scrapes_the_exporter_and_check_metrics_follows_it(
    engine: Engine,
    factory: Factory,
    cli_env: dict[str, str],
    tmp_path: Path,
    processes: Callable[..., subprocess.Popen[bytes]],
) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not installed: run `make prometheus` (Debian package)")
    maker = factory.user("prom_maker", "operation")
    source = factory.event(factory.merchant(), "100.00")
    for _ in range(3):
        factory.refund(maker, source, "5.00")

    exporter_port, prometheus_port = free_port(), free_port()
    exporter = processes(
        [
            sys.executable,
            "-m",
            "ops_domain",
            "serve_metrics",
            "--host",
            "127.0.0.1",
            "--port",
            str(exporter_port),
        ],
        tmp_path / "exporter.log",
        {**cli_env, "OPS_METRICS_TOKEN": TOKEN},
    )
    base = f"http://127.0.0.1:{exporter_port}"
    wait_for(lambda: answers(f"{base}/readyz"), "exporter ready", exporter)

    config = tmp_path / "prometheus.yml"
    config.write_text(prometheus_config(exporter_port))
    prometheus_process = processes(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
            "--log.level=warn",
        ],
        tmp_path / "prometheus.log",
    )
    prometheus = f"http://127.0.0.1:{prometheus_port}"
    wait_for(lambda: answers(f"{prometheus}/-/ready"), "prometheus ready", prometheus_process)

    url = f"{base}/metrics"
    report = poll_report(lambda r: r.ok, url, prometheus)
    assert report.ok, report.issues
    assert report.target is not None
    assert report.target["health"] == "up"
    assert report.target["labels"] == {
        "instance": f"127.0.0.1:{exporter_port}",
        "job": "wallet_ops",
    }
    assert "wallet_ops_refunds_pending_count" in report.stored_series
    assert prometheus_value(prometheus, "wallet_ops_refunds_pending_count") == 3.0
    assert prometheus_value(prometheus, f'up{{instance="127.0.0.1:{exporter_port}"}}') == 1.0

    stop(exporter)
    gone = check_metrics(url, prometheus, token=TOKEN)
    assert not gone.ok
    assert "endpoint_unreachable" in gone.issue_codes
    down = poll_report(lambda r: "target_down" in r.issue_codes, url, prometheus)
    assert down.issue_codes == {"endpoint_unreachable", "target_down"}
    assert down.target is not None
    assert down.target["health"] == "down"


def test_check_metrics_reports_prometheus_unreachable(tmp_path: Path) -> None:
    report = check_metrics(
        f"http://127.0.0.1:{free_port()}/metrics", f"http://127.0.0.1:{free_port()}"
    )
    assert report.issue_codes == {"endpoint_unreachable", "prometheus_unreachable"}
