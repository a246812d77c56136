"""Finding a merchant by the code people type on the command line or in a DAG's params."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from ops_domain.errors import NotFound


def merchant_by_code(session: Session, code: str) -> Row[Any]:
    """The merchant's ``id`` and ``settlement_currency``; an unknown code is ``NotFound``."""
    merchant = session.execute(
        text("SELECT id, settlement_currency FROM merchants WHERE code = :code"), {"code": code}
    ).first()
    if merchant is None:
        raise NotFound("merchant", code)
    return merchant
