"""Property-based: random sequences of real service calls on payouts, refunds, chargebacks,
cases, journals and periods. Whatever the order, actor or target state:

- every record stays in a state of its machine, and moves only along the machine's edges;
- a refused call changes no state (it may only leave a ``*_refused`` audit row);
- every state change leaves exactly one audit row naming the record;
- no posted journal is unbalanced, none is posted into a period that was closed;
- at the end the completeness rules of ``audit verify`` find nothing missing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from ops_domain.accounting.journals import (
    JournalLineInput,
    approve_journal_approval,
    create_journal,
    reject_journal_approval,
    reverse_journal,
    submit_journal,
    void_journal,
)
from ops_domain.accounting.models import APPROVAL_STATES, ENTRY_STATES, PERIOD_STATES
from ops_domain.accounting.periods import manage_accounting_period
from ops_domain.audit.completeness import missing_audit_links
from ops_domain.cases.models import CASE_STATES
from ops_domain.cases.service import open_case, transition_case
from ops_domain.config import Settings
from ops_domain.disputes.chargebacks import transition_chargeback
from ops_domain.disputes.models import CHARGEBACK_STATES, REFUND_STATES
from ops_domain.disputes.refunds import (
    approve_refund,
    execute_refund,
    fail_refund,
    reject_refund,
    request_refund,
)
from ops_domain.errors import DomainError
from ops_domain.payouts.models import PAYOUT_STATES
from ops_domain.payouts.service import fail_payout, resubmit_payout, send_payout, settle_payout
from ops_domain.rbac.seeding import seed_rbac
from ops_domain.settlement_automation import automate_settlements
from ops_domain.settlements.models import SETTLEMENT_STATES
from ops_domain.transitions import StateMachine
from tests.reliability.history import DAY, hire_staff
from tests.support.database import wipe
from tests.support.factories import Factory

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

SETTINGS = Settings(enabled_currencies=frozenset({"USD", "EUR", "IDR"}))
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
ENTRY_DAY = date(2026, 10, 15)
REVERSAL_DAY = date(2026, 10, 20)
MACHINES: dict[str, tuple[str, StateMachine, frozenset[str]]] = {
    # table -> (audit target type, machine, states a new row may start in)
    "payouts": ("payout", PAYOUT_STATES, frozenset({"pending"})),
    "settlements": ("settlement", SETTLEMENT_STATES, frozenset({"posted", "draft"})),
    "refund_requests": ("refund_request", REFUND_STATES, frozenset({"pending"})),
    "chargebacks": ("chargeback", CHARGEBACK_STATES, frozenset({"open"})),
    "cases": ("case", CASE_STATES, frozenset({"open"})),
    "journal_entries": ("journal_entry", ENTRY_STATES, frozenset({"draft"})),
    "journal_approvals": ("journal_approval", APPROVAL_STATES, frozenset({"pending"})),
    "accounting_periods": ("accounting_period", PERIOD_STATES, frozenset({"open", "closed"})),
}
NOT_A_CHANGE = ("case.note", "journal.reverse")

Snapshot = dict[tuple[str, int], str]


def snapshot(engine: Engine) -> Snapshot:
    with engine.begin() as conn:
        return {
            (table, row.id): row.status
            for table in MACHINES
            for row in conn.execute(text(f"SELECT id, status FROM {table}"))
        }


def new_audit_rows(engine: Engine, after_id: int) -> list[tuple[str, str, str]]:
    with engine.begin() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text("SELECT action, target_type, target_id FROM audit_log WHERE id > :i"),
                {"i": after_id},
            )
        ]


def last_audit_id(engine: Engine) -> int:
    with engine.begin() as conn:
        return conn.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()


def latest(engine: Engine, table: str, where: str) -> int:
    with engine.begin() as conn:
        found = conn.execute(text(f"SELECT max(id) FROM {table} WHERE {where}")).scalar_one()
    return found or 0


class World:
    """One payout, settlement, refund, chargeback, case, October journal and period."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        wipe(engine)
        seed_rbac(engine)
        factory = Factory(engine)
        hire_staff(factory)
        merchant = factory.merchant()
        event = factory.event(merchant, "40.00")
        factory.event(merchant, "25.00")
        automate_settlements(
            engine,
            SETTINGS,
            actor_username="olga",
            period_start=DAY,
            period_end=DAY,
            create_payouts=True,
        )
        self.payout = latest(engine, "payouts", "true")
        self.refund = request_refund(
            engine,
            SETTINGS,
            actor_username="cora",
            source_event_id=event,
            amount="5.00",
            reason="customer dispute",
            customer_ref="CUST-1",
        )["id"]
        self.chargeback = factory.chargeback(merchant)
        self.case = open_case(
            engine,
            actor_username="cora",
            case_type="complaint",
            priority="high",
            title="disputed payout",
            teams=["customer_service"],
        )["id"]
        factory.account("1000-CASH", "asset")
        factory.account("4000-FEES", "revenue")
        factory.period(*OCTOBER)
        self.create_entry("fiona")

    def create_entry(self, actor: str) -> None:
        create_journal(
            self.engine,
            SETTINGS,
            actor_username=actor,
            entry_date=ENTRY_DAY,
            currency="USD",
            description="fees",
            lines=[
                JournalLineInput.parse("1000-CASH:debit:3.10"),
                JournalLineInput.parse("4000-FEES:credit:3.10"),
            ],
        )


