from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ops_domain.columns import (
    UTC_TIMESTAMP,
    created_at_column,
    id_column,
    one_of,
    reference_column,
)
from ops_domain.db import Base
from ops_domain.transitions import StateMachine

CASE_TYPES = ("complaint", "dispute", "refund", "incident")
PRIORITIES = ("low", "medium", "high", "critical")
CASE_STATES = StateMachine.build(
    "case",
    {
        "open": ["in_progress", "escalated"],
        "in_progress": ["escalated", "resolved"],
        "escalated": ["in_progress", "resolved"],
        "resolved": ["closed"],
    },
    needs_note=["resolved", "closed"],
)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        one_of("case_type", CASE_TYPES, "ck_cases_type"),
        one_of("priority", PRIORITIES, "ck_cases_priority"),
        one_of("status", CASE_STATES.states, "ck_cases_status"),
        Index(
            "ix_cases_active_sla",
            "sla_due_at",
            postgresql_where=text("status IN ('open', 'in_progress')"),
        ),
        # The metrics' case SLA gauge counts escalated cases too.
        Index(
            "ix_cases_unresolved_sla",
            "sla_due_at",
            "created_at",
            postgresql_where=text("status IN ('open', 'in_progress', 'escalated')"),
        ),
    )

    id: Mapped[int] = id_column()
    case_no: Mapped[str] = reference_column("CASE", "case_no_seq")
    case_type: Mapped[str] = mapped_column(String(16), nullable=False)
    priority: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="open")
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    merchant_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("merchants.id"))
    assignee_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    sla_due_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    release_id: Mapped[str | None] = mapped_column(String(100))
    trigger: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)


class CaseAssignment(Base):
    """A team (role) responsible for a case; a case may have several."""

    __tablename__ = "case_assignments"

    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("roles.id"), primary_key=True)
    created_at: Mapped[datetime] = created_at_column()


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = id_column()
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), nullable=False)
    author_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    is_internal: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = created_at_column()
