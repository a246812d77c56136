"""The audit log names who was authenticated behind each row: channel and principal.

``channel`` (``airflow``, ``scheduler``, ``cli``, ``database``), ``principal`` (the Airflow
login, the service account for scheduled runs, the OS user of a CLI call),
``principal_ref`` (the Airflow run id, the CLI's host) and ``database_user`` (the database
login that wrote the row). A BEFORE INSERT trigger fills them from the transaction-local
settings ``ops.channel``, ``ops.principal`` and ``ops.principal_ref`` that the ops engines
set (``ops_domain.principal``), so set-based ``INSERT ... SELECT`` writers are covered as
well as the ORM. Without those settings the row says ``database`` and the database login.
The trigger overwrites whatever the INSERT supplied: a writer cannot name another principal
in the row itself. Rows written before this revision keep NULL (nobody was recorded).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

CHANNELS = ("airflow", "cli", "database", "scheduler")

STAMP_FUNCTION = """
    CREATE FUNCTION audit_log_stamp_principal() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.channel := coalesce(nullif(current_setting('ops.channel', true), ''), 'database');
        NEW.principal := left(
            coalesce(nullif(current_setting('ops.principal', true), ''), session_user), 255);
        NEW.principal_ref := left(nullif(current_setting('ops.principal_ref', true), ''), 255);
        NEW.database_user := session_user;
        RETURN NEW;
    END $$
"""


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("channel", sa.String(length=20), nullable=True))
    op.add_column("audit_log", sa.Column("principal", sa.String(length=255), nullable=True))
    op.add_column("audit_log", sa.Column("principal_ref", sa.String(length=255), nullable=True))
    op.add_column("audit_log", sa.Column("database_user", sa.String(length=255), nullable=True))
    quoted = ", ".join(f"'{channel}'" for channel in CHANNELS)
    op.create_check_constraint("ck_audit_log_channel", "audit_log", f"channel IN ({quoted})")
    op.execute(STAMP_FUNCTION)
    op.execute(
        "CREATE TRIGGER audit_log_stamp_principal BEFORE INSERT ON audit_log"
        " FOR EACH ROW EXECUTE FUNCTION audit_log_stamp_principal()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_stamp_principal ON audit_log")
    op.execute("DROP FUNCTION audit_log_stamp_principal()")
    op.drop_constraint("ck_audit_log_channel", "audit_log", type_="check")
    for column in ("database_user", "principal_ref", "principal", "channel"):
        op.drop_column("audit_log", column)
