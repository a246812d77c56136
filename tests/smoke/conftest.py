"""Smoke suite guard: it empties the database it runs in, so never let that be the ops one."""

from __future__ import annotations

import os

import pytest

from ops_domain.readiness.isolation import database_location


def pytest_sessionstart(session: pytest.Session) -> None:
    target, ops = os.environ.get("OPS_TEST_DATABASE_URL"), os.environ.get("OPS_DATABASE_URL")
    if target and ops and database_location(target) == database_location(ops):
        pytest.exit(
            "OPS_TEST_DATABASE_URL is the ops database: the smoke suite empties its database",
            returncode=2,
        )
