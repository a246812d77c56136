"""The chart of accounts: one account per (code, currency)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from ops_domain.accounting.models import ACCOUNT_TYPES, Account
from ops_domain.audit.actions import ACCOUNT_CREATE
from ops_domain.audit.log import record_audit
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput
from ops_domain.rbac.actors import require_actor

# The e-wallet's standard chart of accounts (code, name, type), opened per currency by the
# demo data and the benchmark books.
STANDARD_CHART = (
    ("1000", "Cash at bank", "asset"),
    ("1200", "Settlement clearing", "asset"),
    ("2000", "Merchant payables", "liability"),
    ("2100", "Customer refunds payable", "liability"),
    ("3000", "Retained earnings", "equity"),
    ("4000", "Fee revenue", "revenue"),
    ("5000", "Bank charges", "expense"),
    ("5100", "Chargeback losses", "expense"),
)

ACCOUNT_PERMISSION = "journals.create"


def add_account(
    engine: Engine,
    settings: Settings,
    *,
    actor_username: str,
    code: str,
    name: str,
    account_type: str,
    currency: str,
) -> dict[str, Any]:
    """Open an account; a code is unique within its currency (the same code may exist in
    several currencies, one ledger per currency)."""
    settings.require_currency(currency)
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise InvalidInput("an account needs a code and a name")
    if account_type not in ACCOUNT_TYPES:
        raise InvalidInput(
            f"account type must be one of {', '.join(ACCOUNT_TYPES)}, got {account_type!r}"
        )
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, ACCOUNT_PERMISSION, "accounts add")
        if accounts_by_code(session, currency, [code]):
            raise InvalidInput(f"account {code} already exists in {currency}")
        values = {"code": code, "name": name, "account_type": account_type, "currency": currency}
        account_id = session.execute(
            insert(Account).values(**values).returning(Account.id)
        ).scalar_one()
        record_audit(
            session,
            actor_id=actor.id,
            action=ACCOUNT_CREATE,
            target_type="account",
            target_id=account_id,
            after=values,
        )
    return {"id": account_id, **values}


def accounts_by_code(session: Session, currency: str, codes: list[str]) -> dict[str, int]:
    """code -> account id for the given codes that exist in ``currency``."""
    rows = session.execute(
        select(Account.code, Account.id).where(
            Account.currency == currency, Account.code.in_(codes)
        )
    ).all()
    return {row.code: row.id for row in rows}
