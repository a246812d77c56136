"""Least privilege: the PostgreSQL role the jobs and the CLI connect as in production.

Two roles share the ops database. The owner (the migration role) owns every table, sequence,
trigger and function. The application role owns nothing and may only:

- SELECT, INSERT, UPDATE the business tables (no DELETE, no TRUNCATE: nothing is deleted);
- SELECT and INSERT ``audit_log`` and ``audit_chain`` (append-only even without the triggers);
- SELECT ``alembic_version`` (the readiness gate reads the revision);
- use the sequences (ids and reference numbers);
- execute ``lock_audit_log_for_sealing()`` so that ``audit verify`` can seal.

Not being an owner, it can neither ALTER nor DROP anything, nor disable a trigger. Grants are
recomputed from scratch on every call (revoke all, grant exactly), so the command is
idempotent and also repairs drift; rerun it after a migration adds tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from ops_domain.db import transaction
from ops_domain.errors import InvalidInput
from ops_domain.models import Base

DEFAULT_APP_ROLE = "ops_app"
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
APPEND_ONLY_TABLES = ("audit_log", "audit_chain")
READ_ONLY_TABLES = ("alembic_version",)
SEAL_FUNCTION = "lock_audit_log_for_sealing()"


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
    application's privileges on this database. Refuses a superuser or the owner itself."""
    if not ROLE_NAME.match(role):
        raise InvalidInput(
            f"role must be a lower-case PostgreSQL identifier (a-z, 0-9, _), got {role!r}"
        )
    read_write = sorted(
        table.name for table in Base.metadata.sorted_tables if table.name not in APPEND_ONLY_TABLES
    )
    try:
        with transaction(engine) as session:
            # Serialise concurrent grants on the cluster: CREATE ROLE is not idempotent.
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext('ops_domain.app_role'))"))
            created = _ensure_role(session, role, password)
            _grant_exactly(session, role, read_write)
    except ProgrammingError as exc:  # e.g. the connecting role may not create roles
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "refused"
        raise InvalidInput(f"cannot set up the application role {role!r}: {reason}") from None
    return AppRoleGrant(
        role=role,
        created=created,
        read_write_tables=read_write,
        append_only_tables=list(APPEND_ONLY_TABLES),
        read_only_tables=list(READ_ONLY_TABLES),
    )


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


def _grant_exactly(session: Session, role: str, read_write: list[str]) -> None:
    quoted = session.execute(text("SELECT quote_ident(:r)"), {"r": role}).scalar_one()
    database = session.execute(text("SELECT quote_ident(current_database())")).scalar_one()
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {quoted}",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM {quoted}",
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {quoted}",
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        f"GRANT SELECT, INSERT, UPDATE ON {', '.join(read_write)} TO {quoted}",
        f"GRANT SELECT, INSERT ON {', '.join(APPEND_ONLY_TABLES)} TO {quoted}",
        f"GRANT SELECT ON {', '.join(READ_ONLY_TABLES)} TO {quoted}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        f"GRANT EXECUTE ON FUNCTION {SEAL_FUNCTION} TO {quoted}",
    ]
    for statement in statements:
        session.execute(text(statement))
