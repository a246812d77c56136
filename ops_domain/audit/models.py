from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ops_domain.columns import UTC_TIMESTAMP, created_at_column, id_column, one_of
from ops_domain.db import Base
from ops_domain.principal import CHANNELS

JOB_OUTCOMES = ("running", "succeeded", "failed")


class AuditLog(Base):
    """One row per state change or refusal; a trigger refuses UPDATE and DELETE.

    ``channel``, ``principal``, ``principal_ref`` and ``database_user`` are written by the
    database, never by the writer: their defaults stamp a row that names none of them, and the
    trigger ``audit_log_stamp_principal`` overwrites a row that names other values (migrations
    0004 and 0013).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        one_of("channel", CHANNELS, "ck_audit_log_channel"),
        Index("ix_audit_log_target", "target_type", "target_id"),
        Index("ix_audit_log_action_created", "action", "created_at"),
    )

    id: Mapped[int] = id_column()
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    target_type: Mapped[str] = mapped_column(String(64), nullable=False)
    target_id: Mapped[str] = mapped_column(String(64), nullable=False)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    created_at: Mapped[datetime] = created_at_column()
    channel: Mapped[str | None] = mapped_column(String(20), server_default=text("audit_channel()"))
    principal: Mapped[str | None] = mapped_column(
        String(255), server_default=text("audit_principal()")
    )
    principal_ref: Mapped[str | None] = mapped_column(
        String(255), server_default=text("audit_principal_ref()")
    )
    database_user: Mapped[str | None] = mapped_column(
        String(255), server_default=text("session_user")
    )


class AuditChainLink(Base):
    """The tamper-evidence chain: one hash per sealed audit row, chained in sealing order
    (``link_no``).

    Append-only like the audit log (a trigger refuses UPDATE and DELETE); written only by
    ``ops_domain.audit.chain.seal_audit_log``, as the sealing role.
    """

    __tablename__ = "audit_chain"
    __table_args__ = (UniqueConstraint("link_no", name="uq_audit_chain_link_no"),)

    # No foreign key: a link outlives a deleted audit row, which is how the deletion is named.
    audit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    link_no: Mapped[int] = mapped_column(BigInteger, nullable=False)
    chain_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    sealed_at: Mapped[datetime] = created_at_column()


class AuditChainEpoch(Base):
    """A deliberate restart of the chain (``seed_demo --reset`` empties the audit log and its
    chain): links count from 1 again in the new epoch, and heads published in an earlier one
    are no longer compared. Append-only; the first epoch (1) needs no row. A chain rewritten
    without a new epoch still disagrees with the heads published in its epoch."""

    __tablename__ = "audit_chain_epochs"

    epoch: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    started_by: Mapped[str] = mapped_column(
        String(255), nullable=False, server_default=text("session_user")
    )
    started_at: Mapped[datetime] = created_at_column()


JOB_RUN_KEY_COMMENT = (
    "the caller's run reference (the Airflow run id, or the CLI's --idempotency-key),"
    " recorded to trace a run back; reruns are made safe by each job's own guards,"
    " not by this key"
)


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        one_of("outcome", JOB_OUTCOMES, "ck_job_runs_outcome"),
        Index("ix_job_runs_job_started", "job_name", "started_at"),
        Index("ix_job_runs_idempotency_key", "idempotency_key"),
    )

    id: Mapped[int] = id_column()
    job_name: Mapped[str] = mapped_column(String(100), nullable=False)
    actor_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), nullable=False)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, nullable=False)
    # What the caller ran under (the Airflow run id, or the CLI's --idempotency-key), to trace
    # a run back; a rerun under the same key runs again and is safe through each job's own
    # set-based guards: nothing reads this key to skip work.
    idempotency_key: Mapped[str | None] = mapped_column(String(250), comment=JOB_RUN_KEY_COMMENT)
    started_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTC_TIMESTAMP)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False, server_default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    error: Mapped[str | None] = mapped_column(Text)
