from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ops_domain.columns import UTC_TIMESTAMP, created_at_column, id_column, one_of
from ops_domain.db import Base
from ops_domain.transitions import StateMachine

ALERT_SEVERITIES = ("low", "medium", "high", "critical")
ALERT_STATES = StateMachine.build(
    "alert",
    {"open": ["in_review", "closed"], "in_review": ["open", "closed"]},
    needs_note=["closed"],
)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        one_of("severity", ALERT_SEVERITIES, "ck_alerts_severity"),
        one_of("status", ALERT_STATES.states, "ck_alerts_status"),
        Index(
            "uq_alerts_active_dedupe_key",
            "dedupe_key",
            unique=True,
            postgresql_where=text("status <> 'closed'"),
        ),
        Index(
            "ix_alerts_open_high",
            "severity",
            postgresql_where=text(
                "status IN ('open', 'in_review') AND severity IN ('high', 'critical')"
            ),
        ),
    )

    id: Mapped[int] = id_column()
    alert_type: Mapped[str] = mapped_column(String(64), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    merchant_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("merchants.id"))
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"))
    target_type: Mapped[str] = mapped_column(String(64), nullable=False)
    target_id: Mapped[str] = mapped_column(String(64), nullable=False)
    dedupe_key: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    closed_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
