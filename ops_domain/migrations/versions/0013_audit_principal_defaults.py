"""The audit log's principal columns default to the database's stamp; the stamp trigger runs
only for a row that names something else (issue 17, decision 0017).

``audit_channel()``, ``audit_principal()`` and ``audit_principal_ref()`` compute what the
trigger of revisions 0004 and 0008 assigned, from the transaction-local settings the ops
engines set. They are plain SQL functions, so the planner inlines them: as the defaults of
``channel``, ``principal`` and ``principal_ref`` (``database_user`` defaults to
``session_user``) they stamp every row whose writer names none of these columns, which is
every writer of the application, at the cost of an expression instead of a PL/pgSQL call per
row. The BEFORE INSERT trigger stays as the guard: its WHEN clause compares each row with the
stamp (and ``created_at`` with the transaction's time), and a row that differs, forged, NULL
or back-dated, still runs ``audit_log_stamp_principal()``, which overwrites it as before (the
table's owner keeps its own ``created_at``). The stamped values are the same, so rows and the
chain's hashes are unchanged.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# What the stamp is; no SET clause and STABLE, so that the planner can inline each call.
STAMP_VALUES = {
    "audit_channel": "coalesce(nullif(pg_catalog.current_setting('ops.channel', true), ''),"
    " 'database')",
    "audit_principal": "pg_catalog.left(coalesce(nullif(pg_catalog.current_setting("
    "'ops.principal', true), ''), session_user), 255)",
    "audit_principal_ref": "pg_catalog.left(nullif(pg_catalog.current_setting("
    "'ops.principal_ref', true), ''), 255)",
}
DEFAULTS = {
    "channel": "audit_channel()",
    "principal": "audit_principal()",
    "principal_ref": "audit_principal_ref()",
    "database_user": "session_user",
}

STAMP = """
    CREATE OR REPLACE FUNCTION audit_log_stamp_principal() RETURNS trigger
        LANGUAGE plpgsql AS $$
    BEGIN
        NEW.channel := audit_channel();
        NEW.principal := audit_principal();
        NEW.principal_ref := audit_principal_ref();
        NEW.database_user := session_user;
        IF NOT ops_trusted_writer(TG_RELID) THEN
            NEW.created_at := now();
        END IF;
        RETURN NEW;
    END $$
"""
DIFFERS = " OR ".join(
    [f"NEW.{column} IS DISTINCT FROM {value}" for column, value in DEFAULTS.items()]
    + ["NEW.created_at <> now()"]
)
GUARD = (
    "CREATE OR REPLACE TRIGGER audit_log_stamp_principal BEFORE INSERT ON audit_log"
    f" FOR EACH ROW WHEN ({DIFFERS}) EXECUTE FUNCTION audit_log_stamp_principal()"
)

# Revision 0008's trigger function and 0004's trigger, for the downgrade.
STAMP_0008 = """
    CREATE OR REPLACE FUNCTION audit_log_stamp_principal() RETURNS trigger
        LANGUAGE plpgsql AS $$
    BEGIN
        NEW.channel := coalesce(nullif(current_setting('ops.channel', true), ''), 'database');
        NEW.principal := left(
            coalesce(nullif(current_setting('ops.principal', true), ''), session_user), 255);
        NEW.principal_ref := left(nullif(current_setting('ops.principal_ref', true), ''), 255);
        NEW.database_user := session_user;
        IF NOT ops_trusted_writer(TG_RELID) THEN
            NEW.created_at := now();
        END IF;
        RETURN NEW;
    END $$
"""
EVERY_ROW = (
    "CREATE OR REPLACE TRIGGER audit_log_stamp_principal BEFORE INSERT ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION audit_log_stamp_principal()"
)


def upgrade() -> None:
    for name, value in STAMP_VALUES.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS varchar LANGUAGE sql STABLE AS $$ SELECT {value} $$"
        )
    op.execute(
        "ALTER TABLE audit_log "
        + ", ".join(
            f"ALTER COLUMN {column} SET DEFAULT {value}" for column, value in DEFAULTS.items()
        )
    )
    op.execute(STAMP)
    op.execute(GUARD)


def downgrade() -> None:
    op.execute(EVERY_ROW)
    op.execute(STAMP_0008)
    op.execute(
        "ALTER TABLE audit_log "
        + ", ".join(f"ALTER COLUMN {column} DROP DEFAULT" for column in DEFAULTS)
    )
    for name in STAMP_VALUES:
        op.execute(f"DROP FUNCTION {name}()")
