"""Partial indexes for the refund escalation claim and the metrics' case SLA gauge.

Escalated refunds stay ``pending``, so the escalation claim walked past every refund already
escalated on each batch; ``ix_refund_requests_unescalated`` holds only the ones still to
escalate, in claim order. The case SLA gauge counts ``escalated`` cases, which
``ix_cases_active_sla`` leaves out; ``ix_cases_unresolved_sla`` covers them. Indexes need no
grant for the application role.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 02:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_refund_requests_unescalated",
        "refund_requests",
        ["sla_due_at", "id"],
        postgresql_where=sa.text("status = 'pending' AND escalated_at IS NULL"),
    )
    op.create_index(
        "ix_cases_unresolved_sla",
        "cases",
        ["sla_due_at", "created_at"],
        postgresql_where=sa.text("status IN ('open', 'in_progress', 'escalated')"),
    )


def downgrade() -> None:
    op.drop_index("ix_cases_unresolved_sla", table_name="cases")
    op.drop_index("ix_refund_requests_unescalated", table_name="refund_requests")
