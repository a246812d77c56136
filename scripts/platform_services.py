"""The platform around the jobs for a local run: the metrics exporter, a Prometheus scraping
it (when the ``prometheus`` binary is installed), a redis broker for the Celery executor, and
the Keycloak settings of the committed hardened realm export. Everything listens on 127.0.0.1
only and stops when the block ends.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ops_domain.config import PROJECT_ROOT
from ops_domain.metrics.check import check_metrics
from ops_domain.metrics.exporter import MetricsServer, metrics_engine

REALM_EXPORT = PROJECT_ROOT / "deploy" / "keycloak" / "realm.json"
# The OIDC settings production uses with that realm (see .env.example); the check reads the
# realm from the export file instead of a live admin API.
KEYCLOAK_SETTINGS = {
    "KEYCLOAK_BASE_URL": "https://sso.wallet-ops.example.com",
    "KEYCLOAK_REALM": "wallet-ops",
    "KEYCLOAK_CLIENT_ID": "wallet-ops-airflow",
    "KEYCLOAK_REDIRECT_URI": "https://airflow.wallet-ops.example.com/auth/login_callback",
    "KEYCLOAK_POST_LOGOUT_REDIRECT_URI": (
        "https://airflow.wallet-ops.example.com/auth/logout_callback"
    ),
    "KEYCLOAK_SCOPES": "openid profile email",
    "KEYCLOAK_ROLE_GROUP_MAP": (
        "ops-super-admin:super_admin,ops-admin:admin,ops-finance:finance,ops-risk:risk,"
        "ops-operation:operation,ops-treasury:treasury,ops-customer-service:customer_service,"
        "ops-sales:sales"
    ),
    "KEYCLOAK_REALM_EXPORT": str(REALM_EXPORT),
}
SCRAPE_WAIT_SECONDS = 60.0
BROKER_WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class Observability:
    """Where the running exporter and Prometheus answer, as the ``metrics`` check reads them."""

    metrics_url: str
    token: str
    prometheus_url: str | None
    prometheus: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)

    def environment(self) -> dict[str, str]:
        env = {"OPS_METRICS_URL": self.metrics_url, "OPS_METRICS_TOKEN": self.token}
        if self.prometheus_url:
            env["OPS_PROMETHEUS_URL"] = self.prometheus_url
        return env

    def wait_until_scraped(self) -> None:
        """Until Prometheus has stored the business series (no-op without Prometheus)."""
        if self.prometheus is not None and self.prometheus_url is not None:
            _wait_until_scraped(self.metrics_url, self.prometheus_url, self.token, self.prometheus)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def observability(ops_url: str, work_dir: Path, log: Path) -> Iterator[Observability]:
    """Start the exporter (token-protected) and, if installed, Prometheus scraping it with
    the token; yield at once. Prometheus stores its first samples about 5 s after it starts
    (its target discovery reports every 5 s), so a caller does its other start-up work first
    and calls ``wait_until_scraped()`` before anything reads the series."""
    token = secrets.token_urlsafe(24)
    engine = metrics_engine(ops_url)
    server = MetricsServer(engine, port=free_port(), token=token, cache_seconds=1.0).start()
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        prometheus_url = None
        binary = shutil.which("prometheus")
        if binary is not None:
            prometheus_url, prometheus = _start_prometheus(binary, server.url, token, work_dir, log)
        yield Observability(server.url, token, prometheus_url, prometheus)
    finally:
        if prometheus is not None:
            stop_process_group(prometheus)
        server.stop()
        engine.dispose()


def prometheus_config(metrics_url: str, token: str) -> str:
    target = metrics_url.split("//", 1)[1].split("/", 1)[0]
    return f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: wallet_ops
    authorization:
      type: Bearer
      credentials: {token}
    static_configs:
      - targets: ["{target}"]
"""


def _start_prometheus(
    binary: str, metrics_url: str, token: str, work_dir: Path, log: Path
) -> tuple[str, subprocess.Popen[bytes]]:
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    config = work_dir / "prometheus.yml"
    config.write_text(prometheus_config(metrics_url, token))
    config.chmod(0o600)
    address = f"127.0.0.1:{free_port()}"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={work_dir / 'data'}",
                f"--web.listen-address={address}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return f"http://{address}", process


def _wait_until_scraped(
    metrics_url: str, prometheus_url: str, token: str, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + SCRAPE_WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}")
        if check_metrics(metrics_url, prometheus_url, token, timeout=2.0).ok:
            return
        time.sleep(0.5)
    raise RuntimeError(f"prometheus did not scrape {metrics_url} within {SCRAPE_WAIT_SECONDS}s")


@contextmanager
def redis_broker(work_dir: Path, log: Path) -> Iterator[str]:
    """Debian's ``redis-server`` on 127.0.0.1 with a config of its own (password, no
    persistence); yields the broker URL once it answers."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: `make redis` installs it")
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    password, port = secrets.token_urlsafe(24), free_port()
    config = work_dir / "redis.conf"
    config.write_text(redis_config(port, password, work_dir))
    config.chmod(0o600)
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [binary, str(config)], stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        _wait_for_redis(url, process)
        yield url
    finally:
        stop_process_group(process)


def redis_config(port: int, password: str, work_dir: Path) -> str:
    return (
        f"bind 127.0.0.1\nport {port}\nprotected-mode yes\ndaemonize no\n"
        f'dir {work_dir}\nsave ""\nappendonly no\nrequirepass {password}\n'
    )


def _wait_for_redis(url: str, process: subprocess.Popen[bytes]) -> None:
    import redis

    deadline = time.monotonic() + BROKER_WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            if redis.Redis.from_url(url, socket_timeout=1).ping():
                return
        except redis.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"redis-server did not answer within {BROKER_WAIT_SECONDS:.0f} s")


def stop_process_group(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Terminate the process group we started; kill it if it does not exit in time."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
