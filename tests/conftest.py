"""Fixtures shared by every test: a migrated PostgreSQL database, wiped before each test.

``make test`` runs the suite in two worker processes (``tests/support/parallel.py`` says how
it is shared between them); each worker has a test database of its own on the embedded server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from ops_domain.cli.main import main as cli_main
from ops_domain.config import Settings
from ops_domain.db import create_ops_engine
from ops_domain.rbac.seeding import seed_rbac
from ops_domain.schema import upgrade_to_head
from tests.support.database import create_test_database, drop_test_database, wipe
from tests.support.factories import Factory

pytest_plugins = ["tests.support.parallel"]

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url, created = create_test_database()
    yield url
    if created:
        drop_test_database(url, created)


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = create_ops_engine(database_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    """An empty, migrated ops database with the RBAC matrix seeded."""
    wipe(migrated_engine)
    seed_rbac(migrated_engine)
    return migrated_engine


@pytest.fixture
def settings() -> Settings:
    return Settings(enabled_currencies=frozenset({"USD", "EUR", "IDR"}))


@pytest.fixture
def factory(engine: Engine) -> Factory:
    return Factory(engine)


@pytest.fixture
def cli_env(database_url: str) -> dict[str, str]:
    """Environment for running the CLI (in-process or as a subprocess) against the test DB."""
    env = dict(os.environ)
    env["OPS_DATABASE_URL"] = database_url
    env["OPS_ENABLED_CURRENCIES"] = "USD,EUR,IDR"
    env.pop("OPS_DEBUG", None)
    return env


@pytest.fixture
def cli(
    engine: Engine,
    cli_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., tuple[int, str, str]]:
    """Run ``python -m ops_domain`` in-process: returns (exit code, stdout, stderr)."""
    for key, value in cli_env.items():
        monkeypatch.setenv(key, value)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli_main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
