"""``job_runs.idempotency_key`` says what it is.

The key is the caller's run reference (the Airflow run id, or the CLI's
``--idempotency-key``), recorded to trace a job run back to the run that asked for it.
Nothing reads it to skip work: a rerun under the same key runs again and is safe through each
job's own set-based guards (``WHERE settlement_id IS NULL``, deduplicated alerts, ...). The
column's comment states this where an operator reading the table finds it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

COMMENT = (
    "the caller's run reference (the Airflow run id, or the CLI's --idempotency-key),"
    " recorded to trace a run back; reruns are made safe by each job's own guards,"
    " not by this key"
)


def upgrade() -> None:
    op.alter_column("job_runs", "idempotency_key", comment=COMMENT)


def downgrade() -> None:
    op.alter_column("job_runs", "idempotency_key", comment=None)
