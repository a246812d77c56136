"""Column types shared by every table: money, UTC timestamps, status checks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, Numeric, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

MONEY = Numeric(20, 2, asdecimal=True)
UTC_TIMESTAMP = DateTime(timezone=True)


def id_column() -> Mapped[int]:
    return mapped_column(BigInteger, Identity(always=False), primary_key=True)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(UTC_TIMESTAMP, nullable=False, server_default=func.now())


def money_column(*, nullable: bool = False) -> Mapped[Decimal]:
    return mapped_column(MONEY, nullable=nullable)


def one_of(column: str, values: Iterable[str], name: str) -> CheckConstraint:
    """A CHECK that ``column`` holds one of ``values`` (the enum lives in the database too)."""
    quoted = ", ".join(f"'{value}'" for value in sorted(values))
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


def currency_check(column: str, name: str) -> CheckConstraint:
    return CheckConstraint(f"{column} ~ '^[A-Z]{{3}}$'", name=name)


def reference_column(prefix: str, sequence: str) -> Mapped[str]:
    """A unique reference number (``SETTLE-00000042``) drawn from a database sequence, never
    from a timestamp, so it stays unique under concurrency."""
    return mapped_column(
        String(32),
        unique=True,
        nullable=False,
        server_default=text(f"'{prefix}-' || lpad(nextval('{sequence}')::text, 8, '0')"),
    )
