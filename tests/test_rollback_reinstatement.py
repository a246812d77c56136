"""Reinstating a release after a false rollback alarm: a checker's audited decision that the
watch respects, leaving the trigger alerts for a person to close."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from ops_domain.config import RollbackPolicy, Settings
from ops_domain.errors import (
    ActorNotAllowed,
    InvalidInput,
    MakerCheckerViolation,
    NotFound,
    UnknownActor,
)
from ops_domain.rollback.emergency import record_rollback
from ops_domain.rollback.reinstatement import reinstate_release
from ops_domain.rollback.watch import WatchReport, rollback_watch
from tests.support.chargeback_alarm import chargeback_then_release, refuse_chargeback_moves
from tests.support.factories import Factory

Cli = Callable[..., tuple[int, str, str]]
RELEASE = "2026.11.24-1"
NOTE = "the refused move was a typo, retried correctly"


@pytest.fixture
def chargeback(engine: Engine, factory: Factory) -> int:
    """A released release and a chargeback waiting for a decision."""
    for username, role in [
        ("olga", "operation"),
        ("rita", "risk"),
        ("adam", "admin"),
        ("fin", "finance"),
        ("svc_airflow", "operation"),
    ]:
        factory.user(username, role)
    return chargeback_then_release(engine, factory, RELEASE)


def watch(engine: Engine, settings: Settings) -> WatchReport:
    return rollback_watch(
        engine, settings, release_id=RELEASE, actor_username="svc_airflow", policy=RollbackPolicy()
    )


def release_row(engine: Engine) -> tuple:
    with engine.begin() as conn:
        return tuple(
            conn.execute(
                text(
                    "SELECT r.status, r.decision_note, u.username FROM releases r"
                    " JOIN users u ON u.id = r.decided_by WHERE r.release_id = :r"
                ),
                {"r": RELEASE},
            ).one()
        )


def open_trigger_alerts(factory: Factory) -> int:
    return factory.count("alerts", "alert_type = 'rollback_trigger' AND status <> 'closed'")


def test_a_checker_reinstates_a_recommended_release_and_the_reviewed_alarm_stops_firing(
    engine: Engine, factory: Factory, settings: Settings, chargeback: int
) -> None:
    refuse_chargeback_moves(engine, chargeback)
    alarm = watch(engine, settings)
    assert alarm.verdict == "rollback_recommended"
    (alert,) = alarm.outcome.alerts_raised

    decision = reinstate_release(engine, release_id=RELEASE, actor_username="rita", note=NOTE)
    after = watch(engine, settings)

    assert (decision.status, decision.decided_by, decision.note) == ("released", "rita", NOTE)
    assert [(a["id"], a["status"]) for a in decision.open_alerts] == [(alert["id"], "open")]
    assert release_row(engine) == ("released", NOTE, "rita")
    assert factory.audit_actions("release.") == [
        "release.gate_evaluated",
        "release.released",
        "release.rollback_recommended",
        "release.reinstated",
    ]
    assert after.verdict == "ok"
    assert after.release.watching_since == decision.decided_at
    assert release_row(engine)[0] == "released"
    assert open_trigger_alerts(factory) == 1  # left for a person to close


def test_new_evidence_after_a_reinstatement_fires_again_without_a_second_open_alert(
    engine: Engine, factory: Factory, settings: Settings, chargeback: int
) -> None:
    refuse_chargeback_moves(engine, chargeback)
    watch(engine, settings)
    reinstate_release(engine, release_id=RELEASE, actor_username="adam", note=NOTE)

    refuse_chargeback_moves(engine, chargeback)
    report = watch(engine, settings)

    stalled = next(r for r in report.outcome.triggers if r.name == "chargebacks_stalled")
    assert stalled.figures["refused_transitions"] == 3  # only those since the reinstatement
    assert report.outcome.release_marked
    assert release_row(engine)[0] == "rollback_recommended"
    assert report.outcome.alerts_raised == []
    assert open_trigger_alerts(factory) == 1


@pytest.mark.parametrize(
    ("actor", "note", "error", "message"),
    [
        ("olga", NOTE, MakerCheckerViolation, "needs a checker role"),
        ("fin", NOTE, ActorNotAllowed, "may not run emergency reinstate_release"),
        ("rita", "  ", MakerCheckerViolation, "reinstating a release needs a note"),
        ("nobody", NOTE, UnknownActor, "nobody"),
    ],
)
def test_reinstating_needs_a_checker_with_emergency_rights_and_a_note(
    engine: Engine,
    factory: Factory,
    settings: Settings,
    chargeback: int,
    actor: str,
    note: str,
    error: type[Exception],
    message: str,
) -> None:
    refuse_chargeback_moves(engine, chargeback)
    watch(engine, settings)
    before = factory.table_checksums()

    with pytest.raises(error, match=message):
        reinstate_release(engine, release_id=RELEASE, actor_username=actor, note=note)

    assert factory.table_checksums() == before
    assert release_row(engine)[0] == "rollback_recommended"


def test_only_a_release_under_a_rollback_recommendation_is_reinstated(
    engine: Engine, factory: Factory, chargeback: int
) -> None:
    before = factory.table_checksums()
    with pytest.raises(InvalidInput, match="is released: only a release marked rollback_recom"):
        reinstate_release(engine, release_id=RELEASE, actor_username="rita", note=NOTE)
    with pytest.raises(NotFound, match=r"1999\.01\.01-1"):
        reinstate_release(engine, release_id="1999.01.01-1", actor_username="rita", note=NOTE)
    assert factory.table_checksums() == before

    record_rollback(engine, release_id=RELEASE, reason="bad release", actor_username="adam")
    with pytest.raises(InvalidInput, match="is rolled_back: only a release marked"):
        reinstate_release(engine, release_id=RELEASE, actor_username="rita", note=NOTE)


def test_cli_reinstate_release_prints_the_decision_and_the_alerts_left_open(
    cli: Cli, engine: Engine, factory: Factory, settings: Settings, chargeback: int
) -> None:
    refuse_chargeback_moves(engine, chargeback)
    (alert,) = watch(engine, settings).outcome.alerts_raised
    argv = ("emergency", "reinstate_release", "--release-id", RELEASE, "--note", NOTE)

    code, out, err = cli(*argv, "--actor-username", "olga")
    assert (code, out) == (2, "")
    assert "reinstating a release needs a checker role" in err

    code, out, err = cli(*argv, "--actor-username", "rita")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"release {RELEASE} reinstated (released): decided by rita at ")
    assert lines[0].endswith(f": {NOTE}")
    assert lines[1:] == [
        "The rollback watch now counts only what happens from this decision on.",
        "Rollback trigger alert(s) left open for a person to close once handled (python -m"
        " ops_domain alerts update --alert-id N --to closed --note '...' --actor-username <you>):",
        f"  alert #{alert['id']} (open): Rollback trigger chargebacks_stalled firing after release"
        f" {RELEASE}",
    ]

    code, out, err = cli(*argv, "--actor-username", "rita")
    assert (code, out) == (2, "")
    assert f"release {RELEASE} is released: only a release marked" in err