def payout_action(verb: str, actor: str) -> Callable[[World], Any]:
    calls = {
        "send": lambda w: send_payout(
            w.engine, SETTINGS, payout_id=w.payout, actor_username=actor, note="n"
        ),
        "settle": lambda w: settle_payout(
            w.engine, SETTINGS, payout_id=w.payout, actor_username=actor, note="n"
        ),
        "fail": lambda w: fail_payout(
            w.engine, SETTINGS, payout_id=w.payout, actor_username=actor, note="n", reason="R01"
        ),
        "resubmit": lambda w: resubmit_payout(
            w.engine, SETTINGS, payout_id=w.payout, actor_username=actor, note="n"
        ),
    }
    return calls[verb]


def refund_action(verb: str, actor: str) -> Callable[[World], Any]:
    call = {
        "approve": approve_refund,
        "reject": reject_refund,
        "execute": execute_refund,
        "fail": fail_refund,
    }[verb]
    return lambda w: call(w.engine, refund_id=w.refund, actor_username=actor, note="checked")


def journal_action(verb: str, actor: str) -> Callable[[World], Any]:
    def draft(w: World) -> int:
        return latest(w.engine, "journal_entries", "status = 'draft'")

    def pending(w: World) -> int:
        return latest(w.engine, "journal_approvals", "status = 'pending'")

    calls: dict[str, Callable[[World], Any]] = {
        "create": lambda w: w.create_entry(actor),
        "submit": lambda w: submit_journal(w.engine, entry_id=draft(w), actor_username=actor),
        "approve": lambda w: approve_journal_approval(
            w.engine, approval_id=pending(w), actor_username=actor, note="ok"
        ),
        "reject": lambda w: reject_journal_approval(
            w.engine, approval_id=pending(w), actor_username=actor, note="no"
        ),
        "void": lambda w: void_journal(
            w.engine, entry_id=draft(w), actor_username=actor, note="typo"
        ),
        "reverse": lambda w: reverse_journal(
            w.engine,
            entry_id=latest(w.engine, "journal_entries", "status = 'posted'"),
            actor_username=actor,
            entry_date=REVERSAL_DAY,
            reason="wrong fee",
        ),
    }
    return calls[verb]


def period_action(verb: str, actor: str) -> Callable[[World], Any]:
    return lambda w: manage_accounting_period(
        w.engine,
        SETTINGS,
        actor_username=actor,
        period_start=OCTOBER[0],
        period_end=OCTOBER[1],
        currency="USD",
        action=verb,
        reason="late invoice",
    )


def moves(kind: str, verbs: list[str], people: list[str]) -> st.SearchStrategy[tuple[str, ...]]:
    """Mostly people allowed to act, always one who is not (the maker, or a wrong role)."""
    return st.tuples(st.just(kind), st.sampled_from(verbs), st.sampled_from(people))


