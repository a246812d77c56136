"""Least privilege: the PostgreSQL roles the jobs, the CLI and the sealer connect as.

Three roles share the ops database. The owner (the migration role) owns every table,
sequence, trigger and function. The application role owns nothing and may only:

- SELECT, INSERT, UPDATE the business tables (no DELETE, no TRUNCATE: nothing is deleted);
- SELECT and INSERT ``audit_log`` (append-only even without the triggers);
- SELECT ``audit_chain`` and ``audit_chain_epochs`` (it may check the chain, never extend or
  restart it) and ``alembic_version`` (the readiness gate reads the revision);
- use the sequences (ids and reference numbers).

The sealing role may only read ``audit_log`` (and the chain's epochs) and append to
``audit_chain``: the application
login can neither forge nor poison the chain, and takes no lock a seal needs.

Not being owners, they can neither ALTER nor DROP anything, nor disable a trigger. Grants are
recomputed from scratch on every call (revoke all, grant exactly), so the commands are
idempotent and also repair drift; rerun them after a migration adds tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from ops_domain.db import APPLICATION_ROLE, SEALER_ROLE, transaction
from ops_domain.errors import InvalidInput
from ops_domain.models import Base

DEFAULT_APP_ROLE = APPLICATION_ROLE
DEFAULT_SEALER_ROLE = SEALER_ROLE
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CHAIN_TABLE = "audit_chain"
EPOCHS_TABLE = "audit_chain_epochs"
APPEND_ONLY_TABLES = ("audit_log",)
READ_ONLY_TABLES = ("alembic_version", CHAIN_TABLE, EPOCHS_TABLE)
SEALER_READS = ("audit_log", EPOCHS_TABLE)


@dataclass(frozen=True)
class AppRoleGrant:
    role: str
    created: bool
    read_write_tables: list[str]
    append_only_tables: list[str]
    read_only_tables: list[str]

    def to_dict(self) -> dict[str, object]:
        return vars(self)


def grant_app_role(engine: Engine, role: str, *, password: str | None = None) -> AppRoleGrant:
    """Create ``role`` if missing (LOGIN, no other attribute) and grant it exactly the
    application's privileges on this database. Refuses a superuser, the owner itself, or the
    sealing role."""
    grant = AppRoleGrant(
        role=role,
        created=False,
        read_write_tables=sorted(
            table.name
            for table in Base.metadata.sorted_tables
            if table.name not in APPEND_ONLY_TABLES + READ_ONLY_TABLES
        ),
        append_only_tables=list(APPEND_ONLY_TABLES),
        read_only_tables=list(READ_ONLY_TABLES),
    )
    return _set_up(engine, grant, "the application role", password, other=CHAIN_TABLE)


def grant_sealer_role(engine: Engine, role: str, *, password: str | None = None) -> AppRoleGrant:
    """Create ``role`` if missing and grant it exactly what sealing needs: read the audit log,
    append to the chain. Refuses a superuser, the owner, or the application role."""
    grant = AppRoleGrant(
        role=role,
        created=False,
        read_write_tables=[],
        append_only_tables=[CHAIN_TABLE],
        read_only_tables=list(SEALER_READS),
    )
    return _set_up(engine, grant, "the sealing role", password, other="settlements")


def _set_up(
    engine: Engine, grant: AppRoleGrant, purpose: str, password: str | None, *, other: str
) -> AppRoleGrant:
    """``other``: a table only the other login role may insert into; holding that privilege
    means ``grant.role`` is that role, which the grant must not silently turn into this one."""
    if not ROLE_NAME.match(grant.role):
        raise InvalidInput(
            f"role must be a lower-case PostgreSQL identifier (a-z, 0-9, _), got {grant.role!r}"
        )
    try:
        with transaction(engine) as session:
            # Serialise concurrent grants on the cluster: CREATE ROLE is not idempotent.
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext('ops_domain.app_role'))"))
            created = _ensure_role(session, grant.role, password)
            if not created and _may_insert(session, grant.role, other):
                raise InvalidInput(
                    f"role {grant.role!r} may insert into {other}: it is not {purpose};"
                    " the application and sealing roles must be separate"
                )
            _grant_exactly(session, grant)
    except ProgrammingError as exc:  # e.g. the connecting role may not create roles
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "refused"
        raise InvalidInput(f"cannot set up {purpose} {grant.role!r}: {reason}") from None
    return AppRoleGrant(**{**vars(grant), "created": created})


def _may_insert(session: Session, role: str, table: str) -> bool:
    return session.execute(
        text("SELECT has_table_privilege(:role, :table, 'INSERT')"), {"role": role, "table": table}
    ).scalar_one()


def _ensure_role(session: Session, role: str, password: str | None) -> bool:
    existing = session.execute(
        text(
            "SELECT rolsuper, rolname = current_user AS is_me, rolcanlogin, rolcreatedb,"
            " rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = :r"
        ),
        {"r": role},
    ).first()
    if existing is not None and (existing.rolsuper or existing.is_me):
        raise InvalidInput(
            f"role {role!r} is a superuser or the owner running this command:"
            " the application role must be a separate, unprivileged role"
        )
    if existing is None:
        clauses = ["LOGIN"]  # every other attribute defaults to NO...
    else:
        # Only what differs: a CREATEROLE owner (not superuser) may not even restate
        # attributes such as NOBYPASSRLS, so restating them would break a rerun.
        wanted = {
            "LOGIN": not existing.rolcanlogin,
            "NOCREATEDB": existing.rolcreatedb,
            "NOCREATEROLE": existing.rolcreaterole,
            "NOBYPASSRLS": existing.rolbypassrls,
        }
        clauses = [clause for clause, needed in wanted.items() if needed]
    if password is not None:
        clauses.append("PASSWORD %L")
    if clauses:
        verb = "ALTER" if existing is not None else "CREATE"
        # format() quotes the name and the password server-side; neither is pasted into SQL.
        sql = session.execute(
            text("SELECT format(:statement, :role, :password)"),
            {
                "statement": f"{verb} ROLE %I {' '.join(clauses)}",
                "role": role,
                "password": password,
            },
        ).scalar_one()
        session.execute(text(sql))
    return existing is None


def _grant_exactly(session: Session, grant: AppRoleGrant) -> None:
    quoted = session.execute(text("SELECT quote_ident(:r)"), {"r": grant.role}).scalar_one()
    database = session.execute(text("SELECT quote_ident(current_database())")).scalar_one()
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {quoted}",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM {quoted}",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {quoted}",
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
    ]
    for privileges, tables in (
        ("SELECT, INSERT, UPDATE", grant.read_write_tables),
        ("SELECT, INSERT", grant.append_only_tables),
        ("SELECT", grant.read_only_tables),
    ):
        if tables:
            statements.append(f"GRANT {privileges} ON {', '.join(tables)} TO {quoted}")
    if grant.read_write_tables:  # ids and reference numbers of the rows it inserts
        statements.append(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    for statement in statements:
        session.execute(text(statement))
