"""The Operations Center's pages on the bench data: how long the server takes to answer each.

The parent (``measure_pages``) gives a child process Airflow's settings of its own (a
throwaway ``AIRFLOW_HOME`` and a migrated metadata database on the bench server: the auth
manager looks every token up in its revoked-token table, as in the api-server), then the
child (``python -m bench.operations_center_pages '<json spec>'``) builds the plugin's app on
the bench database, logs in with a JWT minted by Airflow's simple auth manager as at login,
and GETs each page in-process (FastAPI's TestClient): one warm-up request, then the median
of ``REQUESTS``. Measured, never asserted: ``bench/report.py`` says whether each page met
``TARGET_MS``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench import databases
from ops_domain.config import PROJECT_ROOT
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT

METADATA_DATABASE = "bench_airflow"
LOGIN = "bench_checker"  # a person (not the service account) who may read every list
RELEASE_ID = "bench"  # the release the bench's gate run evaluates
REQUESTS = 9
TARGET_MS = 300
PLUGINS = PROJECT_ROOT / "plugins"
AIRFLOW_BIN = Path(sys.executable).parent / "airflow"


def _airflow_settings(home: str, metadata_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{LOGIN}:user",
    }


def measure_pages(server: str, ops_url: str) -> dict[str, dict[str, Any]]:
    """Each page's timings on the database at ``ops_url`` (keyed by page title)."""
    metadata_url = databases.create_database(server, METADATA_DATABASE)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-airflow-") as home:
            env = _airflow_settings(home, metadata_url)
            subprocess.run(
                [str(AIRFLOW_BIN), "db", "migrate"], env=env, check=True, capture_output=True
            )
            spec = {"url": ops_url, "login": LOGIN, "release_id": RELEASE_ID}
            done = subprocess.run(
                [sys.executable, "-m", "bench.operations_center_pages", json.dumps(spec)],
                capture_output=True,
                text=True,
                cwd=PROJECT_ROOT,
                env=env,
                check=False,
            )
    finally:
        databases.drop_database(server, METADATA_DATABASE)
    if done.returncode != 0:
        raise RuntimeError(f"Operations Center pages failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _time_page(client: Any, path: str) -> dict[str, Any]:
    """The page's timings, or only its status while the plugin does not serve it yet (404)."""
    timings = []
    for _ in range(REQUESTS + 1):
        started = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code == 404:
            return {"path": path, "status": 404}
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:500]}")
    return {
        "path": path,
        "status": 200,
        "median_ms": statistics.median(timings[1:]),
        "first_ms": timings[0],
        "timings_ms": timings[1:],
        "bytes": len(response.content),
    }


def _measure(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    if str(PLUGINS) not in sys.path:
        sys.path.append(str(PLUGINS))
    from airflow.api_fastapi.app import get_auth_manager, init_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient
    from wallet_ops_airflow.operations_center.airflow_api import AirflowApi
    from wallet_ops_airflow.operations_center.application import create_app
    from wallet_ops_airflow.operations_center.pages import PAGES

    from bench.operations import SETTINGS
    from ops_domain.db import create_ops_engine

    init_auth_manager()
    token = get_auth_manager().generate_jwt(
        SimpleAuthManagerUser(username=spec["login"], role="user")
    )
    engine = create_ops_engine(spec["url"])
    # the pages only read: nothing here triggers a run, so Airflow's REST API is never called
    app = create_app(lambda: engine, SETTINGS, AirflowApi("http://127.0.0.1:1"))
    query = f"release_id={spec['release_id']}&environment={DEFAULT_ENVIRONMENT}"
    try:
        with TestClient(app, follow_redirects=False) as client:
            client.cookies.set("_token", token)
            return {page.title: _time_page(client, f"/{page.slug}?{query}") for page in PAGES}
    finally:
        engine.dispose()


def page_summary(pages: dict[str, dict[str, Any]]) -> str:
    return ", ".join(
        f"{title} {page['median_ms']:.0f} ms" if page["status"] == 200 else f"{title} not served"
        for title, page in pages.items()
    )


def page_lines(runs: list[dict[str, Any]]) -> list[str]:
    """The report's table: each page at each scale."""
    measured = [run for run in runs if run.get("pages")]
    if not measured:
        return []
    return [
        "",
        f"Operations Center pages: server time of a GET as the login `{LOGIN}` (in-process,"
        f" Airflow's JWT checked by its auth manager), median of {REQUESTS} after one warm-up.",
        "",
        "| page | scale | median ms | first request ms | HTML KB |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {title} | {run['scale']} | {_row(run['pages'][title])} |"
            for title in measured[0]["pages"]
            for run in measured
            if title in run["pages"]
        ),
    ]


def _row(page: dict[str, Any]) -> str:
    if page["status"] != 200:
        return f"not served ({page['status']}) | | "
    return f"{page['median_ms']:.0f} | {page['first_ms']:.0f} | {page['bytes'] / 1024:.0f}"


def page_targets(runs: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each page at the largest scale."""
    top = runs[-1]
    return [
        (
            f"Operations Center {title} under {TARGET_MS} ms at scale {top['scale']}",
            f"{page['median_ms']:.0f} ms" if page["status"] == 200 else "not served",
            page["status"] == 200 and page["median_ms"] < TARGET_MS,
        )
        for title, page in top.get("pages", {}).items()
    ]


def main() -> None:
    print(json.dumps(_measure(json.loads(sys.argv[1]))))


if __name__ == "__main__":
    main()
