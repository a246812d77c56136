from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ops_domain.columns import (
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

SETTLEMENT_STATES = StateMachine.build(
    "settlement", {"draft": ["posted"], "posted": ["paid"]}, needs_note=["posted"]
)
APPROVAL_SOURCES = ("checker", "policy:auto_post")
EXCEPTION_STATES = StateMachine.build(
    "settlement_exception",
    {"open": ["in_review", "resolved"], "in_review": ["resolved", "open"]},
    needs_note=["resolved"],
)
SEVERITIES = ("low", "medium", "high", "critical")


class Settlement(Base):
    __tablename__ = "settlements"
    __table_args__ = (
        UniqueConstraint(
            "merchant_id",
            "currency",
            "period_start",
            "period_end",
            "sequence",
            name="uq_settlements_window_sequence",
        ),
        one_of("status", SETTLEMENT_STATES.states, "ck_settlements_status"),
        one_of("approval_source", APPROVAL_SOURCES, "ck_settlements_approval_source"),
        currency_check("currency", "ck_settlements_currency"),
        CheckConstraint("net_amount = gross_amount - fee_amount", name="ck_settlements_net"),
        CheckConstraint("period_start <= period_end", name="ck_settlements_window"),
        CheckConstraint("sequence >= 1", name="ck_settlements_sequence"),
        CheckConstraint("event_count > 0", name="ck_settlements_event_count"),
        CheckConstraint(
            "(status = 'draft') = (approval_source IS NULL)", name="ck_settlements_approval"
        ),
        CheckConstraint(
            "approver_id IS NULL OR approver_id <> maker_id", name="ck_settlements_checker"
        ),
        Index(
            "ix_settlements_pending",
            "status",
            postgresql_where=text("status IN ('draft', 'posted')"),
        ),
    )

    id: Mapped[int] = id_column()
    settlement_no: Mapped[str] = reference_column("SETTLE", "settlement_no_seq")
    merchant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("merchants.id"), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    gross_amount: Mapped[Decimal] = money_column()
    fee_amount: Mapped[Decimal] = money_column()
    net_amount: Mapped[Decimal] = money_column()
    event_count: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="draft")
    maker_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    approver_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    approval_source: Mapped[str | None] = mapped_column(String(32))
    approval_note: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    paid_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    job_run_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("job_runs.id"))
    created_at: Mapped[datetime] = created_at_column()


class SettlementException(Base):
    __tablename__ = "settlement_exceptions"
    __table_args__ = (
        one_of("status", EXCEPTION_STATES.states, "ck_settlement_exceptions_status"),
        one_of("severity", SEVERITIES, "ck_settlement_exceptions_severity"),
        CheckConstraint(
            "settlement_id IS NOT NULL OR payout_id IS NOT NULL",
            name="ck_settlement_exceptions_target",
        ),
        Index(
            "uq_settlement_exceptions_open_reason",
            "settlement_id",
            "reason_code",
            unique=True,
            postgresql_where=text("status <> 'resolved'"),
        ),
    )

    id: Mapped[int] = id_column()
    exception_no: Mapped[str] = reference_column("SEXC", "settlement_exception_no_seq")
    settlement_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("settlements.id"))
    payout_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("payouts.id"))
    reason_code: Mapped[str] = mapped_column(String(64), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
