"""Initial schema: every table of SPEC section 3, sequences, and the invariants the
database enforces itself (append-only audit, immutable money, balanced posted journals,
non-overlapping periods).

Revision ID: 0001
Revises:
Create Date: 2026-11-24 01:01:29.572933
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


REFERENCE_SEQUENCES = (
    "settlement_no_seq",
    "settlement_exception_no_seq",
    "payout_reference_seq",
    "case_no_seq",
    "refund_no_seq",
    "chargeback_no_seq",
    "reconciliation_run_no_seq",
    "reconciliation_break_no_seq",
    "journal_entry_no_seq",
)

CURRENCY_KEY = (
    "(ascii(substr(currency, 1, 1)) * 65536 + ascii(substr(currency, 2, 1)) * 256"
    " + ascii(substr(currency, 3, 1)))"
)

INVARIANTS_UP = (
    # The audit log is append-only, even for the table owner's application code.
    """
    CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% on % refused: rows are append-only', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION refuse_change()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()
    """,
    # Financial rows are never deleted.
    *(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        for table in ("cashflow_events", "settlements", "payouts", "journal_entries")
    ),
    # An event's money never changes, and it joins a settlement exactly once. WHEN clauses keep
    # the bulk settlement UPDATE free of per-row PL/pgSQL calls.
    """
    CREATE FUNCTION refuse_immutable_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% row % is immutable in these columns', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    """
    CREATE TRIGGER cashflow_events_settled_once
        BEFORE UPDATE OF settlement_id ON cashflow_events FOR EACH ROW
        WHEN (OLD.settlement_id IS NOT NULL
              AND NEW.settlement_id IS DISTINCT FROM OLD.settlement_id)
        EXECUTE FUNCTION refuse_immutable_change()
    """,
    """
    CREATE TRIGGER cashflow_events_money_immutable
        BEFORE UPDATE OF merchant_id, flow_type, direction, amount, fee_amount, net_amount,
            currency, occurred_at ON cashflow_events FOR EACH ROW
        WHEN ((OLD.merchant_id, OLD.flow_type, OLD.direction, OLD.amount, OLD.fee_amount,
               OLD.net_amount, OLD.currency, OLD.occurred_at)
              IS DISTINCT FROM
              (NEW.merchant_id, NEW.flow_type, NEW.direction, NEW.amount, NEW.fee_amount,
               NEW.net_amount, NEW.currency, NEW.occurred_at))
        EXECUTE FUNCTION refuse_immutable_change()
    """,
    """
    CREATE TRIGGER settlements_money_immutable
        BEFORE UPDATE OF merchant_id, currency, period_start, period_end, sequence,
            gross_amount, fee_amount, net_amount, event_count ON settlements FOR EACH ROW
        WHEN ((OLD.merchant_id, OLD.currency, OLD.period_start, OLD.period_end, OLD.sequence,
               OLD.gross_amount, OLD.fee_amount, OLD.net_amount, OLD.event_count)
              IS DISTINCT FROM
              (NEW.merchant_id, NEW.currency, NEW.period_start, NEW.period_end, NEW.sequence,
               NEW.gross_amount, NEW.fee_amount, NEW.net_amount, NEW.event_count))
        EXECUTE FUNCTION refuse_immutable_change()
    """,
    """
    CREATE TRIGGER payouts_money_immutable
        BEFORE UPDATE OF settlement_id, merchant_id, amount, currency ON payouts FOR EACH ROW
        WHEN ((OLD.settlement_id, OLD.merchant_id, OLD.amount, OLD.currency)
              IS DISTINCT FROM (NEW.settlement_id, NEW.merchant_id, NEW.amount, NEW.currency))
        EXECUTE FUNCTION refuse_immutable_change()
    """,
    # Journals: lines change only while their entry is a draft; posted and void entries are
    # final; posting requires a balanced entry in one currency outside any closed period.
    """
    CREATE FUNCTION journal_lines_draft_only() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE entry_status text;
    BEGIN
        SELECT status INTO entry_status FROM journal_entries
            WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.entry_id ELSE NEW.entry_id END;
        IF entry_status IS DISTINCT FROM 'draft' THEN
            RAISE EXCEPTION 'journal lines of a % entry cannot change', entry_status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END $$
    """,
    """
    CREATE TRIGGER journal_lines_draft_only BEFORE INSERT OR UPDATE OR DELETE ON journal_lines
        FOR EACH ROW EXECUTE FUNCTION journal_lines_draft_only()
    """,
    """
    CREATE FUNCTION journal_entries_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        line_count integer;
        total_debit numeric;
        total_credit numeric;
        foreign_lines integer;
        closed_period text;
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NEW.status <> 'draft' THEN
                RAISE EXCEPTION 'journal entries are created as drafts'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END IF;
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'journal entry % is % and cannot change', OLD.entry_no, OLD.status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF (NEW.entry_date, NEW.currency, NEW.reversal_of, NEW.maker_id)
           IS DISTINCT FROM (OLD.entry_date, OLD.currency, OLD.reversal_of, OLD.maker_id) THEN
            RAISE EXCEPTION 'journal entry % header is immutable', OLD.entry_no
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF NEW.status = 'posted' THEN
            SELECT count(*), coalesce(sum(l.debit), 0), coalesce(sum(l.credit), 0),
                   count(*) FILTER (WHERE a.currency <> NEW.currency)
              INTO line_count, total_debit, total_credit, foreign_lines
              FROM journal_lines l JOIN accounts a ON a.id = l.account_id
             WHERE l.entry_id = NEW.id;
            IF line_count < 2 OR total_debit <> total_credit OR total_debit <= 0 THEN
                RAISE EXCEPTION 'journal entry % does not balance (% lines, debit %, credit %)',
                    NEW.entry_no, line_count, total_debit, total_credit
                    USING ERRCODE = 'check_violation';
            END IF;
            IF foreign_lines > 0 THEN
                RAISE EXCEPTION 'journal entry % has lines in another currency', NEW.entry_no
                    USING ERRCODE = 'check_violation';
            END IF;
            SELECT period_start || '..' || period_end INTO closed_period
              FROM accounting_periods
             WHERE currency = NEW.currency AND status = 'closed'
               AND NEW.entry_date BETWEEN period_start AND period_end;
            IF closed_period IS NOT NULL THEN
                RAISE EXCEPTION 'journal entry % is dated in closed period %',
                    NEW.entry_no, closed_period USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER journal_entries_guard BEFORE INSERT OR UPDATE ON journal_entries
        FOR EACH ROW EXECUTE FUNCTION journal_entries_guard()
    """,
    # Periods of one currency never overlap. btree_gist is not available on the embedded
    # server, so the currency is compared as a single-point integer range.
    f"""
    ALTER TABLE accounting_periods ADD CONSTRAINT ex_accounting_periods_no_overlap
        EXCLUDE USING gist (
            int4range({CURRENCY_KEY}, {CURRENCY_KEY}, '[]') WITH &&,
            daterange(period_start, period_end, '[]') WITH &&
        )
    """,
)

INVARIANTS_DOWN = (
    "ALTER TABLE accounting_periods DROP CONSTRAINT ex_accounting_periods_no_overlap",
    "DROP TRIGGER journal_entries_guard ON journal_entries",
    "DROP FUNCTION journal_entries_guard()",
    "DROP TRIGGER journal_lines_draft_only ON journal_lines",
    "DROP FUNCTION journal_lines_draft_only()",
    "DROP TRIGGER payouts_money_immutable ON payouts",
    "DROP TRIGGER settlements_money_immutable ON settlements",
    "DROP TRIGGER cashflow_events_money_immutable ON cashflow_events",
    "DROP TRIGGER cashflow_events_settled_once ON cashflow_events",
    "DROP FUNCTION refuse_immutable_change() CASCADE",
    "DROP FUNCTION refuse_change() CASCADE",
)


def upgrade() -> None:
    for sequence in REFERENCE_SEQUENCES:
        op.execute(f"CREATE SEQUENCE {sequence}")
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.CheckConstraint(
            "account_type IN ('asset', 'equity', 'expense', 'liability', 'revenue')",
            name="ck_accounts_type",
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_accounts_currency"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", "currency", name="uq_accounts_code_currency"),
    )
    op.create_table(
        "merchants",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("settlement_currency", sa.String(length=3), nullable=False),
        sa.Column("destination_account", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("settlement_currency ~ '^[A-Z]{3}$'", name="ck_merchants_currency"),
        sa.CheckConstraint(
            "status IN ('active', 'inactive', 'suspended')", name="ck_merchants_status"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "roles",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=255), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("full_name", sa.String(length=255), server_default="", nullable=False),
        sa.Column("email", sa.String(length=255), server_default="", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "is_service_account", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "accounting_periods",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("closed_by", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened_by", sa.BigInteger(), nullable=True),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopen_reason", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_accounting_periods_currency"),
        sa.CheckConstraint("status IN ('closed', 'open')", name="ck_accounting_periods_status"),
        sa.CheckConstraint("period_start <= period_end", name="ck_accounting_periods_window"),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reopened_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("target_type", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_audit_log_action_created", "audit_log", ["action", "created_at"], unique=False
    )
    op.create_index("ix_audit_log_target", "audit_log", ["target_type", "target_id"], unique=False)
    op.create_table(
        "cases",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "case_no",
            sa.String(length=32),
            server_default=sa.text("'CASE-' || lpad(nextval('case_no_seq')::text, 8, '0')"),
            nullable=False,
        ),
        sa.Column("case_type", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_id", sa.String(length=100), nullable=True),
        sa.Column("trigger", sa.String(length=100), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "case_type IN ('complaint', 'dispute', 'incident', 'refund')", name="ck_cases_type"
        ),
        sa.CheckConstraint(
            "priority IN ('critical', 'high', 'low', 'medium')", name="ck_cases_priority"
        ),
        sa.CheckConstraint(
            "status IN ('closed', 'escalated', 'in_progress', 'open', 'resolved')",
            name="ck_cases_status",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_no"),
    )
    op.create_index(
        "ix_cases_active_sla",
        "cases",
        ["sla_due_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('open', 'in_progress')"),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("job_name", sa.String(length=100), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=250), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), server_default="running", nullable=False),
        sa.Column(
            "counts", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('failed', 'running', 'succeeded')", name="ck_job_runs_outcome"
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_job_runs_idempotency_key", "job_runs", ["idempotency_key"], unique=False)
    op.create_index("ix_job_runs_job_started", "job_runs", ["job_name", "started_at"], unique=False)
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "entry_no",
            sa.String(length=32),
            server_default=sa.text("'JE-' || lpad(nextval('journal_entry_no_seq')::text, 8, '0')"),
            nullable=False,
        ),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reversal_of", sa.BigInteger(), nullable=True),
        sa.Column("maker_id", sa.BigInteger(), nullable=False),
        sa.Column("posted_by", sa.BigInteger(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_journal_entries_currency"),
        sa.CheckConstraint(
            "status IN ('draft', 'posted', 'void')", name="ck_journal_entries_status"
        ),
        sa.ForeignKeyConstraint(
            ["maker_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["posted_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reversal_of"],
            ["journal_entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_no"),
    )
    op.create_index(
        "ix_journal_entries_currency_date",
        "journal_entries",
        ["currency", "entry_date"],
        unique=False,
    )
    op.create_index(
        "uq_journal_entries_reversal_of",
        "journal_entries",
        ["reversal_of"],
        unique=True,
        postgresql_where=sa.text("status <> 'void'"),
    )
    op.create_table(
        "payout_freezes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.BigInteger(), nullable=False),
        sa.Column(
            "set_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("lifted_by", sa.BigInteger(), nullable=True),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lift_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(scope = 'global') = (merchant_id IS NULL)", name="ck_payout_freezes_scope_merchant"
        ),
        sa.CheckConstraint("scope IN ('global', 'merchant')", name="ck_payout_freezes_scope"),
        sa.CheckConstraint(
            "(lifted_at IS NULL) = (lifted_by IS NULL)", name="ck_payout_freezes_lifted"
        ),
        sa.CheckConstraint("length(btrim(reason)) > 0", name="ck_payout_freezes_reason"),
        sa.CheckConstraint(
            "lifted_by IS NULL OR lifted_by <> set_by", name="ck_payout_freezes_lifter"
        ),
        sa.ForeignKeyConstraint(
            ["lifted_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["set_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_payout_freezes_active_scope",
        "payout_freezes",
        ["scope", sa.literal_column("coalesce(merchant_id, 0)")],
        unique=True,
        postgresql_where=sa.text("lifted_at IS NULL"),
    )
    op.create_table(
        "readiness_waivers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("counter", sa.String(length=32), nullable=False),
        sa.Column("item_ids", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("max_count", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("release_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("requested_by", sa.BigInteger(), nullable=False),
        sa.Column("approved_by", sa.BigInteger(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "counter IN ('failed_payouts', 'open_high_alerts', 'open_recon_breaks', 'pending_refunds')",
            name="ck_readiness_waivers_counter",
        ),
        sa.CheckConstraint(
            "status IN ('approved', 'pending', 'rejected')", name="ck_readiness_waivers_status"
        ),
        sa.CheckConstraint(
            "(item_ids IS NULL) <> (max_count IS NULL)", name="ck_readiness_waivers_scope"
        ),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> requested_by",
            name="ck_readiness_waivers_approver",
        ),
        sa.CheckConstraint("length(btrim(reason)) > 0", name="ck_readiness_waivers_reason"),
        sa.CheckConstraint(
            "max_count IS NULL OR max_count > 0", name="ck_readiness_waivers_max_count"
        ),
        sa.ForeignKeyConstraint(
            ["approved_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "run_no",
            sa.String(length=32),
            server_default=sa.text(
                "'RECON-' || lpad(nextval('reconciliation_run_no_seq')::text, 8, '0')"
            ),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=True),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("internal_total", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("external_total", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("internal_count", sa.Integer(), nullable=False),
        sa.Column("external_count", sa.Integer(), nullable=False),
        sa.Column("statement_source", sa.Text(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_reconciliation_runs_currency"),
        sa.CheckConstraint("window_start <= window_end", name="ck_reconciliation_runs_window"),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_no"),
    )
    op.create_table(
        "release_snapshots",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("release_id", sa.String(length=100), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("checks", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("counters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("waivers_applied", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "verdict IN ('error', 'not_ready', 'ready')", name="ck_release_snapshots_verdict"
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_release_snapshots_release",
        "release_snapshots",
        ["release_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "role_permissions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column("permission", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["role_id"], ["roles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("role_id", "permission", name="uq_role_permission"),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["role_id"], ["roles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "role_id"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("alert_type", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=True),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("target_type", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "severity IN ('critical', 'high', 'low', 'medium')", name="ck_alerts_severity"
        ),
        sa.CheckConstraint("status IN ('closed', 'in_review', 'open')", name="ck_alerts_status"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_alerts_open_high",
        "alerts",
        ["severity"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('open', 'in_review') AND severity IN ('high', 'critical')"
        ),
    )
    op.create_index(
        "uq_alerts_active_dedupe_key",
        "alerts",
        ["dedupe_key"],
        unique=True,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_table(
        "case_assignments",
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id"],
        ),
        sa.PrimaryKeyConstraint("case_id", "role_id"),
    )
    op.create_table(
        "case_notes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_internal", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "chargebacks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "chargeback_no",
            sa.String(length=32),
            server_default=sa.text("'CB-' || lpad(nextval('chargeback_no_seq')::text, 8, '0')"),
            nullable=False,
        ),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("network_reason_code", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("last_transition_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_chargebacks_currency"),
        sa.CheckConstraint(
            "status IN ('closed', 'lost', 'open', 'pre_arbitration', 'represented', 'won')",
            name="ck_chargebacks_status",
        ),
        sa.CheckConstraint("amount > 0", name="ck_chargebacks_amount_positive"),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chargeback_no"),
    )
    op.create_table(
        "journal_approvals",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("requested_by", sa.BigInteger(), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('post', 'reclass', 'reversal')", name="ck_journal_approvals_kind"
        ),
        sa.CheckConstraint(
            "status IN ('approved', 'pending', 'rejected')", name="ck_journal_approvals_status"
        ),
        sa.CheckConstraint(
            "decided_by IS NULL OR decided_by <> requested_by", name="ck_journal_approvals_checker"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_journal_approvals_pending",
        "journal_approvals",
        ["entry_id", "kind"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "journal_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("debit", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("credit", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("memo", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "(debit IS NULL) <> (credit IS NULL)", name="ck_journal_lines_debit_xor_credit"
        ),
        sa.CheckConstraint("coalesce(debit, credit) > 0", name="ck_journal_lines_positive"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_journal_lines_entry", "journal_lines", ["entry_id"], unique=False)
    op.create_table(
        "reconciliation_breaks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "break_no",
            sa.String(length=32),
            server_default=sa.text(
                "'BRK-' || lpad(nextval('reconciliation_break_no_seq')::text, 8, '0')"
            ),
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=True),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("difference", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "category IN ('amount_mismatch', 'count_mismatch', 'duplicate', 'missing_external', 'missing_internal', 'other', 'reference_mismatch', 'timing_cutoff')",
            name="ck_reconciliation_breaks_category",
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_reconciliation_breaks_currency"),
        sa.CheckConstraint(
            "status IN ('in_review', 'open', 'resolved')", name="ck_reconciliation_breaks_status"
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("break_no"),
    )
    op.create_index(
        "ix_reconciliation_breaks_unresolved",
        "reconciliation_breaks",
        ["currency", "business_date"],
        unique=False,
        postgresql_where=sa.text("status IN ('open', 'in_review')"),
    )
    op.create_table(
        "releases",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("release_id", sa.String(length=100), nullable=False),
        sa.Column("environment", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=24), server_default="candidate", nullable=False),
        sa.Column("released_snapshot_id", sa.BigInteger(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('candidate', 'released', 'rollback_recommended', 'rolled_back')",
            name="ck_releases_status",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["released_snapshot_id"],
            ["release_snapshots.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("release_id"),
    )
    op.create_table(
        "settlements",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "settlement_no",
            sa.String(length=32),
            server_default=sa.text("'SETTLE-' || lpad(nextval('settlement_no_seq')::text, 8, '0')"),
            nullable=False,
        ),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("sequence", sa.Integer(), server_default="1", nullable=False),
        sa.Column("gross_amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("fee_amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("net_amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("maker_id", sa.BigInteger(), nullable=False),
        sa.Column("approver_id", sa.BigInteger(), nullable=True),
        sa.Column("approval_source", sa.String(length=32), nullable=True),
        sa.Column("approval_note", sa.Text(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_run_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status = 'draft') = (approval_source IS NULL)", name="ck_settlements_approval"
        ),
        sa.CheckConstraint(
            "approval_source IN ('checker', 'policy:auto_post')",
            name="ck_settlements_approval_source",
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_settlements_currency"),
        sa.CheckConstraint("status IN ('draft', 'paid', 'posted')", name="ck_settlements_status"),
        sa.CheckConstraint("event_count > 0", name="ck_settlements_event_count"),
        sa.CheckConstraint("net_amount = gross_amount - fee_amount", name="ck_settlements_net"),
        sa.CheckConstraint("period_start <= period_end", name="ck_settlements_window"),
        sa.CheckConstraint("sequence >= 1", name="ck_settlements_sequence"),
        sa.ForeignKeyConstraint(
            ["approver_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["job_run_id"],
            ["job_runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["maker_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "merchant_id",
            "currency",
            "period_start",
            "period_end",
            "sequence",
            name="uq_settlements_window_sequence",
        ),
        sa.UniqueConstraint("settlement_no"),
    )
    op.create_index(
        "ix_settlements_pending",
        "settlements",
        ["status"],
        unique=False,
        postgresql_where=sa.text("status IN ('draft', 'posted')"),
    )
    op.create_table(
        "cashflow_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("flow_type", sa.String(length=8), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("fee_amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("net_amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        sa.Column("settlement_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_cashflow_events_currency"),
        sa.CheckConstraint("direction IN ('credit', 'debit')", name="ck_cashflow_events_direction"),
        sa.CheckConstraint(
            "flow_type IN ('b2b', 'b2c', 'c2b', 'g2p', 'p2g')", name="ck_cashflow_events_flow_type"
        ),
        sa.CheckConstraint("amount > 0", name="ck_cashflow_events_amount_positive"),
        sa.CheckConstraint("fee_amount >= 0", name="ck_cashflow_events_fee_non_negative"),
        sa.CheckConstraint("net_amount = amount - fee_amount", name="ck_cashflow_events_net"),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_cashflow_events_settlement", "cashflow_events", ["settlement_id"], unique=False
    )
    op.create_index(
        "ix_cashflow_events_unsettled",
        "cashflow_events",
        ["merchant_id", "occurred_at"],
        unique=False,
        postgresql_where=sa.text("settlement_id IS NULL"),
    )
    op.create_table(
        "payouts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "payout_reference",
            sa.String(length=32),
            server_default=sa.text(
                "'PAYOUT-' || lpad(nextval('payout_reference_seq')::text, 8, '0')"
            ),
            nullable=False,
        ),
        sa.Column("settlement_id", sa.BigInteger(), nullable=False),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("destination_account", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("maker_id", sa.BigInteger(), nullable=False),
        sa.Column("last_checker_id", sa.BigInteger(), nullable=True),
        sa.Column("last_note", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_payouts_currency"),
        sa.CheckConstraint(
            "status IN ('failed', 'pending', 'sent', 'settled')", name="ck_payouts_status"
        ),
        sa.CheckConstraint("amount > 0", name="ck_payouts_amount_positive"),
        sa.CheckConstraint("attempt >= 1", name="ck_payouts_attempt"),
        sa.ForeignKeyConstraint(
            ["last_checker_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["maker_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payout_reference"),
        sa.UniqueConstraint("settlement_id"),
    )
    op.create_index(
        "ix_payouts_open",
        "payouts",
        ["status"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'sent', 'failed')"),
    )
    op.create_table(
        "reconciliation_break_resolutions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("break_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("resolution_note", sa.Text(), nullable=False),
        sa.Column("maker_id", sa.BigInteger(), nullable=False),
        sa.Column("checker_id", sa.BigInteger(), nullable=True),
        sa.Column("checker_note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('approved', 'pending', 'rejected')", name="ck_break_resolutions_status"
        ),
        sa.CheckConstraint(
            "checker_id IS NULL OR checker_id <> maker_id", name="ck_break_resolutions_checker"
        ),
        sa.ForeignKeyConstraint(
            ["break_id"],
            ["reconciliation_breaks.id"],
        ),
        sa.ForeignKeyConstraint(
            ["checker_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["maker_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_break_resolutions_pending",
        "reconciliation_break_resolutions",
        ["break_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "refund_requests",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "refund_no",
            sa.String(length=32),
            server_default=sa.text("'REFUND-' || lpad(nextval('refund_no_seq')::text, 8, '0')"),
            nullable=False,
        ),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("merchant_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_ref", sa.String(length=100), nullable=False),
        sa.Column("source_event_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("maker_id", sa.BigInteger(), nullable=False),
        sa.Column("checker_id", sa.BigInteger(), nullable=True),
        sa.Column("checker_note", sa.Text(), nullable=True),
        sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="ck_refund_requests_currency"),
        sa.CheckConstraint(
            "status IN ('approved', 'executed', 'failed', 'pending', 'rejected')",
            name="ck_refund_requests_status",
        ),
        sa.CheckConstraint("amount > 0", name="ck_refund_requests_amount_positive"),
        sa.CheckConstraint(
            "checker_id IS NULL OR checker_id <> maker_id", name="ck_refund_requests_checker"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["checker_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["maker_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
        ),
        sa.ForeignKeyConstraint(
            ["source_event_id"],
            ["cashflow_events.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("refund_no"),
    )
    op.create_index(
        "ix_refund_requests_pending_sla",
        "refund_requests",
        ["sla_due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "settlement_exceptions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "exception_no",
            sa.String(length=32),
            server_default=sa.text(
                "'SEXC-' || lpad(nextval('settlement_exception_no_seq')::text, 8, '0')"
            ),
            nullable=False,
        ),
        sa.Column("settlement_id", sa.BigInteger(), nullable=True),
        sa.Column("payout_id", sa.BigInteger(), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "severity IN ('critical', 'high', 'low', 'medium')",
            name="ck_settlement_exceptions_severity",
        ),
        sa.CheckConstraint(
            "status IN ('in_review', 'open', 'resolved')", name="ck_settlement_exceptions_status"
        ),
        sa.CheckConstraint(
            "settlement_id IS NOT NULL OR payout_id IS NOT NULL",
            name="ck_settlement_exceptions_target",
        ),
        sa.ForeignKeyConstraint(
            ["payout_id"],
            ["payouts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["settlement_id"],
            ["settlements.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("exception_no"),
    )
    op.create_index(
        "uq_settlement_exceptions_open_reason",
        "settlement_exceptions",
        ["settlement_id", "reason_code"],
        unique=True,
        postgresql_where=sa.text("status <> 'resolved'"),
    )
    # ### end Alembic commands ###
    for statement in INVARIANTS_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in INVARIANTS_DOWN:
        op.execute(statement)
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(
        "uq_settlement_exceptions_open_reason",
        table_name="settlement_exceptions",
        postgresql_where=sa.text("status <> 'resolved'"),
    )
    op.drop_table("settlement_exceptions")
    op.drop_index(
        "ix_refund_requests_pending_sla",
        table_name="refund_requests",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("refund_requests")
    op.drop_index(
        "uq_break_resolutions_pending",
        table_name="reconciliation_break_resolutions",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("reconciliation_break_resolutions")
    op.drop_index(
        "ix_payouts_open",
        table_name="payouts",
        postgresql_where=sa.text("status IN ('pending', 'sent', 'failed')"),
    )
    op.drop_table("payouts")
    op.drop_index(
        "ix_cashflow_events_unsettled",
        table_name="cashflow_events",
        postgresql_where=sa.text("settlement_id IS NULL"),
    )
    op.drop_index("ix_cashflow_events_settlement", table_name="cashflow_events")
    op.drop_table("cashflow_events")
    op.drop_index(
        "ix_settlements_pending",
        table_name="settlements",
        postgresql_where=sa.text("status IN ('draft', 'posted')"),
    )
    op.drop_table("settlements")
    op.drop_table("releases")
    op.drop_index(
        "ix_reconciliation_breaks_unresolved",
        table_name="reconciliation_breaks",
        postgresql_where=sa.text("status IN ('open', 'in_review')"),
    )
    op.drop_table("reconciliation_breaks")
    op.drop_index("ix_journal_lines_entry", table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_index(
        "uq_journal_approvals_pending",
        table_name="journal_approvals",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("journal_approvals")
    op.drop_table("chargebacks")
    op.drop_table("case_notes")
    op.drop_table("case_assignments")
    op.drop_index(
        "uq_alerts_active_dedupe_key",
        table_name="alerts",
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.drop_index(
        "ix_alerts_open_high",
        table_name="alerts",
        postgresql_where=sa.text(
            "status IN ('open', 'in_review') AND severity IN ('high', 'critical')"
        ),
    )
    op.drop_table("alerts")
    op.drop_table("user_roles")
    op.drop_table("role_permissions")
    op.drop_index("ix_release_snapshots_release", table_name="release_snapshots")
    op.drop_table("release_snapshots")
    op.drop_table("reconciliation_runs")
    op.drop_table("readiness_waivers")
    op.drop_index(
        "uq_payout_freezes_active_scope",
        table_name="payout_freezes",
        postgresql_where=sa.text("lifted_at IS NULL"),
    )
    op.drop_table("payout_freezes")
    op.drop_index(
        "uq_journal_entries_reversal_of",
        table_name="journal_entries",
        postgresql_where=sa.text("status <> 'void'"),
    )
    op.drop_index("ix_journal_entries_currency_date", table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_index("ix_job_runs_job_started", table_name="job_runs")
    op.drop_index("ix_job_runs_idempotency_key", table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_index(
        "ix_cases_active_sla",
        table_name="cases",
        postgresql_where=sa.text("status IN ('open', 'in_progress')"),
    )
    op.drop_table("cases")
    op.drop_index("ix_audit_log_target", table_name="audit_log")
    op.drop_index("ix_audit_log_action_created", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("accounting_periods")
    op.drop_table("users")
    op.drop_table("roles")
    op.drop_table("merchants")
    op.drop_table("accounts")
    # ### end Alembic commands ###
    for sequence in REFERENCE_SEQUENCES:
        op.execute(f"DROP SEQUENCE {sequence}")
