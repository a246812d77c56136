"""Reading a submitted form: a field is text or a whole number, and a missing or malformed
one is bad input named by its field (the domain then judges the values)."""

from __future__ import annotations

from starlette.datastructures import FormData

from ops_domain.errors import InvalidInput


def words(form: FormData, field: str) -> str:
    """The field's text, stripped ('' when absent: the domain refuses what it needs)."""
    value = form.get(field)
    return value.strip() if isinstance(value, str) else ""


def whole_number(form: FormData, field: str) -> int:
    text = words(form, field)
    if not text.isdigit():
        raise InvalidInput(f"{field} must be a whole number, got {text!r}")
    return int(text)