ACTIONS = st.one_of(
    moves("payout", ["send", "settle", "fail", "resubmit"], ["rita", "tom", "ada", "olga"]),
    moves("refund", ["approve", "reject", "execute", "fail"], ["rita", "tom", "ada", "cora"]),
    moves("chargeback", sorted(CHARGEBACK_STATES.states), ["rita", "olga", "tom"]),
    moves("case", sorted(CASE_STATES.states), ["cora", "rita", "olga", "fiona"]),
    moves("journal", ["create", "submit", "void", "reverse"], ["fiona", "ada", "rita"]),
    moves("journal", ["approve", "reject"], ["rita", "ada", "fiona"]),
    moves("period", ["close", "open"], ["fiona", "ada", "olga"]),
)


def call_for(kind: str, verb: str, actor: str) -> Callable[[World], Any]:
    if kind == "payout":
        return payout_action(verb, actor)
    if kind == "refund":
        return refund_action(verb, actor)
    if kind == "chargeback":
        return lambda w: transition_chargeback(
            w.engine,
            chargeback_id=w.chargeback,
            to_status=verb,
            actor_username=actor,
            note="evidence",
        )
    if kind == "case":
        return lambda w: transition_case(
            w.engine, case_id=w.case, to_status=verb, actor_username=actor, note="handled"
        )
    if kind == "journal":
        return journal_action(verb, actor)
    return period_action(verb, actor)


def assert_moves_follow_the_machines(before: Snapshot, after: Snapshot) -> set[tuple[str, int]]:
    changed = set()
    for key, status in after.items():
        _, machine, initial = MACHINES[key[0]]
        assert status in machine.states, (key, status)
        if key not in before:
            assert status in initial, (key, status)
            changed.add(key)
        elif before[key] != status:
            assert before[key] in machine.sources_of(status), (key, before[key], status)
            changed.add(key)
    assert set(before) <= set(after), "a record disappeared"
    return changed


def assert_ledger_sound(engine: Engine) -> None:
    with engine.begin() as conn:
        unbalanced = conn.execute(
            text(
                """
                SELECT count(*) FROM journal_entries e
                 WHERE e.status = 'posted'
                   AND (SELECT count(*) < 2 OR sum(debit) <> sum(credit)
                          FROM journal_lines l WHERE l.entry_id = e.id)
                """
            )
        ).scalar_one()
        posted_while_closed = conn.execute(
            text(
                """
                SELECT count(*) FROM journal_entries e JOIN accounting_periods p
                    ON p.currency = e.currency AND p.status = 'closed'
                   AND e.entry_date BETWEEN p.period_start AND p.period_end
                 WHERE e.status = 'posted' AND e.posted_at > p.closed_at
                """
            )
        ).scalar_one()
    assert (unbalanced, posted_while_closed) == (0, 0)


@seed(20261124)
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=st.lists(ACTIONS, min_size=4, max_size=14))
def test_random_action_sequences_keep_every_invariant(
    migrated_engine: Engine, actions: list[tuple[str, str, str]]
) -> None:
    engine = migrated_engine
    world = World(engine)
    for kind, verb, actor in actions:
        before, audit_mark = snapshot(engine), last_audit_id(engine)
        with suppress(DomainError):  # a refusal is an outcome too: it must change nothing
            call_for(kind, verb, actor)(world)
        after, rows = snapshot(engine), new_audit_rows(engine, audit_mark)
        changed = assert_moves_follow_the_machines(before, after)
        changes_audited = Counter(
            (target_type, target_id)
            for action, target_type, target_id in rows
            if not action.endswith("_refused")
            and not action.startswith("job.")
            and action not in NOT_A_CHANGE
        )
        for table, record in changed:
            assert changes_audited[(MACHINES[table][0], str(record))] == 1, (kind, verb, rows)
        if not changed:
            assert all(a.endswith("_refused") or a.startswith("job.") for a, _, _ in rows), rows
        assert_ledger_sound(engine)
    assert missing_audit_links(engine) == []
