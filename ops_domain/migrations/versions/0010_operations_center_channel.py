"""The Operations Center is a channel of its own in the audit log.

A decision taken on an Operations Center page (Airflow's api-server, the login of the
browser session) is recorded with ``channel = 'operations_center'``, the Airflow login as
``principal`` and the request as ``principal_ref``, so an audit reader tells it apart from a
DAG run the same login triggered (``airflow``) and from the operators' CLI.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 07:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

BEFORE = ("airflow", "cli", "database", "scheduler")
AFTER = (*BEFORE, "operations_center")


def _channels_constraint(channels: Sequence[str]) -> None:
    op.drop_constraint("ck_audit_log_channel", "audit_log", type_="check")
    quoted = ", ".join(f"'{channel}'" for channel in channels)
    op.create_check_constraint("ck_audit_log_channel", "audit_log", f"channel IN ({quoted})")


def upgrade() -> None:
    _channels_constraint(AFTER)


def downgrade() -> None:
    _channels_constraint(BEFORE)
