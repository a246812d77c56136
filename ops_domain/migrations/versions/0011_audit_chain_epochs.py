"""Chain epochs: a deliberate reset of the audit log starts a new, recorded chain.

``seed_demo --reset`` empties ``audit_log`` and ``audit_chain``; the heads published outside
the ops database for the old chain then disagreed with the new one, and ``audit verify``
reported a rewrite. ``audit_chain_epochs`` records each restart (epoch number, reason, who,
when; append-only); heads are published per epoch, and only the current epoch's heads are
compared. A chain rewritten without a new epoch still disagrees with them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_chain_epochs",
        sa.Column("epoch", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "started_by",
            sa.String(length=255),
            server_default=sa.text("session_user"),
            nullable=False,
        ),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("epoch"),
    )
    op.execute(
        "CREATE TRIGGER audit_chain_epochs_append_only BEFORE UPDATE OR DELETE"
        " ON audit_chain_epochs FOR EACH ROW EXECUTE FUNCTION refuse_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_chain_epochs_append_only ON audit_chain_epochs")
    op.drop_table("audit_chain_epochs")
