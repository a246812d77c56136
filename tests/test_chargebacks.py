"""Chargeback workflow: allowed moves are stamped and audited; refused moves are evidence."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from ops_domain.disputes.chargebacks import transition_chargeback
from ops_domain.errors import ActorNotAllowed, IllegalTransition, InvalidInput
from tests.support.factories import Factory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def chargeback(factory: Factory) -> int:
    factory.user("risky", "risk")
    factory.user("fin", "finance")
    return factory.chargeback(factory.merchant("SHOP"), "25.00")


def refusals(engine: Engine) -> list[dict]:
    with engine.begin() as conn:
        return [
            dict(details)
            for (details,) in conn.execute(
                text(
                    "SELECT details FROM audit_log"
                    " WHERE action = 'chargeback.transition_refused' ORDER BY id"
                )
            )
        ]


def status_of(engine: Engine, chargeback_id: int) -> tuple[str, datetime | None]:
    with engine.begin() as conn:
        return tuple(
            conn.execute(
                text("SELECT status, last_transition_at FROM chargebacks WHERE id = :id"),
                {"id": chargeback_id},
            ).one()
        )


@pytest.mark.parametrize(
    "path",
    [
        ["represented", "won", "closed"],
        ["represented", "pre_arbitration", "won", "closed"],
        ["represented", "pre_arbitration", "lost", "closed"],
        ["lost", "closed"],
    ],
)
def test_every_allowed_path_is_walked_stamped_and_audited(
    engine: Engine, factory: Factory, chargeback: int, path: list[str]
) -> None:
    for step, status in enumerate(path):
        moved = transition_chargeback(
            engine,
            chargeback_id=chargeback,
            to_status=status,
            actor_username="risky",
            note=f"step {step}",
            now=NOW + timedelta(hours=step),
        )
        assert (moved["status"], moved["last_transition_at"]) == (
            status,
            NOW + timedelta(hours=step),
        )

    assert status_of(engine, chargeback) == ("closed", NOW + timedelta(hours=len(path) - 1))
    assert factory.audit_actions("chargeback.") == ["chargeback.transition"] * len(path)
    assert refusals(engine) == []


@pytest.mark.parametrize(
    ("start", "target"),
    [("open", "won"), ("open", "closed"), ("represented", "lost"), ("won", "lost")],
)
def test_an_illegal_move_raises_changes_nothing_and_is_recorded_as_refused(
    engine: Engine, factory: Factory, start: str, target: str
) -> None:
    factory.user("risky", "risk")
    chargeback = factory.chargeback(factory.merchant(), status=start)

    with pytest.raises(IllegalTransition, match=f"{start} -> {target}"):
        transition_chargeback(
            engine, chargeback_id=chargeback, to_status=target, actor_username="risky", note="n"
        )

    assert status_of(engine, chargeback) == (start, None)
    assert factory.audit_actions("chargeback.") == ["chargeback.transition_refused"]
    (details,) = refusals(engine)
    assert (details["from"], details["to"]) == (start, target)


def test_a_move_missing_its_note_is_refused_but_not_recorded_as_a_transition_refusal(
    engine: Engine, factory: Factory, chargeback: int
) -> None:
    transition_chargeback(
        engine, chargeback_id=chargeback, to_status="represented", actor_username="risky"
    )
    before = factory.table_checksums()

    for note in (None, "  "):
        with pytest.raises(InvalidInput, match="moving to won needs a note"):
            transition_chargeback(
                engine, chargeback_id=chargeback, to_status="won", actor_username="risky", note=note
            )

    assert status_of(engine, chargeback)[0] == "represented"
    assert refusals(engine) == []
    assert factory.table_checksums() == before


def test_a_forbidden_move_without_a_note_is_recorded_as_the_forbidden_move(
    engine: Engine, factory: Factory, chargeback: int
) -> None:
    with pytest.raises(IllegalTransition, match="open -> closed"):
        transition_chargeback(
            engine, chargeback_id=chargeback, to_status="closed", actor_username="risky"
        )

    assert [(d["from"], d["to"]) for d in refusals(engine)] == [("open", "closed")]


def test_an_actor_without_the_permission_or_an_unknown_status_is_not_a_workflow_refusal(
    engine: Engine, factory: Factory, chargeback: int
) -> None:
    before = factory.table_checksums()

    with pytest.raises(ActorNotAllowed, match="admin, operation, risk, super_admin"):
        transition_chargeback(
            engine, chargeback_id=chargeback, to_status="represented", actor_username="fin"
        )
    with pytest.raises(InvalidInput, match="chargeback status must be one of"):
        transition_chargeback(
            engine, chargeback_id=chargeback, to_status="disputed", actor_username="risky"
        )

    assert factory.table_checksums() == before


def test_cli_refused_transition_exits_2_and_leaves_the_refusal_in_the_audit_log(
    cli: Callable[..., tuple[int, str, str]], engine: Engine, factory: Factory, chargeback: int
) -> None:
    code, out, err = cli(
        "chargebacks", "transition", "--actor-username", "risky",
        "--chargeback-id", str(chargeback), "--to", "won", "--note", "evidence",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err == "error: chargeback: illegal transition open -> won\n"
    assert [(d["from"], d["to"]) for d in refusals(engine)] == [("open", "won")]

    code, out, err = cli(
        "chargebacks", "transition", "--actor-username", "risky",
        "--chargeback-id", str(chargeback), "--to", "represented", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert json.loads(out)["status"] == "represented"


def test_cli_missing_note_exits_2_without_a_transition_refusal(
    cli: Callable[..., tuple[int, str, str]], engine: Engine, factory: Factory, chargeback: int
) -> None:
    transition_chargeback(
        engine, chargeback_id=chargeback, to_status="lost", actor_username="risky", note="late"
    )

    code, out, err = cli(
        "chargebacks", "transition", "--actor-username", "risky",
        "--chargeback-id", str(chargeback), "--to", "closed",
    )  # fmt: skip

    assert (code, out) == (2, "")
    assert err == "error: chargeback: moving to closed needs a note\n"
    assert refusals(engine) == []
