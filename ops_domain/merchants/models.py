from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ops_domain.columns import (
    UTC_TIMESTAMP,
    created_at_column,
    currency_check,
    id_column,
    money_column,
    one_of,
)
from ops_domain.db import Base

MERCHANT_STATUSES = ("active", "suspended", "inactive")
FLOW_TYPES = ("b2b", "b2c", "c2b", "p2g", "g2p")
DIRECTIONS = ("credit", "debit")


class Merchant(Base):
    __tablename__ = "merchants"
    __table_args__ = (
        one_of("status", MERCHANT_STATUSES, "ck_merchants_status"),
        currency_check("settlement_currency", "ck_merchants_currency"),
    )

    id: Mapped[int] = id_column()
    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="active")
    settlement_currency: Mapped[str] = mapped_column(String(3), nullable=False)
    destination_account: Mapped[str] = mapped_column(String(64), nullable=False)
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class CashflowEvent(Base):
    """A money movement for a merchant; ``settlement_id`` is set exactly once (trigger)."""

    __tablename__ = "cashflow_events"
    __table_args__ = (
        one_of("flow_type", FLOW_TYPES, "ck_cashflow_events_flow_type"),
        one_of("direction", DIRECTIONS, "ck_cashflow_events_direction"),
        currency_check("currency", "ck_cashflow_events_currency"),
        CheckConstraint("amount > 0", name="ck_cashflow_events_amount_positive"),
        CheckConstraint("fee_amount >= 0", name="ck_cashflow_events_fee_non_negative"),
        CheckConstraint("net_amount = amount - fee_amount", name="ck_cashflow_events_net"),
        Index(
            "ix_cashflow_events_unsettled",
            "merchant_id",
            "occurred_at",
            postgresql_where=text("settlement_id IS NULL"),
        ),
        Index("ix_cashflow_events_settlement", "settlement_id"),
    )

    id: Mapped[int] = id_column()
    merchant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("merchants.id"), nullable=False)
    flow_type: Mapped[str] = mapped_column(String(8), nullable=False)
    direction: Mapped[str] = mapped_column(String(8), nullable=False)
    amount: Mapped[Decimal] = money_column()
    fee_amount: Mapped[Decimal] = money_column()
    net_amount: Mapped[Decimal] = money_column()
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTC_TIMESTAMP, nullable=False)
    external_ref: Mapped[str | None] = mapped_column(String(100))
    settlement_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("settlements.id"))
    created_at: Mapped[datetime] = created_at_column()
