"""The rows a scenario starts from, written straight to the database (Core inserts), so a
scenario states only what matters to it. The tests' factory builds on these."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert, select, text

from ops_domain.audit.models import AuditLog
from ops_domain.cases.models import Case
from ops_domain.disputes.models import RefundRequest
from ops_domain.merchants.models import CashflowEvent, Merchant
from ops_domain.rbac.users import add_user
from ops_domain.smoke.scratch import ALL_TABLES

DEFAULT_TIME = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DEFAULT_DAY = DEFAULT_TIME.date()


class Builders:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._serial = itertools.count(1)

    def _insert(self, table: Any, **values: Any) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(table).values(**values).returning(table.id)).scalar_one()

    def user(self, username: str, *roles: str, active: bool = True) -> int:
        user_id = add_user(self.engine, username, list(roles))
        if not active:
            with self.engine.begin() as conn:
                conn.execute(
                    text("UPDATE users SET is_active = false WHERE id = :id"), {"id": user_id}
                )
        return user_id

    def merchant(
        self, code: str | None = None, *, status: str = "active", currency: str = "USD"
    ) -> int:
        n = next(self._serial)
        return self._insert(
            Merchant,
            code=code or f"M{n:05d}",
            name=f"Merchant {code or n}",
            status=status,
            settlement_currency=currency,
            destination_account=f"ACC-{n:08d}",
            channel="bank_transfer",
        )

    def event(
        self,
        merchant_id: int,
        amount: str | Decimal,
        *,
        fee: str | Decimal = "0.00",
        direction: str = "credit",
        currency: str = "USD",
        occurred_at: datetime = DEFAULT_TIME,
        flow_type: str = "c2b",
    ) -> int:
        amount, fee = Decimal(amount), Decimal(fee)
        return self._insert(
            CashflowEvent,
            merchant_id=merchant_id,
            flow_type=flow_type,
            direction=direction,
            amount=amount,
            fee_amount=fee,
            net_amount=amount - fee,
            currency=currency,
            occurred_at=occurred_at,
        )

    def case(
        self,
        created_by: int,
        *,
        case_type: str = "complaint",
        priority: str = "medium",
        status: str = "open",
        sla_due_at: datetime | None = None,
        created_at: datetime = DEFAULT_TIME,
    ) -> int:
        return self._insert(
            Case,
            case_type=case_type,
            priority=priority,
            status=status,
            title=f"{case_type} case",
            sla_due_at=sla_due_at,
            created_by=created_by,
            created_at=created_at,
        )

    def refund(
        self,
        maker_id: int,
        source_event_id: int,
        amount: str,
        *,
        case_id: int | None = None,
        status: str = "pending",
        sla_due_at: datetime = DEFAULT_TIME + timedelta(hours=48),
    ) -> int:
        with self.engine.begin() as conn:
            event = conn.execute(
                select(CashflowEvent.merchant_id, CashflowEvent.currency).where(
                    CashflowEvent.id == source_event_id
                )
            ).one()
        return self._insert(
            RefundRequest,
            case_id=case_id,
            merchant_id=event.merchant_id,
            customer_ref="CUST-1",
            source_event_id=source_event_id,
            amount=Decimal(amount),
            currency=event.currency,
            reason="customer dispute",
            status=status,
            maker_id=maker_id,
            sla_due_at=sla_due_at,
        )

    def count(self, table: str, where: str = "true", **params: Any) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE {where}"),
                params,
            ).scalar_one()

    def row(self, sql: str, **params: Any) -> dict[str, Any]:
        """The one row ``sql`` selects, as a dict."""
        with self.engine.begin() as conn:
            return dict(conn.execute(text(sql), params).mappings().one())

    def audit_actions(self, prefix: str = "") -> list[str]:
        with self.engine.begin() as conn:
            return list(
                conn.scalars(
                    select(AuditLog.action)
                    .where(AuditLog.action.startswith(prefix))
                    .order_by(AuditLog.id)
                )
            )

    def table_checksums(self) -> dict[str, str]:
        """md5 of every ops table's full content: proves a refused command changed nothing."""
        with self.engine.begin() as conn:
            return {
                table: conn.execute(
                    text(
                        "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                        f" FROM {table} t"
                    )
                ).scalar_one()
                for table in ALL_TABLES
            }
