from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
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

PAYOUT_STATES = StateMachine.build(
    "payout",
    {"pending": ["sent"], "sent": ["settled", "failed"], "failed": ["pending"]},
    needs_note=["sent", "settled", "failed", "pending"],
)
FREEZE_SCOPES = ("global", "merchant")


class Payout(Base):
    __tablename__ = "payouts"
    __table_args__ = (
        one_of("status", PAYOUT_STATES.states, "ck_payouts_status"),
        currency_check("currency", "ck_payouts_currency"),
        CheckConstraint("amount > 0", name="ck_payouts_amount_positive"),
        CheckConstraint("attempt >= 1", name="ck_payouts_attempt"),
        CheckConstraint("approved_by <> maker_id", name="ck_payouts_approver_not_maker"),
        CheckConstraint("sent_by <> maker_id", name="ck_payouts_sender_not_maker"),
        CheckConstraint("sent_by <> approved_by", name="ck_payouts_sender_not_approver"),
        CheckConstraint(
            "last_checker_id IS NULL OR last_checker_id <> maker_id", name="ck_payouts_checker"
        ),
        Index(
            "ix_payouts_open",
            "status",
            postgresql_where=text("status IN ('pending', 'sent', 'failed')"),
        ),
    )

    id: Mapped[int] = id_column()
    payout_reference: Mapped[str] = reference_column("PAYOUT", "payout_reference_seq")
    settlement_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("settlements.id"), unique=True, nullable=False
    )
    merchant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("merchants.id"), nullable=False)
    amount: Mapped[Decimal] = money_column()
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    channel: Mapped[str] = mapped_column(String(32), nullable=False)
    destination_account: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    maker_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    last_checker_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    # the first of two checkers above the second-approval limit; cleared by a resubmission
    approved_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    # who released the current attempt: never the one who settles or fails it
    sent_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    last_note: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    settled_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    failed_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    created_at: Mapped[datetime] = created_at_column()


class PayoutFreeze(Base):
    """A freeze is active while ``lifted_at`` is null; one active freeze per scope."""

    __tablename__ = "payout_freezes"
    __table_args__ = (
        one_of("scope", FREEZE_SCOPES, "ck_payout_freezes_scope"),
        CheckConstraint(
            "(scope = 'global') = (merchant_id IS NULL)", name="ck_payout_freezes_scope_merchant"
        ),
        CheckConstraint("length(btrim(reason)) > 0", name="ck_payout_freezes_reason"),
        CheckConstraint(
            "(lifted_at IS NULL) = (lifted_by IS NULL)", name="ck_payout_freezes_lifted"
        ),
        CheckConstraint(
            "lifted_by IS NULL OR lifted_by <> set_by", name="ck_payout_freezes_lifter"
        ),
        Index(
            "uq_payout_freezes_active_scope",
            "scope",
            text("coalesce(merchant_id, 0)"),
            unique=True,
            postgresql_where=text("lifted_at IS NULL"),
        ),
    )

    id: Mapped[int] = id_column()
    scope: Mapped[str] = mapped_column(String(16), nullable=False)
    merchant_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("merchants.id"))
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    set_by: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    set_at: Mapped[datetime] = created_at_column()
    lifted_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    lift_note: Mapped[str | None] = mapped_column(Text)
