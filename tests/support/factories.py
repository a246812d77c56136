"""Test data written straight to the database (Core inserts), so tests state only what matters.

The rows the shipped smoke scenarios need are built by ``ops_domain.smoke.builders``; this
factory adds the rest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, text

from ops_domain.accounting.models import (
    Account,
    AccountingPeriod,
    JournalApproval,
    JournalEntry,
    JournalLine,
)
from ops_domain.alerts.models import Alert
from ops_domain.disputes.models import Chargeback
from ops_domain.reconciliation.models import ReconciliationBreak, ReconciliationRun
from ops_domain.settlements.models import SettlementException
from ops_domain.smoke.builders import DEFAULT_DAY, DEFAULT_TIME, Builders

__all__ = ["DEFAULT_DAY", "DEFAULT_TIME", "Factory"]


class Factory(Builders):
    """The scenarios' builders, and the rows only tests need."""

    def events_bulk(
        self,
        merchant_ids: list[int],
        per_merchant: int,
        *,
        day: date,
        currency: str = "USD",
    ) -> int:
        """``per_merchant`` credit events of 10.00 (fee 0.30) each, spread over ``day``."""
        with self.engine.begin() as conn:
            return conn.execute(
                text(
                    """
                    INSERT INTO cashflow_events (merchant_id, flow_type, direction, amount,
                        fee_amount, net_amount, currency, occurred_at)
                    SELECT m, 'c2b', 'credit', 10.00, 0.30, 9.70, :currency,
                           :start + (n * interval '1 second')
                      FROM unnest(CAST(:merchants AS bigint[])) AS m,
                           generate_series(1, :per) AS n
                    """
                ),
                {
                    "currency": currency,
                    "start": datetime.combine(day, datetime.min.time(), tzinfo=UTC),
                    "merchants": merchant_ids,
                    "per": per_merchant,
                },
            ).rowcount

    def chargeback(
        self,
        merchant_id: int,
        amount: str = "25.00",
        *,
        status: str = "open",
        due_at: datetime = DEFAULT_TIME + timedelta(days=10),
        currency: str = "USD",
    ) -> int:
        return self._insert(
            Chargeback,
            merchant_id=merchant_id,
            network_reason_code="10.4",
            amount=Decimal(amount),
            currency=currency,
            due_at=due_at,
            status=status,
        )

    def alert(
        self,
        alert_type: str = "manual",
        *,
        severity: str = "high",
        status: str = "open",
        target_type: str = "merchant",
        target_id: str = "1",
    ) -> int:
        return self._insert(
            Alert,
            alert_type=alert_type,
            severity=severity,
            status=status,
            title=f"{alert_type} alert",
            target_type=target_type,
            target_id=target_id,
            dedupe_key=f"{alert_type}:{target_type}:{target_id}",
        )

    def recon_break(
        self,
        created_by: int,
        *,
        currency: str = "USD",
        business_date: date = DEFAULT_DAY,
        status: str = "open",
        category: str = "amount_mismatch",
        created_at: datetime = DEFAULT_TIME,
    ) -> int:
        run_id = self._insert(
            ReconciliationRun,
            currency=currency,
            window_start=business_date,
            window_end=business_date,
            internal_total=Decimal("100.00"),
            external_total=Decimal("90.00"),
            internal_count=1,
            external_count=1,
            statement_source="test",
            created_by=created_by,
        )
        return self._insert(
            ReconciliationBreak,
            run_id=run_id,
            category=category,
            status=status,
            currency=currency,
            business_date=business_date,
            difference=Decimal("10.00"),
            created_at=created_at,
        )

    def account(self, code: str, account_type: str = "asset", currency: str = "USD") -> int:
        return self._insert(
            Account, code=code, name=f"Account {code}", account_type=account_type, currency=currency
        )

    def journal(
        self,
        maker_id: int,
        lines: list[tuple[int, str | None, str | None]],
        *,
        entry_date: date = DEFAULT_DAY,
        currency: str = "USD",
    ) -> int:
        """A draft entry with (account_id, debit, credit) lines."""
        entry_id = self._insert(
            JournalEntry,
            entry_date=entry_date,
            currency=currency,
            description="test entry",
            maker_id=maker_id,
        )
        with self.engine.begin() as conn:
            conn.execute(
                insert(JournalLine),
                [
                    {
                        "entry_id": entry_id,
                        "account_id": account_id,
                        "debit": Decimal(debit) if debit else None,
                        "credit": Decimal(credit) if credit else None,
                    }
                    for account_id, debit, credit in lines
                ],
            )
        return entry_id

    def period(self, start: date, end: date, *, currency: str = "USD", status: str = "open") -> int:
        return self._insert(
            AccountingPeriod, currency=currency, period_start=start, period_end=end, status=status
        )

    def now(self) -> datetime:
        with self.engine.begin() as conn:
            return conn.execute(select(func.now())).scalar_one()

    def failed_payout(self, maker_id: int, amount: str = "50.00") -> int:
        """A posted settlement of one event whose payout failed (a release blocker)."""
        merchant_id = self.merchant()
        self.event(merchant_id, amount)
        with self.engine.begin() as conn:
            settlement_id = conn.execute(
                text(
                    """
                    INSERT INTO settlements (merchant_id, currency, period_start, period_end,
                        gross_amount, fee_amount, net_amount, event_count, status, maker_id,
                        approval_source, posted_at)
                    VALUES (:merchant, 'USD', :day, :day, :amount, 0, :amount, 1, 'posted',
                        :maker, 'policy:auto_post', now())
                    RETURNING id
                    """
                ),
                {
                    "merchant": merchant_id,
                    "day": DEFAULT_DAY,
                    "amount": Decimal(amount),
                    "maker": maker_id,
                },
            ).scalar_one()
            return conn.execute(
                text(
                    """
                    INSERT INTO payouts (settlement_id, merchant_id, amount, currency, channel,
                        destination_account, status, maker_id, failure_reason, failed_at)
                    VALUES (:settlement, :merchant, :amount, 'USD', 'bank_transfer', 'ACC-1',
                        'failed', :maker, 'bank rejected', now())
                    RETURNING id
                    """
                ),
                {
                    "settlement": settlement_id,
                    "merchant": merchant_id,
                    "amount": Decimal(amount),
                    "maker": maker_id,
                },
            ).scalar_one()

    def settlement_exception(
        self,
        maker_id: int,
        *,
        severity: str = "high",
        status: str = "open",
        created_at: datetime = DEFAULT_TIME,
    ) -> int:
        """A ``negative_net`` exception on a draft settlement of one 10.00 refund event."""
        merchant_id = self.merchant()
        self.event(merchant_id, "10.00", direction="debit")
        with self.engine.begin() as conn:
            settlement_id = conn.execute(
                text(
                    """
                    INSERT INTO settlements (merchant_id, currency, period_start, period_end,
                        gross_amount, fee_amount, net_amount, event_count, maker_id)
                    VALUES (:merchant, 'USD', :day, :day, -10.00, 0, -10.00, 1, :maker)
                    RETURNING id
                    """
                ),
                {"merchant": merchant_id, "day": DEFAULT_DAY, "maker": maker_id},
            ).scalar_one()
        return self._insert(
            SettlementException,
            settlement_id=settlement_id,
            reason_code="negative_net",
            severity=severity,
            status=status,
            created_at=created_at,
        )

    def journal_approval(
        self, maker_id: int, *, status: str = "pending", requested_at: datetime = DEFAULT_TIME
    ) -> int:
        """A ``post`` approval request for a balanced 10.00 draft entry."""
        n = next(self._serial)
        cash, revenue = self.account(f"1{n:04d}"), self.account(f"4{n:04d}", "revenue")
        entry_id = self.journal(maker_id, [(cash, "10.00", None), (revenue, None, "10.00")])
        return self._insert(
            JournalApproval,
            entry_id=entry_id,
            kind="post",
            status=status,
            requested_by=maker_id,
            requested_at=requested_at,
        )
