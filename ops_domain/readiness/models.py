from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ops_domain.columns import UTC_TIMESTAMP, created_at_column, id_column, one_of
from ops_domain.db import Base
from ops_domain.transitions import StateMachine

READINESS_COUNTERS = ("pending_refunds", "failed_payouts", "open_recon_breaks", "open_high_alerts")
WAIVER_STATES = StateMachine.build(
    "readiness_waiver", {"pending": ["approved", "rejected"]}, needs_note=["approved", "rejected"]
)
VERDICTS = ("ready", "not_ready", "error")
RELEASE_STATES = StateMachine.build(
    "release",
    {
        "candidate": ["released"],
        "released": ["rollback_recommended", "rolled_back"],
        "rollback_recommended": ["rolled_back", "released"],
    },
    needs_note=["rolled_back"],
)


class ReadinessWaiver(Base):
    """An approved exception: named items, or up to a count, of one readiness counter, for one
    release in one environment. A count waiver covers only the items that were blocking when
    it was approved (``covered_item_ids``, stamped at approval)."""

    __tablename__ = "readiness_waivers"
    __table_args__ = (
        one_of("counter", READINESS_COUNTERS, "ck_readiness_waivers_counter"),
        one_of("status", WAIVER_STATES.states, "ck_readiness_waivers_status"),
        CheckConstraint(
            "(item_ids IS NULL) <> (max_count IS NULL)", name="ck_readiness_waivers_scope"
        ),
        CheckConstraint(
            "max_count IS NULL OR max_count > 0", name="ck_readiness_waivers_max_count"
        ),
        CheckConstraint(
            "approved_by IS NULL OR approved_by <> requested_by",
            name="ck_readiness_waivers_approver",
        ),
        CheckConstraint("length(btrim(reason)) > 0", name="ck_readiness_waivers_reason"),
    )

    id: Mapped[int] = id_column()
    counter: Mapped[str] = mapped_column(String(32), nullable=False)
    item_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    max_count: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    release_id: Mapped[str] = mapped_column(String(100), nullable=False)
    environment: Mapped[str] = mapped_column(String(64), nullable=False)
    covered_item_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    requested_by: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    approved_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    decision_note: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTC_TIMESTAMP, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    decided_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)


class ReleaseSnapshot(Base):
    """Evidence of one gate evaluation: every check, counter and waiver, and the verdict."""

    __tablename__ = "release_snapshots"
    __table_args__ = (
        one_of("verdict", VERDICTS, "ck_release_snapshots_verdict"),
        Index("ix_release_snapshots_release", "release_id", "created_at"),
    )

    id: Mapped[int] = id_column()
    release_id: Mapped[str] = mapped_column(String(100), nullable=False)
    environment: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    counters: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    waivers_applied: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    verdict: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class Release(Base):
    """A release's life after the gate in one environment: released, rollback recommended,
    rolled back. The same release id is a separate release in each environment."""

    __tablename__ = "releases"
    __table_args__ = (
        one_of("status", RELEASE_STATES.states, "ck_releases_status"),
        UniqueConstraint("release_id", "environment", name="uq_releases_release_environment"),
    )

    id: Mapped[int] = id_column()
    release_id: Mapped[str] = mapped_column(String(100), nullable=False)
    environment: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False, server_default="candidate")
    released_snapshot_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("release_snapshots.id")
    )
    released_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    created_at: Mapped[datetime] = created_at_column()
