from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ops_domain.columns import (
    MONEY,
    UTC_TIMESTAMP,
    created_at_column,
    currency_check,
    id_column,
    money_column,
    one_of,
    reference_column,
)
from ops_domain.db import Base
from ops_domain.transitions import StateMachine

BREAK_CATEGORIES = (
    "amount_mismatch",
    "count_mismatch",
    "missing_external",
    "missing_internal",
    "duplicate",
    "timing_cutoff",
    "reference_mismatch",
    "other",
)
BREAK_STATES = StateMachine.build(
    "reconciliation_break",
    {"open": ["in_review"], "in_review": ["resolved", "open"]},
    needs_note=["resolved"],
)
RESOLUTION_STATES = StateMachine.build(
    "break_resolution",
    {"pending": ["approved", "rejected"]},
    needs_note=["approved", "rejected"],
)


class ReconciliationRun(Base):
    __tablename__ = "reconciliation_runs"
    __table_args__ = (
        currency_check("currency", "ck_reconciliation_runs_currency"),
        CheckConstraint("window_start <= window_end", name="ck_reconciliation_runs_window"),
    )

    id: Mapped[int] = id_column()
    run_no: Mapped[str] = reference_column("RECON", "reconciliation_run_no_seq")
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    merchant_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("merchants.id"))
    window_start: Mapped[date] = mapped_column(Date, nullable=False)
    window_end: Mapped[date] = mapped_column(Date, nullable=False)
    internal_total: Mapped[Decimal] = money_column()
    external_total: Mapped[Decimal] = money_column()
    internal_count: Mapped[int] = mapped_column(Integer, nullable=False)
    external_count: Mapped[int] = mapped_column(Integer, nullable=False)
    statement_source: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class ReconciliationBreak(Base):
    __tablename__ = "reconciliation_breaks"
    __table_args__ = (
        one_of("category", BREAK_CATEGORIES, "ck_reconciliation_breaks_category"),
        one_of("status", BREAK_STATES.states, "ck_reconciliation_breaks_status"),
        currency_check("currency", "ck_reconciliation_breaks_currency"),
        Index(
            "ix_reconciliation_breaks_unresolved",
            "currency",
            "business_date",
            postgresql_where=sql_text("status IN ('open', 'in_review')"),
        ),
    )

    id: Mapped[int] = id_column()
    break_no: Mapped[str] = reference_column("BRK", "reconciliation_break_no_seq")
    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("reconciliation_runs.id"), nullable=False
    )
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    merchant_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("merchants.id"))
    business_date: Mapped[date] = mapped_column(Date, nullable=False)
    difference: Mapped[Decimal | None] = mapped_column(MONEY)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)


class BreakResolution(Base):
    """A maker's proposed resolution; only a checker's approval resolves the break."""

    __tablename__ = "reconciliation_break_resolutions"
    __table_args__ = (
        one_of("status", RESOLUTION_STATES.states, "ck_break_resolutions_status"),
        CheckConstraint(
            "checker_id IS NULL OR checker_id <> maker_id", name="ck_break_resolutions_checker"
        ),
        Index(
            "uq_break_resolutions_pending",
            "break_id",
            unique=True,
            postgresql_where=sql_text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = id_column()
    break_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("reconciliation_breaks.id"), nullable=False
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    resolution_note: Mapped[str] = mapped_column(Text, nullable=False)
    maker_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    checker_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    checker_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    decided_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
