"""Guarding the business database: seed only into an empty one, wipe only on purpose.

``--reset`` empties every business table (users and their roles included; the role matrix
is kept and reseeded) and starts a new, recorded epoch of the audit chain, so the heads
published for the old chain are not mistaken for a rewrite of the new one. The audit log is
append-only and refuses TRUNCATE through a trigger: a reset disables that one trigger,
truncates and re-enables it inside the seeding transaction, under ACCESS EXCLUSIVE locks, so
no other session ever sees the guard lifted and a failed seed restores everything. Resetting
is allowed only on the embedded development server under ``var/`` or when
``OPS_ALLOW_RESET=1``.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.audit.chain import start_epoch
from ops_domain.config import Settings
from ops_domain.db import describe_url
from ops_domain.embedded import socket_dir_of
from ops_domain.errors import DemoDataPresent, ResetRefused
from ops_domain.models import Base

KEPT_TABLES = frozenset({"roles", "role_permissions", "audit_chain_epochs"})
RESET_EPOCH_REASON = "seed_demo --reset emptied the audit log and its chain"


def business_tables() -> list[str]:
    return [table.name for table in Base.metadata.sorted_tables if table.name not in KEPT_TABLES]


def reset_allowed(url: str, settings: Settings) -> bool:
    """True on the embedded server (its socket lives under ``var_dir``) or when opted in
    (``OPS_ALLOW_RESET=1``)."""
    if settings.allow_reset:
        return True
    socket_dir = socket_dir_of(url)
    if not socket_dir:
        return False
    var_dir = settings.var_dir.resolve()
    return Path(socket_dir).resolve().is_relative_to(var_dir)


def require_reset_allowed(engine: Engine, settings: Settings) -> None:
    url = engine.url.render_as_string(hide_password=False)
    if not reset_allowed(url, settings):
        raise ResetRefused(describe_url(engine.url))


def claim_empty_database(session: Session, *, reset: bool) -> None:
    """Lock every business table; wipe them when ``reset``, else refuse unless all are empty.

    Afterwards every sequence of the business tables (ids and reference numbers) restarts,
    which is safe because no row refers to any of them any more.
    """
    tables = business_tables()
    mode = "ACCESS EXCLUSIVE" if reset else "EXCLUSIVE"
    session.execute(text(f"LOCK TABLE {', '.join(tables)} IN {mode} MODE"))
    if reset:
        session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
        session.execute(text(f"TRUNCATE {', '.join(tables)}"))
        session.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))
        start_epoch(session, RESET_EPOCH_REASON)
    else:
        filled = [
            table
            for table in tables
            if session.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table})")).scalar_one()
        ]
        if filled:
            raise DemoDataPresent(filled)
    for sequence in _business_sequences(session, tables):
        session.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))


def _business_sequences(session: Session, tables: list[str]) -> list[str]:
    """Identity sequences of the business tables, plus the free-standing reference-number
    sequences (``settlement_no_seq``...), which no column owns."""
    return list(
        session.scalars(
            text(
                """
                SELECT quote_ident(seq.relname)
                  FROM pg_class AS seq
                  LEFT JOIN pg_depend AS dep
                         ON dep.objid = seq.oid AND dep.deptype IN ('a', 'i')
                        AND dep.classid = 'pg_class'::regclass
                  LEFT JOIN pg_class AS owner ON owner.oid = dep.refobjid
                 WHERE seq.relkind = 'S'
                   AND seq.relnamespace = current_schema()::regnamespace
                   AND (owner.relname IS NULL OR owner.relname = ANY(:tables))
                 ORDER BY seq.relname
                """
            ),
            {"tables": tables},
        )
    )
