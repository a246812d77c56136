"""A release per (release id, environment); waivers name their environment; count waivers
cover only the items blocking when they were approved.

Gating ``R11`` in staging and then in production used to update one ``releases`` row (unique
on ``release_id``), so the rollback watch compared production with the staging snapshot.
Existing waivers are taken to be for ``production`` (the gate's default environment).
Approved count waivers from before this revision have no coverage and so lift nothing: they
are re-requested (fail closed).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("releases_release_id_key", "releases", type_="unique")
    op.create_unique_constraint(
        "uq_releases_release_environment", "releases", ["release_id", "environment"]
    )
    op.add_column(
        "readiness_waivers",
        sa.Column("environment", sa.String(length=64), nullable=False, server_default="production"),
    )
    op.alter_column("readiness_waivers", "environment", server_default=None)
    op.add_column(
        "readiness_waivers",
        sa.Column("covered_item_ids", postgresql.ARRAY(sa.BigInteger()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("readiness_waivers", "covered_item_ids")
    op.drop_column("readiness_waivers", "environment")
    op.drop_constraint("uq_releases_release_environment", "releases", type_="unique")
    op.create_unique_constraint("releases_release_id_key", "releases", ["release_id"])
