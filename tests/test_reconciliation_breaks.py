"""Break resolution: a maker proposes, a checker allowed by policy approves or rejects."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import Engine, text

from ops_domain.accounting.periods import manage_accounting_period
from ops_domain.config import Settings
from ops_domain.errors import (
    ActorNotAllowed,
    IllegalTransition,
    InvalidInput,
    MakerCheckerViolation,
    PeriodCloseBlocked,
)
from ops_domain.reconciliation.breaks import (
    approve_resolution,
    propose_resolution,
    reject_resolution,
)
from tests.support.factories import Factory

CLI = Callable[..., tuple[int, str, str]]


@pytest.fixture
def a_break(factory: Factory) -> int:
    factory.user("otto", "operation")
    factory.user("fiona", "finance")
    factory.user("rita", "risk")
    factory.user("ada", "admin")
    return factory.recon_break(factory.user("svc", "operation"))


def states(engine: Engine, break_id: int) -> tuple[str, list[str]]:
    with engine.begin() as conn:
        status = conn.execute(
            text("SELECT status FROM reconciliation_breaks WHERE id = :id"), {"id": break_id}
        ).scalar_one()
        resolutions = conn.scalars(
            text(
                "SELECT status FROM reconciliation_break_resolutions"
                " WHERE break_id = :id ORDER BY id"
            ),
            {"id": break_id},
        ).all()
    return status, list(resolutions)


def test_proposal_puts_the_break_in_review(engine: Engine, factory: Factory, a_break: int) -> None:
    outcome = propose_resolution(
        engine, break_id=a_break, actor_username="otto", note="processor fee, booked"
    )
    assert outcome["break"]["status"] == "in_review"
    assert outcome["resolution"]["resolution_note"] == "processor fee, booked"
    assert states(engine, a_break) == ("in_review", ["pending"])
    assert factory.audit_actions("reconciliation_break") == ["reconciliation_break.in_review"]
    assert factory.audit_actions("break_resolution") == ["break_resolution.propose"]


def test_a_checker_approval_resolves_the_break(
    engine: Engine, factory: Factory, a_break: int
) -> None:
    propose_resolution(engine, break_id=a_break, actor_username="otto", note="fee")
    outcome = approve_resolution(
        engine, break_id=a_break, actor_username="rita", note="fee confirmed"
    )
    assert outcome["break"]["status"] == "resolved"
    assert outcome["resolution"]["checker_note"] == "fee confirmed"
    assert states(engine, a_break) == ("resolved", ["approved"])
    assert factory.audit_actions("break_resolution") == [
        "break_resolution.propose",
        "break_resolution.approve",
    ]


def test_the_maker_never_approves_their_own_resolution(
    engine: Engine, factory: Factory, a_break: int
) -> None:
    propose_resolution(engine, break_id=a_break, actor_username="ada", note="fee")
    before = factory.table_checksums()
    with pytest.raises(MakerCheckerViolation, match="'ada' is the maker"):
        approve_resolution(engine, break_id=a_break, actor_username="ada", note="fine")
    assert factory.table_checksums() == before


@pytest.mark.parametrize("actor", ["otto", "fiona"])
def test_a_role_without_the_approval_policy_cannot_approve(
    engine: Engine, factory: Factory, a_break: int, actor: str
) -> None:
    propose_resolution(engine, break_id=a_break, actor_username="ada", note="fee")
    with pytest.raises(ActorNotAllowed, match="admin, risk, super_admin"):
        approve_resolution(engine, break_id=a_break, actor_username=actor, note="fine")
    assert states(engine, a_break) == ("in_review", ["pending"])


def test_notes_are_required(engine: Engine, factory: Factory, a_break: int) -> None:
    with pytest.raises(MakerCheckerViolation, match="needs a note"):
        propose_resolution(engine, break_id=a_break, actor_username="otto", note=" ")
    propose_resolution(engine, break_id=a_break, actor_username="otto", note="fee")
    with pytest.raises(MakerCheckerViolation, match="needs a note"):
        approve_resolution(engine, break_id=a_break, actor_username="rita", note="")
    assert states(engine, a_break) == ("in_review", ["pending"])


def test_rejection_reopens_the_break_for_a_new_proposal(
    engine: Engine, factory: Factory, a_break: int
) -> None:
    propose_resolution(engine, break_id=a_break, actor_username="otto", note="fee")
    rejected = reject_resolution(
        engine, break_id=a_break, actor_username="rita", note="no evidence"
    )
    assert rejected["break"]["status"] == "open"
    with pytest.raises(InvalidInput, match="no pending resolution"):
        approve_resolution(engine, break_id=a_break, actor_username="rita", note="ok")

    propose_resolution(engine, break_id=a_break, actor_username="otto", note="fee, see ticket 42")
    approve_resolution(engine, break_id=a_break, actor_username="rita", note="ok")
    assert states(engine, a_break) == ("resolved", ["rejected", "approved"])


def test_a_break_in_review_or_resolved_takes_no_new_proposal(
    engine: Engine, factory: Factory, a_break: int
) -> None:
    propose_resolution(engine, break_id=a_break, actor_username="otto", note="fee")
    with pytest.raises(IllegalTransition, match="in_review -> in_review"):
        propose_resolution(engine, break_id=a_break, actor_username="fiona", note="other")
    approve_resolution(engine, break_id=a_break, actor_username="rita", note="ok")
    with pytest.raises(IllegalTransition, match="resolved -> in_review"):
        propose_resolution(engine, break_id=a_break, actor_username="otto", note="again")


def test_resolving_the_break_unblocks_the_period_close(
    engine: Engine, factory: Factory, settings: Settings, a_break: int
) -> None:
    window = {"period_start": date(2026, 11, 1), "period_end": date(2026, 11, 30)}
    close = {"actor_username": "fiona", "currency": "USD", "action": "close", **window}
    with pytest.raises(PeriodCloseBlocked, match="open reconciliation break"):
        manage_accounting_period(engine, settings, **close)
    propose_resolution(engine, break_id=a_break, actor_username="otto", note="fee")
    with pytest.raises(PeriodCloseBlocked, match="in_review reconciliation break"):
        manage_accounting_period(engine, settings, **close)
    approve_resolution(engine, break_id=a_break, actor_username="rita", note="ok")
    assert manage_accounting_period(engine, settings, **close).counts == {"periods_closed": 1}


def test_recon_breaks_cli(cli: CLI, factory: Factory, a_break: int) -> None:
    code, out, err = cli(
        "recon-breaks", "propose", "--actor-username", "otto", "--break-id", str(a_break),
        "--note", "fee",
    )  # fmt: skip
    assert code == 0, err
    assert "in_review" in out
    code, out, err = cli(
        "recon-breaks", "approve", "--actor-username", "otto", "--break-id", str(a_break),
        "--note", "self",
    )  # fmt: skip
    assert code == 2
    assert "needs one of the roles admin, risk, super_admin" in err
    code, out, err = cli(
        "recon-breaks", "approve", "--actor-username", "rita", "--break-id", str(a_break),
        "--note", "ok", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["break"]["status"] == "resolved"
