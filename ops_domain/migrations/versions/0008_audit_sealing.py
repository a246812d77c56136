"""Audit rows the application role cannot forge, and a chain it can neither write nor stall.

- The database stamps ``created_at`` of every audit row written by a login that does not own
  the table (the application role): the writer's clock, or a back-dated value, is ignored.
  The owner (seeding history) keeps its own times. This extends the principal stamp of
  revision 0004, one BEFORE INSERT trigger for every column the database vouches for.
- The chain is linked in sealing order (``link_no``), not in id order: a seal chains every
  row that has committed and has no link yet, so it never waits for a writer still inside
  its transaction, and nobody has to lock ``audit_log`` for it. The sealing lock function is
  gone; the application role keeps only SELECT on ``audit_chain`` (``db grant-app-role``),
  the sealing role (``db grant-sealer-role``) may SELECT and INSERT it.

Existing links keep their hashes: they were chained in id order, which becomes their
``link_no`` order.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

STAMP = """
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

PRINCIPAL_ONLY = """
    CREATE OR REPLACE FUNCTION audit_log_stamp_principal() RETURNS trigger
        LANGUAGE plpgsql AS $$
    BEGIN
        NEW.channel := coalesce(nullif(current_setting('ops.channel', true), ''), 'database');
        NEW.principal := left(
            coalesce(nullif(current_setting('ops.principal', true), ''), session_user), 255);
        NEW.principal_ref := left(nullif(current_setting('ops.principal_ref', true), ''), 255);
        NEW.database_user := session_user;
        RETURN NEW;
    END $$
"""

SEAL_LOCK_FUNCTION = """
    CREATE FUNCTION lock_audit_log_for_sealing() RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    BEGIN
        LOCK TABLE public.audit_log IN SHARE ROW EXCLUSIVE MODE;
    END $$
"""


def upgrade() -> None:
    op.execute(STAMP)
    op.add_column("audit_chain", sa.Column("link_no", sa.BigInteger(), nullable=True))
    op.execute("ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_append_only")
    op.execute(
        "UPDATE audit_chain c SET link_no = n.link_no"
        " FROM (SELECT audit_id, row_number() OVER (ORDER BY audit_id) AS link_no"
        "         FROM audit_chain) n WHERE n.audit_id = c.audit_id"
    )
    op.execute("ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_append_only")
    op.alter_column("audit_chain", "link_no", nullable=False)
    op.create_unique_constraint("uq_audit_chain_link_no", "audit_chain", ["link_no"])
    op.execute("DROP FUNCTION lock_audit_log_for_sealing()")


def downgrade() -> None:
    op.execute(SEAL_LOCK_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION lock_audit_log_for_sealing() FROM PUBLIC")
    op.drop_constraint("uq_audit_chain_link_no", "audit_chain", type_="unique")
    op.drop_column("audit_chain", "link_no")
    op.execute(PRINCIPAL_ONLY)
