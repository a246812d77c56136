"""Operation cases: opened for real teams, moved along CASE_STATES, annotated with notes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from ops_domain.cases.service import add_case_note, open_case, transition_case
from ops_domain.errors import (
    ActorNotAllowed,
    IllegalTransition,
    InvalidInput,
    NotFound,
    UnknownActor,
)
from tests.support.factories import Factory

SLA = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


@pytest.fixture
def staff(factory: Factory) -> dict[str, int]:
    return {
        "ops": factory.user("ops", "operation"),
        "risky": factory.user("risky", "risk"),
        "seller": factory.user("seller", "sales"),
    }


def teams_of(engine: Engine, case_id: int) -> list[str]:
    with engine.begin() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT r.name FROM case_assignments a JOIN roles r ON r.id = a.role_id"
                    " WHERE a.case_id = :id ORDER BY r.name"
                ),
                {"id": case_id},
            ).scalars()
        )


def open_incident(engine: Engine, **extra) -> dict:
    values = {
        "actor_username": "ops",
        "case_type": "incident",
        "priority": "critical",
        "title": "Payout channel down",
        "teams": ["risk", "operation"],
    }
    return open_case(engine, **{**values, **extra})


def test_an_incident_is_opened_for_risk_and_operation_with_its_details(
    engine: Engine, factory: Factory, staff: dict[str, int]
) -> None:
    shop = factory.merchant("SHOP")

    case = open_incident(
        engine,
        sla_due_at=SLA,
        merchant_id=shop,
        release_id="2026.11.3",
        trigger="payouts_failed",
        assignee_username="risky",
    )

    assert case["case_no"].startswith("CASE-")
    assert (case["case_type"], case["priority"], case["status"]) == ("incident", "critical", "open")
    assert (case["sla_due_at"], case["merchant_id"]) == (SLA, shop)
    assert (case["release_id"], case["trigger"]) == ("2026.11.3", "payouts_failed")
    assert (case["assignee_id"], case["assignee"], case["created_by"]) == (
        staff["risky"],
        "risky",
        "ops",
    )
    assert case["teams"] == ["operation", "risk"]
    assert teams_of(engine, case["id"]) == ["operation", "risk"]
    assert factory.audit_actions("case.") == ["case.open"]


@pytest.mark.parametrize(
    ("extra", "error", "message"),
    [
        ({"teams": ["risk", "firefighters"]}, InvalidInput, "unknown team.s. firefighters"),
        ({"teams": [" "]}, InvalidInput, "at least one team"),
        ({"case_type": "outage"}, InvalidInput, "case type must be one of"),
        ({"priority": "urgent"}, InvalidInput, "priority must be one of"),
        ({"title": "  "}, InvalidInput, "case title must not be empty"),
        ({"merchant_id": 999}, NotFound, "merchant 999"),
        ({"assignee_username": "ghost"}, UnknownActor, "'ghost' does not exist"),
        ({"actor_username": "seller"}, ActorNotAllowed, "customer_service, operation, risk"),
    ],
)
def test_bad_case_input_is_refused_and_nothing_is_written(
    engine: Engine,
    factory: Factory,
    staff: dict[str, int],
    extra: dict,
    error: type[Exception],
    message: str,
) -> None:
    before = factory.table_checksums()

    with pytest.raises(error, match=message):
        open_incident(engine, **extra)

    assert factory.table_checksums() == before


def test_a_case_walks_its_lifecycle_and_terminal_moves_keep_their_note(
    engine: Engine, factory: Factory, staff: dict[str, int]
) -> None:
    case_id = open_incident(engine)["id"]

    for status, note in [
        ("in_progress", None),
        ("escalated", None),
        ("in_progress", None),
        ("resolved", "channel restored"),
        ("closed", "post-mortem filed"),
    ]:
        moved = transition_case(
            engine, case_id=case_id, to_status=status, actor_username="risky", note=note
        )
        assert moved["status"] == status

    with engine.begin() as conn:
        notes = conn.execute(
            text("SELECT body FROM case_notes WHERE case_id = :id ORDER BY id"), {"id": case_id}
        ).scalars()
        assert list(notes) == ["channel restored", "post-mortem filed"]
    assert factory.audit_actions("case.transition") == ["case.transition"] * 5


def test_illegal_or_note_less_case_moves_are_refused(
    engine: Engine, factory: Factory, staff: dict[str, int]
) -> None:
    case_id = open_incident(engine)["id"]
    transition_case(engine, case_id=case_id, to_status="in_progress", actor_username="ops")
    before = factory.table_checksums()

    with pytest.raises(IllegalTransition, match="case: illegal transition in_progress -> closed"):
        transition_case(engine, case_id=case_id, to_status="closed", actor_username="ops", note="x")
    with pytest.raises(InvalidInput, match="moving to resolved needs a note"):
        transition_case(engine, case_id=case_id, to_status="resolved", actor_username="ops")
    with pytest.raises(NotFound, match="case 404"):
        transition_case(engine, case_id=404, to_status="in_progress", actor_username="ops")

    assert factory.table_checksums() == before


def test_notes_are_appended_but_a_closed_case_takes_none(
    engine: Engine, factory: Factory, staff: dict[str, int]
) -> None:
    case_id = open_incident(engine)["id"]
    closed = factory.case(staff["ops"], status="closed")

    note = add_case_note(
        engine, case_id=case_id, actor_username="risky", body="called the bank", internal=False
    )
    with pytest.raises(InvalidInput, match="is closed; it takes no more notes"):
        add_case_note(engine, case_id=closed, actor_username="risky", body="late")
    with pytest.raises(InvalidInput, match="note must not be empty"):
        add_case_note(engine, case_id=case_id, actor_username="risky", body=" ")

    assert (note["case_id"], note["author"], note["is_internal"]) == (case_id, "risky", False)
    assert factory.count("case_notes") == 1
    assert factory.audit_actions("case.note") == ["case.note"]


def test_cli_opens_moves_and_notes_a_case(
    cli: Callable[..., tuple[int, str, str]], factory: Factory, staff: dict[str, int]
) -> None:
    code, out, err = cli(
        "cases", "open", "--actor-username", "ops", "--type", "incident", "--priority", "high",
        "--title", "Settlement job stuck", "--teams", "risk,operation",
        "--sla-due-at", "2026-11-25T17:00:00Z", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    case = json.loads(out)
    assert (case["teams"], case["sla_due_at"], case["release_id"]) == (
        ["operation", "risk"],
        "2026-11-25T17:00:00+00:00",
        None,  # no --release-id: about no release, whatever OPS_RELEASE_ID says
    )

    code, out, _ = cli(
        "cases", "transition", "--actor-username", "ops", "--case-id", str(case["id"]),
        "--to", "in_progress",
    )  # fmt: skip
    assert (code, out) == (0, f"case {case['case_no']} is now in_progress\n")

    code, out, _ = cli(
        "cases", "note", "--actor-username", "ops", "--case-id", str(case["id"]),
        "--body", "restarted the worker",
    )  # fmt: skip
    assert code == 0
    assert re.fullmatch(rf"note #\d+ added to case {case['case_no']}\n", out)

    code, out, err = cli(
        "cases", "open", "--actor-username", "ops", "--type", "incident", "--priority", "high",
        "--title", "x", "--teams", "nobody",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err.startswith("error: unknown team(s) nobody; teams are the roles admin, ")
