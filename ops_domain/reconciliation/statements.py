"""External statements: what the processor or bank says it settled, per merchant and day.

A line may name its currency (optional CSV column ``currency``); a statement fits a run only if
every line lies in the run's window and names no other currency: a line that does not fit is
refused, never silently dropped.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ops_domain.clock import parse_date
from ops_domain.config import CURRENCY_PATTERN
from ops_domain.errors import InvalidInput
from ops_domain.money import to_money
from ops_domain.numbers import INTEGER_MAX, whole_number

REQUIRED_COLUMNS = ("merchant_code", "business_date", "amount", "count")
LINES_NAMED = 3


@dataclass(frozen=True)
class StatementLine:
    """One external total: a merchant's settled net amount and transaction count for a day."""

    merchant_code: str
    business_date: date
    amount: Decimal
    count: int
    reference: str | None = None
    currency: str | None = None

    @classmethod
    def build(
        cls,
        merchant_code: str,
        business_date: str,
        amount: str,
        count: str,
        reference: str | None = None,
        *,
        where: str,
        currency: str | None = None,
    ) -> StatementLine:
        code = (merchant_code or "").strip()
        if not code:
            raise InvalidInput(f"{where}: merchant_code is empty")
        currency = (currency or "").strip() or None
        if currency is not None and not CURRENCY_PATTERN.match(currency):
            raise InvalidInput(f"{where}: currency must be a 3-letter code, got {currency!r}")
        transactions = whole_number(
            str(count), field=f"{where}: count", minimum=0, maximum=INTEGER_MAX
        )
        return cls(
            merchant_code=code,
            business_date=parse_date(str(business_date).strip(), field=f"{where} business_date"),
            amount=to_money(amount, field=f"{where} amount"),
            count=transactions,
            reference=(reference or "").strip() or None,
            currency=currency,
        )

    @classmethod
    def parse(cls, raw: str) -> StatementLine:
        """Inline form ``MERCHANT:YYYY-MM-DD:AMOUNT:COUNT[:REFERENCE]``."""
        parts = raw.split(":")
        if len(parts) not in {4, 5}:
            raise InvalidInput(
                f"statement total must be MERCHANT:DATE:AMOUNT:COUNT[:REFERENCE], got {raw!r}"
            )
        return cls.build(*parts, where=f"total {raw!r}")

    def as_row(self) -> dict[str, Any]:
        return {
            "merchant_code": self.merchant_code,
            "business_date": self.business_date.isoformat(),
            "amount": str(self.amount),
            "count": self.count,
            "reference": self.reference,
        }

    def describe(self) -> str:
        currency = f" {self.currency}" if self.currency else ""
        return f"{self.merchant_code} {self.business_date}{currency} {self.amount}"


@dataclass(frozen=True)
class ExternalStatement:
    source: str
    lines: tuple[StatementLine, ...]

    @classmethod
    def from_csv(cls, path: str | Path) -> ExternalStatement:
        """A CSV with a header: merchant_code, business_date, amount, count[, reference]."""
        file = Path(path)
        if not file.is_file():
            raise InvalidInput(f"statement file {str(file)!r} does not exist")
        try:
            return cls._read_csv(file)
        except (UnicodeDecodeError, csv.Error) as exc:
            reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
            raise InvalidInput(f"statement {file.name} is not a readable CSV: {reason}") from None

    @classmethod
    def _read_csv(cls, file: Path) -> ExternalStatement:
        with file.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InvalidInput(f"statement {file.name} lacks column(s) {', '.join(missing)}")
            lines = tuple(
                StatementLine.build(
                    row["merchant_code"],
                    row["business_date"],
                    row["amount"],
                    row["count"],
                    row.get("reference"),
                    where=f"{file.name} line {number}",
                    currency=row.get("currency"),
                )
                for number, row in enumerate(reader, start=2)
            )
        return cls(source=f"csv:{file}", lines=lines)

    @classmethod
    def from_totals(cls, totals: list[str], source: str = "inline") -> ExternalStatement:
        return cls(source=source, lines=tuple(StatementLine.parse(raw) for raw in totals))

    def require_fits(self, currency: str, window_start: date, window_end: date) -> None:
        """Refuse a statement with a line dated outside ``window_start..window_end`` or
        naming a currency other than ``currency``."""
        outside = [
            line for line in self.lines if not window_start <= line.business_date <= window_end
        ]
        if outside:
            raise InvalidInput(
                f"{len(outside)} statement line(s) dated outside the window {window_start}.."
                f"{window_end}: {_named(outside)}; give the window's lines only or widen it"
            )
        foreign = [line for line in self.lines if line.currency not in (None, currency)]
        if foreign:
            raise InvalidInput(
                f"{len(foreign)} statement line(s) in another currency than {currency}:"
                f" {_named(foreign)}; reconcile each currency with its own statement"
            )


def _named(lines: list[StatementLine]) -> str:
    named = ", ".join(line.describe() for line in lines[:LINES_NAMED])
    more = len(lines) - LINES_NAMED
    return named + (f" and {more} more" if more > 0 else "")
