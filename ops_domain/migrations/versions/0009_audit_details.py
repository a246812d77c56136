"""The audit log's free-form column is called ``details``, as the code has always called it.

The column was created as ``metadata``, a name SQLAlchemy reserves on mapped classes, so the
Python attribute was ``details`` and every SQL statement said ``metadata``: two names for one
thing. Renaming keeps every value, and the audit chain stays verifiable: a link hashes the
row's values (``jsonb_build_array`` of them), never its column names, so every existing
link, and every head published to the audit export database, still matches.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 07:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("audit_log", "metadata", new_column_name="details")


def downgrade() -> None:
    op.alter_column("audit_log", "details", new_column_name="metadata")
