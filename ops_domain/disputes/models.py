from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
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

REFUND_STATES = StateMachine.build(
    "refund_request",
    {"pending": ["approved", "rejected"], "approved": ["executed", "failed"]},
    needs_note=["approved", "rejected", "executed", "failed"],
)
CHARGEBACK_STATES = StateMachine.build(
    "chargeback",
    {
        "open": ["represented", "lost"],
        "represented": ["won", "pre_arbitration"],
        "pre_arbitration": ["won", "lost"],
        "won": ["closed"],
        "lost": ["closed"],
    },
    needs_note=["won", "lost", "closed"],
)


class RefundRequest(Base):
    __tablename__ = "refund_requests"
    __table_args__ = (
        one_of("status", REFUND_STATES.states, "ck_refund_requests_status"),
        currency_check("currency", "ck_refund_requests_currency"),
        CheckConstraint("amount > 0", name="ck_refund_requests_amount_positive"),
        CheckConstraint(
            "checker_id IS NULL OR checker_id <> maker_id", name="ck_refund_requests_checker"
        ),
        Index(
            "ix_refund_requests_pending_sla",
            "sla_due_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # Escalated refunds stay pending: the escalation claims walk only the unescalated ones.
        Index(
            "ix_refund_requests_unescalated",
            "sla_due_at",
            "id",
            postgresql_where=text("status = 'pending' AND escalated_at IS NULL"),
        ),
    )

    id: Mapped[int] = id_column()
    refund_no: Mapped[str] = reference_column("REFUND", "refund_no_seq")
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"))
    merchant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("merchants.id"), nullable=False)
    customer_ref: Mapped[str] = mapped_column(String(100), nullable=False)
    source_event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cashflow_events.id"), nullable=False
    )
    amount: Mapped[Decimal] = money_column()
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    maker_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    checker_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    checker_note: Mapped[str | None] = mapped_column(Text)
    sla_due_at: Mapped[datetime] = mapped_column(UTC_TIMESTAMP, nullable=False)
    escalated_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    escalation_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    created_at: Mapped[datetime] = created_at_column()


class Chargeback(Base):
    __tablename__ = "chargebacks"
    __table_args__ = (
        one_of("status", CHARGEBACK_STATES.states, "ck_chargebacks_status"),
        currency_check("currency", "ck_chargebacks_currency"),
        CheckConstraint("amount > 0", name="ck_chargebacks_amount_positive"),
    )

    id: Mapped[int] = id_column()
    chargeback_no: Mapped[str] = reference_column("CB", "chargeback_no_seq")
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"))
    merchant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("merchants.id"), nullable=False)
    network_reason_code: Mapped[str] = mapped_column(String(16), nullable=False)
    amount: Mapped[Decimal] = money_column()
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTC_TIMESTAMP, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="open")
    last_transition_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
