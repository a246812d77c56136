"""Audit tamper evidence and the application role's one privileged operation.

``audit_chain`` holds one sha256 link per sealed audit row (see ``ops_domain.audit.chain``);
like the audit log it refuses UPDATE and DELETE. It has no foreign key to ``audit_log``: a
link must outlive a deleted audit row so that ``audit verify`` can name the deletion. Sealing must wait for every transaction that
is still inserting audit rows, which takes a lock mode the application role may not take on
a table it can only INSERT into: ``lock_audit_log_for_sealing()`` takes it on the owner's
behalf (SECURITY DEFINER; table locks taken in a function last until the caller's
transaction ends). Nobody may call it until ``db grant-app-role`` grants EXECUTE.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 01:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SEAL_LOCK_FUNCTION = """
    CREATE FUNCTION lock_audit_log_for_sealing() RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    BEGIN
        LOCK TABLE public.audit_log IN SHARE ROW EXCLUSIVE MODE;
    END $$
"""


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("audit_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "sealed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("audit_id"),
    )
    op.execute(
        "CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain"
        " FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )
    op.execute(SEAL_LOCK_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION lock_audit_log_for_sealing() FROM PUBLIC")


def downgrade() -> None:
    op.execute("DROP FUNCTION lock_audit_log_for_sealing()")
    op.execute("DROP TRIGGER audit_chain_append_only ON audit_chain")
    op.drop_table("audit_chain")
