"""Money is Decimal with two places; rounding is half-even and happens only where stated."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from ops_domain.errors import InvalidInput

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999999999.99")  # NUMERIC(20, 2)
# Digits with an optional point: no exponent ("1e3"), no NaN/Infinity, no separators.
PLAIN_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")  # ASCII digits only


def to_money(value: object, *, field: str = "amount") -> Decimal:
    """Parse ``value`` into a two-place Decimal, refusing floats, junk and overflow."""
    if isinstance(value, float):
        raise InvalidInput(f"{field} must be given as a decimal string, not a float")
    if isinstance(value, str) and not PLAIN_DECIMAL.fullmatch(value.strip()):
        raise InvalidInput(f"{field} must be a plain decimal amount like 1000.00, got {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{field} is not a decimal amount: {value!r}") from None
    if not amount.is_finite():
        raise InvalidInput(f"{field} must be a finite amount, got {value!r}")
    if abs(amount) > MAX_AMOUNT:
        raise InvalidInput(f"{field} is too large: {value!r}")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_EVEN):
        raise InvalidInput(f"{field} has more than two decimal places: {value!r}")
    return amount.quantize(CENT)


def positive_money(value: object, *, field: str = "amount") -> Decimal:
    amount = to_money(value, field=field)
    if amount <= 0:
        raise InvalidInput(f"{field} must be greater than zero, got {amount}")
    return amount
