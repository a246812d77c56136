"""Engines and transactions for the business database (always PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select, text, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session

from ops_domain.config import Settings
from ops_domain.errors import DatabaseUnavailable, InvalidInput, NotFound
from ops_domain.principal import SETTINGS, current_principal

APPLICATION_ROLE = "ops_app"  # the login the DAGs and the CLI work as (ops_domain.app_role)
SEALER_ROLE = "ops_sealer"


class Base(DeclarativeBase):
    """Declarative base of every ops table."""


def describe_url(url: str | URL) -> str:
    """Where a URL points (host, port, database), never its password."""
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    port = parsed.port or 5432
    return f"{host}:{port}/{parsed.database or ''}"


def resolve_database_url(settings: Settings, *, owner: bool = False) -> str:
    """The database login of a command. ``owner`` commands (migrations, RBAC, demo data,
    grants) use ``OPS_OWNER_DATABASE_URL`` when set; every command uses ``OPS_DATABASE_URL``
    when given. Without it, the embedded server's ``ops`` database: the owner's commands as
    its superuser, all others as the application role, as in compose."""
    if owner and settings.owner_database_url:
        return normalise_driver(settings.owner_database_url)
    if settings.ops_database_url:
        return normalise_driver(settings.ops_database_url)
    from ops_domain.embedded import embedded_database_url

    superuser = embedded_database_url(settings.var_dir, "ops")
    if owner:
        return superuser
    return make_url(superuser).set(username=APPLICATION_ROLE).render_as_string(False)


def uses_embedded_default(settings: Settings) -> bool:
    return settings.ops_database_url is None


def normalise_driver(url: str) -> str:
    """Accept the ``postgres://`` / ``postgresql://`` spellings; refuse anything else."""
    try:
        parsed = make_url(url)
    except Exception:
        raise InvalidInput("database URL is malformed") from None
    if parsed.get_backend_name() not in {"postgres", "postgresql"}:
        raise InvalidInput(f"database URL must be PostgreSQL, got {parsed.get_backend_name()!r}")
    return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def create_ops_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine whose first connection is checked, so a dead target fails loudly and early,
    and whose every transaction tells the database who is behind it (``ops_domain.principal``).
    """
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        connect_args={"connect_timeout": 10, "application_name": "ops_domain"},
    )
    event.listen(engine, "begin", tell_principal)
    with translate_db_errors(url), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return engine


_SET_PRINCIPAL = "SELECT " + ", ".join(f"set_config('{name}', %s, true)" for name in SETTINGS)


def tell_principal(connection: Connection) -> None:
    """Hand the current principal to the transaction that is beginning, as transaction-local
    settings the audit trigger reads. Run on the driver connection: psycopg2 opens the
    transaction with this statement, and the work that follows runs in that same one."""
    principal = current_principal()
    if principal is None:
        return
    values = (principal.channel, principal.login, principal.reference or "")
    with connection.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(_SET_PRINCIPAL, values)


@contextmanager
def translate_db_errors(url: str | URL | None = None) -> Iterator[None]:
    """Turn lost connections and other operational failures into ``DatabaseUnavailable``."""
    try:
        yield
    except OperationalError as exc:
        where = f" at {describe_url(url)}" if url is not None else ""
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise DatabaseUnavailable(f"database unavailable{where}: {reason}") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise DatabaseUnavailable(f"database connection lost: {exc.orig}") from exc
        raise


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with translate_db_errors(engine.url), Session(engine) as session, session.begin():
        yield session


def lock_row(session: Session, model: type[Base], row_id: int, kind: str) -> dict[str, Any]:
    """The row ``row_id`` of ``model``, locked until the transaction ends (``NotFound`` names
    ``kind`` when there is none): the "before" of a recorded state change."""
    table = model.__table__
    row = (
        session.execute(select(*table.c).where(table.c.id == row_id).with_for_update())
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise NotFound(kind, row_id)
    return dict(row)


def update_row(session: Session, model: type[Base], row_id: int, **values: Any) -> dict[str, Any]:
    """Set ``values`` on the row ``row_id`` of ``model`` and return the whole row as it now is."""
    table = model.__table__
    statement = update(model).where(table.c.id == row_id).values(**values).returning(*table.c)
    return dict(session.execute(statement).mappings().one())
