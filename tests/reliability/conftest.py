"""Fixtures of the reliability tests: the application role and an engine connected as it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ops_domain.app_role import grant_app_role
from ops_domain.db import create_ops_engine


@pytest.fixture(scope="session")
def app_role(migrated_engine: Engine, database_url: str) -> Iterator[str]:
    """A fresh application role on the test server, granted on the test database; dropped
    afterwards (roles are cluster-wide, so each session makes its own)."""
    role = f"ops_app_{uuid.uuid4().hex[:8]}"
    grant_app_role(migrated_engine, role)
    yield role
    with migrated_engine.begin() as conn:
        conn.execute(text(f"DROP OWNED BY {role}"))
    server = create_engine(make_url(database_url).set(database="postgres"))
    with server.begin() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    server.dispose()


@pytest.fixture(scope="session")
def app_database_url(database_url: str, app_role: str) -> str:
    """The test database as the application role: local socket logins are trusted here."""
    return (
        make_url(database_url)
        .set(username=app_role, password=None)
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def app_engine(app_database_url: str) -> Iterator[Engine]:
    engine = create_ops_engine(app_database_url)
    yield engine
    engine.dispose()
