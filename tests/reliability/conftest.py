"""Fixtures of the reliability tests: the application and sealing roles with engines connected
as them, and an audit export database under a login of its own."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ops_domain.app_role import grant_app_role, grant_sealer_role
from ops_domain.db import create_ops_engine
from tests.support.database import drop_in_background


def as_login(url: str, role: str, database: str | None = None) -> str:
    """``url`` as ``role`` (local socket logins are trusted on the test server)."""
    target = make_url(url).set(username=role, password=None)
    if database is not None:
        target = target.set(database=database)
    return target.render_as_string(hide_password=False)


def drop_role(migrated_engine: Engine, database_url: str, role: str) -> None:
    with migrated_engine.begin() as conn:
        conn.execute(text(f"DROP OWNED BY {role}"))
    server = create_engine(make_url(database_url).set(database="postgres"))
    with server.begin() as conn:
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    server.dispose()


@pytest.fixture(scope="session")
def app_role(migrated_engine: Engine, database_url: str) -> Iterator[str]:
    """A fresh application role on the test server, granted on the test database; dropped
    afterwards (roles are cluster-wide, so each session makes its own)."""
    role = f"ops_app_{uuid.uuid4().hex[:8]}"
    grant_app_role(migrated_engine, role)
    yield role
    drop_role(migrated_engine, database_url, role)


@pytest.fixture(scope="session")
def app_database_url(database_url: str, app_role: str) -> str:
    """The test database as the application role."""
    return as_login(database_url, app_role)


@pytest.fixture(scope="session")
def app_engine(app_database_url: str) -> Iterator[Engine]:
    engine = create_ops_engine(app_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sealer_database_url(migrated_engine: Engine, database_url: str) -> Iterator[str]:
    """The test database as a fresh sealing role."""
    role = f"ops_sealer_{uuid.uuid4().hex[:8]}"
    grant_sealer_role(migrated_engine, role)
    yield as_login(database_url, role)
    drop_role(migrated_engine, database_url, role)


@pytest.fixture(scope="session")
def sealer_engine(sealer_database_url: str) -> Iterator[Engine]:
    engine = create_ops_engine(sealer_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def export_server(database_url: str) -> Iterator[tuple[str, str]]:
    """An audit export database owned by a login of its own, which may not connect to the
    ops database (and the ops logins may not connect to it): (its URL, superuser URL)."""
    tag = uuid.uuid4().hex[:8]
    name = role = f"ops_audit_{tag}"
    server = create_engine(
        make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    ops_database = make_url(database_url).database
    with server.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"CREATE DATABASE {name} OWNER {role}"))
        conn.execute(text(f"REVOKE CONNECT, TEMPORARY ON DATABASE {name} FROM PUBLIC"))
        conn.execute(text(f"GRANT CONNECT ON DATABASE {name} TO {role}"))
        conn.execute(text(f'REVOKE CONNECT ON DATABASE "{ops_database}" FROM {role}'))
    try:
        superuser = make_url(database_url).set(database=name).render_as_string(False)
        yield as_login(database_url, role, name), superuser
    finally:
        server.dispose()
        drop_in_background(
            make_url(database_url).set(database="postgres").render_as_string(False), [name], [role]
        )


@pytest.fixture
def export_engine(export_server: tuple[str, str]) -> Iterator[Engine]:
    """The audit export database as its own login, with no heads published yet."""
    url, superuser_url = export_server
    admin = create_engine(superuser_url)
    with admin.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS published_heads, verified_heads"))
    admin.dispose()
    engine = create_ops_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def audit_cli(
    cli: Callable[..., tuple[int, str, str]],
    monkeypatch: pytest.MonkeyPatch,
    sealer_database_url: str,
    export_engine: Engine,
) -> Callable[..., tuple[int, str, str]]:
    """The CLI with the sealing login and the audit export database configured."""
    monkeypatch.setenv("OPS_SEALER_DATABASE_URL", sealer_database_url)
    monkeypatch.setenv(
        "OPS_AUDIT_DATABASE_URL", export_engine.url.render_as_string(hide_password=False)
    )
    return cli
