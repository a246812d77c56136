"""The Celery scale-out under test: the platform as ``make airflow-celery`` starts it (redis on
127.0.0.1, the components with the CeleryExecutor and two workers, one task at a time each) on
an embedded PostgreSQL of its own. Runs after ``tests/runtime``, whose LocalExecutor platform
is stopped by then (package scope); this one is stopped after its module (module scope), so
no two platforms ever compete for the machine. Every test here is marked ``runtime``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ops_domain.embedded import stop_embedded_server
from scripts.airflow_local import local_platform
from scripts.airflow_platform import Platform
from scripts.airflow_rest import AirflowClient
from scripts.platform_services import free_port
from tests.runtime.conftest import TODAY, mark_runtime

CELERY_DIR = Path(__file__).parent
WORKERS = 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_runtime(items, CELERY_DIR)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var_dir = tmp_path_factory.mktemp("celery_var")
    # no day to catch up: unpausing settlement_automation starts only the runs we trigger
    overrides = {"OPS_SETTLEMENT_START_DATE": TODAY.isoformat()}
    try:
        with local_platform(
            var_dir, free_port(), celery_workers=WORKERS, overrides=overrides
        ) as running:
            yield running
    finally:
        stop_embedded_server(var_dir)


@pytest.fixture(scope="module")
def client(platform: Platform) -> Callable[[str], AirflowClient]:
    return platform.client
