"""Payout decisions by checkers: who gave the first approval, and who sent the payout.

``approved_by`` / ``approved_at`` record the first of two checkers a payout above its
currency's second-approval limit needs; ``sent_by`` records who released the current attempt,
so that neither the approver nor the sender settles or fails it alone. CHECK constraints keep
the three people apart from the payout's maker (decision 0008).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

CONSTRAINTS = {
    "ck_payouts_approver_not_maker": "approved_by <> maker_id",
    "ck_payouts_sender_not_maker": "sent_by <> maker_id",
    "ck_payouts_sender_not_approver": "sent_by <> approved_by",
}


def upgrade() -> None:
    op.add_column("payouts", sa.Column("approved_by", sa.BigInteger(), nullable=True))
    op.add_column("payouts", sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("payouts", sa.Column("sent_by", sa.BigInteger(), nullable=True))
    for column in ("approved_by", "sent_by"):
        op.create_foreign_key(f"payouts_{column}_fkey", "payouts", "users", [column], ["id"])
    # a payout in flight was released by its last checker
    op.execute("UPDATE payouts SET sent_by = last_checker_id WHERE status = 'sent'")
    for name, condition in CONSTRAINTS.items():
        op.create_check_constraint(name, "payouts", condition)


def downgrade() -> None:
    for name in CONSTRAINTS:
        op.drop_constraint(name, "payouts", type_="check")
    for column in ("sent_by", "approved_at", "approved_by"):
        op.drop_column("payouts", column)
