"""``make airflow``: the demo's platform under a real scheduler, UI on 127.0.0.1:8080
(``AIRFLOW__API__PORT`` picks another port; the workers follow it).

The same local environment as ``make demo`` (``scripts.stack.local_environment``: databases
``airflow`` and ``ops`` with their own logins, currencies USD, EUR and IDR, the Keycloak
settings and committed realm export, isolation settings), the metrics exporter and a
Prometheus scraping it when installed, then the api-server, scheduler, DAG processor and
triggerer (LocalExecutor; ``--celery`` adds redis and two Celery workers). Every person of the
demo cast logs in under their own username (passwords generated once into ``var/airflow/``
and printed the first time). The manual-only DAGs are unpaused, so the demo's release can be
gated from the UI; scheduled DAGs stay paused until someone unpauses them. Ctrl-C stops
everything within 10 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ops_domain.config import Settings
from ops_domain.db import create_ops_engine
from ops_domain.rbac.seeding import seed_rbac
from ops_domain.schema import upgrade_to_head
from scripts.airflow_logins import AIRFLOW_ADMIN, PASSWORDS_FILE, Logins, cast_logins
from scripts.airflow_platform import Platform, platform_environment, running_platform
from scripts.airflow_rest import AirflowClient
from scripts.airflow_runs import migrate_metadata
from scripts.operations_center import home_url
from scripts.platform_services import observability, redis_broker
from scripts.stack import (
    OWNER_URL_ENV,
    airflow_home,
    grant_ops_logins,
    local_environment,
    logs_dir,
)

DEFAULT_UI_PORT = 8080


@contextmanager
def local_platform(
    var_dir: Path,
    port: int,
    *,
    celery_workers: int = 0,
    log_dir: Path | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Iterator[Platform]:
    """The whole local platform, ready, on ``port``; stopped when the block ends.
    ``overrides`` are settings of the caller's (e.g. a test's start date) over the stack's."""
    log_dir = log_dir or logs_dir(var_dir) / "platform"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **local_environment(var_dir), **(overrides or {})}
    migrate_ops_schema(env[OWNER_URL_ENV])
    grant_ops_logins(env[OWNER_URL_ENV])
    migrate_metadata(env, log_dir / "airflow-setup.log")
    home = airflow_home(var_dir)
    logins = cast_logins(home)
    with ExitStack() as services:
        observed = services.enter_context(
            observability(env["OPS_DATABASE_URL"], home / "prometheus", log_dir / "prometheus.log")
        )
        broker = (
            services.enter_context(redis_broker(home / "redis", log_dir / "redis.log"))
            if celery_workers
            else None
        )
        env = platform_environment(
            {**env, **observed.environment()},
            port=port,
            logins=logins,
            home=home,
            celery_broker=broker,
        )
        with running_platform(env, log_dir, logins, celery_workers=celery_workers) as platform:
            unpause_manual_dags(platform.client(AIRFLOW_ADMIN))
            observed.wait_until_scraped()  # Prometheus started up while Airflow did
            yield platform


def unpause_manual_dags(admin: AirflowClient) -> list[str]:
    """Unpause the DAGs without a schedule (the gate, the emergency actions): unpausing them
    starts nothing, and a paused DAG's manual run would wait for an extra click."""
    manual = [
        dag["dag_id"]
        for dag in admin.get("/api/v2/dags", limit=100)["dags"]
        if dag["timetable_summary"] is None
    ]
    for dag_id in manual:
        admin.unpause(dag_id)
    return manual


def migrate_ops_schema(ops_url: str) -> None:
    """The ops schema at head with its role matrix (what ``make demo`` starts with too)."""
    engine = create_ops_engine(ops_url)
    try:
        upgrade_to_head(engine)
        seed_rbac(engine)
    finally:
        engine.dispose()


def login_lines(logins: Logins, home: Path) -> list[str]:
    lines = ["    logins (simple auth manager; each maps to the ops user of the same name):"]
    for name, role in logins.roles.items():
        note = " (Airflow administrator, no ops user)" if name == AIRFLOW_ADMIN else ""
        password = logins.passwords[name] if name in logins.generated else "(stored)"
        lines.append(f"      {name:<10} {role:<6} {password}{note}")
    stored = home / PASSWORDS_FILE
    shown = "printed above, once" if logins.generated else f"in {stored}"
    lines.append(f"    passwords: {shown} (file {stored}, mode 0600)")
    return lines


def stop_on_sigterm() -> None:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.airflow_local", description=__doc__)
    parser.add_argument("--celery", action="store_true", help="CeleryExecutor and two workers")
    args = parser.parse_args(argv)
    stop_on_sigterm()
    var_dir = Settings.from_env().var_dir.resolve()
    port = int(os.environ.get("AIRFLOW__API__PORT") or DEFAULT_UI_PORT)
    print("==> starting the local platform (logs in var/logs/platform/)", flush=True)
    try:
        with local_platform(var_dir, port, celery_workers=2 if args.celery else 0) as platform:
            print(f"==> Airflow UI: {platform.base_url}  (Ctrl-C stops everything)", flush=True)
            print(f"==> Operations Center: {home_url(platform.base_url)}", flush=True)
            for line in login_lines(platform.logins, airflow_home(var_dir)):
                print(line, flush=True)
            while True:
                platform.require_alive()
                time.sleep(1.0)
    except KeyboardInterrupt:
        print("\n==> stopped", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
