"""Whole numbers from text: ASCII digits only, within the column they are stored in.

Python's ``int`` reads any Unicode digit (Arabic-Indic or full-width digits); an id or a
count typed with them is a mistake or a trick, never what an operator meant.
"""

from __future__ import annotations

import re

from ops_domain.errors import InvalidInput

ASCII_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+", re.ASCII)
INTEGER_MAX = 2**31 - 1  # PostgreSQL integer
BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint (every id)


def whole_number(
    raw: str, *, field: str, minimum: int = -BIGINT_MAX - 1, maximum: int = BIGINT_MAX
) -> int:
    """``raw`` as an int written in ASCII digits, refused outside ``minimum..maximum``."""
    text = raw.strip()
    if not ASCII_WHOLE_NUMBER.fullmatch(text):
        raise InvalidInput(f"{field} must be a whole number in digits 0-9, got {raw!r}")
    value = int(text)
    if not minimum <= value <= maximum:
        raise InvalidInput(f"{field} must be between {minimum} and {maximum}, got {text}")
    return value
