"""The test database: ``OPS_TEST_DATABASE_URL``, or a fresh database on the embedded server
(one per test worker).

Creating, emptying and dropping it is what the shipped smoke runner does with its scratch
database (``ops_domain.smoke.scratch``); the tests use the same functions."""

from __future__ import annotations

import os
from pathlib import Path

from ops_domain.config import PROJECT_ROOT
from ops_domain.smoke.scratch import (
    ALL_TABLES,
    create_scratch_database,
    drop_in_background,
    wipe,
)
from ops_domain.smoke.scratch import drop_scratch_database as drop_test_database

__all__ = [
    "ALL_TABLES",
    "TEST_DATABASE_ENV",
    "create_test_database",
    "drop_in_background",
    "drop_test_database",
    "wipe",
]

TEST_DATABASE_ENV = "OPS_TEST_DATABASE_URL"


def create_test_database() -> tuple[str, str | None]:
    """Return (url, name of a database to drop afterwards, if we created one)."""
    configured = os.environ.get(TEST_DATABASE_ENV)
    if configured:
        if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
            raise RuntimeError(
                f"{TEST_DATABASE_ENV} is one database, and each test worker empties its"
                " database before every test: run the suite in one process"
                " (make test TEST_WORKERS=0)"
            )
        return configured, None
    var_dir = Path(os.environ.get("OPS_VAR_DIR") or PROJECT_ROOT / "var")
    return create_scratch_database(var_dir, "ops_test")
