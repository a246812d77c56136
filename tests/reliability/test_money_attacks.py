"""Attacks on money with the application role's own login (issue findings 1 and 2): raw SQL
that skips the services is refused by the database, and the services still work as it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from ops_domain.accounting.models import APPROVAL_STATES, ENTRY_STATES, PERIOD_STATES
from ops_domain.alerts.models import ALERT_STATES
from ops_domain.cases.models import CASE_STATES
from ops_domain.config import Settings
from ops_domain.db import Base
from ops_domain.disputes.models import CHARGEBACK_STATES, REFUND_STATES
from ops_domain.payouts.models import PAYOUT_STATES
from ops_domain.payouts.service import send_payout, settle_payout
from ops_domain.readiness.models import RELEASE_STATES, WAIVER_STATES
from ops_domain.reconciliation.models import BREAK_STATES, RESOLUTION_STATES
from ops_domain.settlement_automation import automate_settlements
from ops_domain.settlements.models import EXCEPTION_STATES, SETTLEMENT_STATES
from ops_domain.settlements.service import approve_settlement
from tests.reliability.history import hire_staff
from tests.support.factories import Factory

pytestmark = pytest.mark.reliability
DAY = date(2026, 11, 20)
NEXT_MORNING = datetime(2026, 11, 21, 6, tzinfo=UTC)


def as_app(app_engine: Engine, statement: str, **params: object) -> None:
    with app_engine.begin() as conn:
        conn.execute(text(statement), params)


def one(engine: Engine, query: str, **params: object) -> object:
    with engine.begin() as conn:
        return conn.execute(text(query), params).scalar_one()


@pytest.fixture
def draft_settlement(
    engine: Engine, app_engine: Engine, settings: Settings, factory: Factory
) -> int:
    """A settlement above the auto-post limit, left draft by the job run as the app role."""
    hire_staff(factory)
    merchant = factory.merchant("M-BIG")
    factory.events_bulk([merchant], 3, day=DAY)
    automate_settlements(
        app_engine,
        replace(settings, auto_post_limit=Decimal("0.01")),
        actor_username="olga",
        period_start=DAY,
        period_end=DAY,
        create_payouts=True,
        now=NEXT_MORNING,
    )
    return int(one(engine, "SELECT id FROM settlements WHERE status = 'draft'"))


SETTLEMENT_ATTACKS = {
    # finding 1 as reported: the maker approves itself
    "self-approval": "UPDATE settlements SET status = 'posted', approval_source = 'checker',"
    " approver_id = maker_id, approval_note = 'ok', posted_at = now() WHERE id = :id",
    # a maker-role colleague instead of a checker
    "maker-role approver": "UPDATE settlements SET status = 'posted', approval_source = 'checker',"
    " approver_id = (SELECT id FROM users WHERE username = 'fiona'), approval_note = 'ok',"
    " posted_at = now() WHERE id = :id",
    # a draft labelled as posted by policy after the fact
    "late policy post": "UPDATE settlements SET status = 'posted',"
    " approval_source = 'policy:auto_post', posted_at = now() WHERE id = :id",
    "no note": "UPDATE settlements SET status = 'posted', approval_source = 'checker',"
    " approver_id = (SELECT id FROM users WHERE username = 'rita'), posted_at = now()"
    " WHERE id = :id",
    "jump to paid": "UPDATE settlements SET status = 'paid', approval_source = 'checker',"
    " paid_at = now() WHERE id = :id",
    "new maker": "UPDATE settlements SET maker_id = (SELECT id FROM users WHERE username = 'rita')"
    " WHERE id = :id",
}


@pytest.mark.parametrize("attack", SETTLEMENT_ATTACKS, ids=list(SETTLEMENT_ATTACKS))
def test_the_app_role_cannot_post_a_draft_settlement_without_a_checker(
    engine: Engine, app_engine: Engine, factory: Factory, draft_settlement: int, attack: str
) -> None:
    before = factory.table_checksums()
    with pytest.raises(DBAPIError, match="CheckViolation"):
        as_app(app_engine, SETTLEMENT_ATTACKS[attack], id=draft_settlement)
    assert factory.table_checksums() == before


def test_a_settlement_posted_by_a_checker_through_the_service_is_paid_only_with_its_payout(
    engine: Engine, app_engine: Engine, settings: Settings, draft_settlement: int
) -> None:
    approve_settlement(
        app_engine, settlement_id=draft_settlement, actor_username="rita", note="agreed"
    )
    with pytest.raises(DBAPIError, match="paid only once its payout settled"):
        as_app(
            app_engine,
            "UPDATE settlements SET status = 'paid', paid_at = now() WHERE id = :id",
            id=draft_settlement,
        )
    automate_settlements(
        app_engine,
        settings,
        actor_username="olga",
        period_start=DAY,
        period_end=DAY,
        create_payouts=True,
        now=NEXT_MORNING,
    )
    payout = int(one(engine, "SELECT id FROM payouts WHERE settlement_id = :s", s=draft_settlement))
    send_payout(app_engine, settings, payout_id=payout, actor_username="rita", note="released")
    settle_payout(app_engine, settings, payout_id=payout, actor_username="ada", note="credited")
    assert one(engine, "SELECT status FROM settlements WHERE id = :s", s=draft_settlement) == "paid"


@pytest.fixture
def pending_payout(engine: Engine, app_engine: Engine, settings: Settings, factory: Factory) -> int:
    hire_staff(factory)
    merchant = factory.merchant("M-PAY")
    factory.events_bulk([merchant], 3, day=DAY)
    automate_settlements(
        app_engine,
        settings,
        actor_username="olga",
        period_start=DAY,
        period_end=DAY,
        create_payouts=True,
        now=NEXT_MORNING,
    )
    return int(one(engine, "SELECT id FROM payouts WHERE status = 'pending'"))


PAYOUT_ATTACKS = {
    # finding 2 as reported
    "redirect destination": "UPDATE payouts SET destination_account = 'ATTACKER-0000'"
    " WHERE id = :id",
    "switch channel": "UPDATE payouts SET channel = 'cash_pickup' WHERE id = :id",
    "jump to settled": "UPDATE payouts SET status = 'settled', settled_at = now(),"
    " last_checker_id = (SELECT id FROM users WHERE username = 'rita'), last_note = 'x'"
    " WHERE id = :id",
    "maker sends": "UPDATE payouts SET status = 'sent', sent_at = now(),"
    " last_checker_id = maker_id, last_note = 'x' WHERE id = :id",
    "no permission": "UPDATE payouts SET status = 'sent', sent_at = now(),"
    " last_checker_id = (SELECT id FROM users WHERE username = 'cora'), last_note = 'x'"
    " WHERE id = :id",
    "approval by the maker": "UPDATE payouts SET approved_by = maker_id, approved_at = now()"
    " WHERE id = :id",
    "approval by a maker role": "UPDATE payouts SET approved_at = now(),"
    " approved_by = (SELECT id FROM users WHERE username = 'tom') WHERE id = :id",
    "sender not the decider": "UPDATE payouts SET status = 'sent', sent_at = now(),"
    " last_checker_id = (SELECT id FROM users WHERE username = 'rita'), last_note = 'x',"
    " sent_by = (SELECT id FROM users WHERE username = 'ada') WHERE id = :id",
    "extra attempt": "UPDATE payouts SET attempt = attempt + 1 WHERE id = :id",
    "forged checker": "UPDATE payouts SET last_checker_id ="
    " (SELECT id FROM users WHERE username = 'rita') WHERE id = :id",
    "second payout to attacker": "INSERT INTO payouts (settlement_id, merchant_id, amount,"
    " currency, channel, destination_account, status, maker_id)"
    " SELECT settlement_id, merchant_id, amount, currency, channel, 'ATTACKER-0000', 'pending',"
    " maker_id FROM payouts WHERE id = :id ON CONFLICT DO NOTHING",
}


def test_the_sender_cannot_settle_its_own_payout_with_raw_sql(
    engine: Engine, app_engine: Engine, settings: Settings, pending_payout: int
) -> None:
    send_payout(
        app_engine, settings, payout_id=pending_payout, actor_username="rita", note="released"
    )
    with pytest.raises(DBAPIError, match="breaks the sender and approver rules"):
        as_app(
            app_engine,
            "UPDATE payouts SET status = 'settled', settled_at = now(), last_note = 'x',"
            " last_checker_id = sent_by WHERE id = :id",
            id=pending_payout,
        )


@pytest.mark.parametrize("attack", PAYOUT_ATTACKS, ids=list(PAYOUT_ATTACKS))
def test_the_app_role_cannot_redirect_or_decide_a_payout_with_raw_sql(
    engine: Engine, app_engine: Engine, factory: Factory, pending_payout: int, attack: str
) -> None:
    before = factory.table_checksums()
    with pytest.raises(DBAPIError, match=r"immutable|CheckViolation"):
        as_app(app_engine, PAYOUT_ATTACKS[attack], id=pending_payout)
    assert factory.table_checksums() == before


def test_a_payout_to_a_destination_other_than_the_merchants_is_refused(
    engine: Engine, app_engine: Engine, factory: Factory, pending_payout: int
) -> None:
    """Even for a settlement without a payout: the destination is the merchant's."""
    with engine.begin() as conn:  # free the settlement, as the owner
        conn.execute(text("ALTER TABLE payouts DISABLE TRIGGER payouts_no_delete"))
        conn.execute(text("DELETE FROM payouts WHERE id = :id"), {"id": pending_payout})
        conn.execute(text("ALTER TABLE payouts ENABLE TRIGGER payouts_no_delete"))
    with pytest.raises(DBAPIError, match="merchant's destination"):
        as_app(
            app_engine,
            "INSERT INTO payouts (settlement_id, merchant_id, amount, currency, channel,"
            " destination_account, status, maker_id)"
            " SELECT s.id, s.merchant_id, s.net_amount, s.currency, m.channel, 'ATTACKER-0000',"
            " 'pending', s.maker_id FROM settlements s JOIN merchants m ON m.id = s.merchant_id",
        )


