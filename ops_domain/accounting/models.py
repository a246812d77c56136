from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ops_domain.columns import (
    MONEY,
    UTC_TIMESTAMP,
    created_at_column,
    currency_check,
    id_column,
    one_of,
    reference_column,
)
from ops_domain.db import Base
from ops_domain.transitions import StateMachine

ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")
ENTRY_STATES = StateMachine.build(
    "journal_entry", {"draft": ["posted", "void"]}, needs_note=["void"]
)
APPROVAL_KINDS = ("post", "reversal", "reclass")
APPROVAL_STATES = StateMachine.build(
    "journal_approval",
    {"pending": ["approved", "rejected"]},
    needs_note=["approved", "rejected"],
)
PERIOD_STATES = StateMachine.build("accounting_period", {"open": ["closed"], "closed": ["open"]})

# Integer key of a 3-letter code: the embedded server ships no btree_gist, so the exclusion
# constraint compares currencies as single-point int4 ranges, which GiST supports natively.
CURRENCY_KEY_SQL = (
    "(ascii(substr(currency, 1, 1)) * 65536 + ascii(substr(currency, 2, 1)) * 256"
    " + ascii(substr(currency, 3, 1)))"
)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("code", "currency", name="uq_accounts_code_currency"),
        one_of("account_type", ACCOUNT_TYPES, "ck_accounts_type"),
        currency_check("currency", "ck_accounts_currency"),
    )

    id: Mapped[int] = id_column()
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    account_type: Mapped[str] = mapped_column(String(16), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)


class JournalEntry(Base):
    """Posted entries are immutable (trigger); a correction is a reversal, at most one that
    is not void (a voided reversal never posted, so the entry may be reversed again)."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        one_of("status", ENTRY_STATES.states, "ck_journal_entries_status"),
        currency_check("currency", "ck_journal_entries_currency"),
        Index("ix_journal_entries_currency_date", "currency", "entry_date"),
        Index(
            "uq_journal_entries_reversal_of",
            "reversal_of",
            unique=True,
            postgresql_where=text("status <> 'void'"),
        ),
    )

    id: Mapped[int] = id_column()
    entry_no: Mapped[str] = reference_column("JE", "journal_entry_no_seq")
    entry_date: Mapped[date] = mapped_column(Date, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="draft")
    description: Mapped[str] = mapped_column(Text, nullable=False)
    reversal_of: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("journal_entries.id"))
    maker_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    posted_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    posted_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    void_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class JournalLine(Base):
    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint(
            "(debit IS NULL) <> (credit IS NULL)", name="ck_journal_lines_debit_xor_credit"
        ),
        CheckConstraint("coalesce(debit, credit) > 0", name="ck_journal_lines_positive"),
        Index("ix_journal_lines_entry", "entry_id"),
    )

    id: Mapped[int] = id_column()
    entry_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("journal_entries.id"), nullable=False
    )
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"), nullable=False)
    debit: Mapped[Decimal | None] = mapped_column(MONEY)
    credit: Mapped[Decimal | None] = mapped_column(MONEY)
    memo: Mapped[str] = mapped_column(Text, nullable=False, server_default="")


class JournalApproval(Base):
    __tablename__ = "journal_approvals"
    __table_args__ = (
        one_of("kind", APPROVAL_KINDS, "ck_journal_approvals_kind"),
        one_of("status", APPROVAL_STATES.states, "ck_journal_approvals_status"),
        CheckConstraint(
            "decided_by IS NULL OR decided_by <> requested_by", name="ck_journal_approvals_checker"
        ),
        Index(
            "uq_journal_approvals_pending",
            "entry_id",
            "kind",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = id_column()
    entry_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("journal_entries.id"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    requested_by: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    decided_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = created_at_column()
    decided_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)


class AccountingPeriod(Base):
    __tablename__ = "accounting_periods"
    __table_args__ = (
        one_of("status", PERIOD_STATES.states, "ck_accounting_periods_status"),
        currency_check("currency", "ck_accounting_periods_currency"),
        CheckConstraint("period_start <= period_end", name="ck_accounting_periods_window"),
    )

    id: Mapped[int] = id_column()
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    closed_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    reopened_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    reopened_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