@pytest.mark.parametrize(
    ("table", "status", "jump"),
    [("chargebacks", "open", "closed"), ("alerts", "closed", "open"), ("cases", "open", "closed")],
)
def test_status_jumps_the_transition_tables_forbid_are_refused(
    engine: Engine, app_engine: Engine, factory: Factory, table: str, status: str, jump: str
) -> None:
    cora = factory.user("cora", "customer_service")
    rows = {
        "chargebacks": lambda: factory.chargeback(factory.merchant("M-CB"), status=status),
        "alerts": lambda: factory.alert(status=status),
        "cases": lambda: factory.case(cora),
    }
    row = rows[table]()
    with pytest.raises(DBAPIError, match=f"illegal transition {status} -> {jump}"):
        as_app(app_engine, f"UPDATE {table} SET status = :to WHERE id = :id", to=jump, id=row)


def test_the_database_status_moves_are_the_transition_tables(engine: Engine) -> None:
    """One rule, two enforcers: each status trigger's moves equal its StateMachine's."""
    machines = {
        "settlements": SETTLEMENT_STATES,
        "settlement_exceptions": EXCEPTION_STATES,
        "payouts": PAYOUT_STATES,
        "refund_requests": REFUND_STATES,
        "chargebacks": CHARGEBACK_STATES,
        "cases": CASE_STATES,
        "reconciliation_breaks": BREAK_STATES,
        "reconciliation_break_resolutions": RESOLUTION_STATES,
        "journal_entries": ENTRY_STATES,
        "journal_approvals": APPROVAL_STATES,
        "accounting_periods": PERIOD_STATES,
        "readiness_waivers": WAIVER_STATES,
        "releases": RELEASE_STATES,
        "alerts": ALERT_STATES,
    }
    stateless = {m.class_.__tablename__ for m in Base.registry.mappers} - set(machines)
    assert {t for t in stateless if "status" in Base.metadata.tables[t].c} == {"merchants"}
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, t.tgargs FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE t.tgname = c.relname || '_status_moves'"
            )
        ).all()
    in_database = {
        table: frozenset(args.tobytes().decode().rstrip("\x00").split("\x00"))
        for table, args in rows
    }
    assert in_database == {
        table: frozenset(
            f"{src}>{dst}" for src, targets in machine.moves.items() for dst in targets
        )
        for table, machine in machines.items()
    }
