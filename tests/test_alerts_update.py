"""update_alert: review and close alerts; a closed alert frees its dedupe key."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from ops_domain.alerts.service import AlertSpec, raise_alerts, update_alert
from ops_domain.db import transaction
from ops_domain.errors import ActorNotAllowed, IllegalTransition, InvalidInput, NotFound
from tests.support.factories import Factory


@pytest.fixture
def ops(factory: Factory) -> int:
    factory.user("fin", "finance")
    return factory.user("ops", "operation")


@pytest.fixture
def alert(factory: Factory, ops: int) -> int:
    return factory.alert("payout_failed", target_type="payout", target_id="7")


def alert_row(engine: Engine, alert_id: int) -> dict:
    with engine.begin() as conn:
        return dict(
            conn.execute(text("SELECT * FROM alerts WHERE id = :id"), {"id": alert_id})
            .mappings()
            .one()
        )


def test_review_then_close_stamps_who_closed_it_and_audits_each_move(
    engine: Engine, factory: Factory, alert: int, ops: int
) -> None:
    reviewing = update_alert(engine, alert_id=alert, to_status="in_review", actor_username="ops")
    closed = update_alert(
        engine, alert_id=alert, to_status="closed", actor_username="ops", note="bank fixed it"
    )

    assert reviewing["status"] == "in_review"
    assert (reviewing["closed_by"], reviewing["closed_at"]) == (None, None)
    assert closed["status"] == "closed"
    assert closed["closed_by"] == "ops"  # a username in output (docs/json.md)
    assert closed["closed_at"] is not None
    assert factory.audit_actions("alert.") == ["alert.update", "alert.update"]
    with engine.begin() as conn:
        last = conn.execute(
            text("SELECT before, after, details FROM audit_log ORDER BY id DESC LIMIT 1")
        ).one()
    assert (last.before, last.after["status"], last.details) == (
        {"status": "in_review"},
        "closed",
        {"note": "bank fixed it"},
    )


def test_closing_needs_a_note_and_a_closed_alert_stays_closed(
    engine: Engine, factory: Factory, alert: int
) -> None:
    with pytest.raises(InvalidInput, match="moving to closed needs a note"):
        update_alert(engine, alert_id=alert, to_status="closed", actor_username="ops")
    update_alert(engine, alert_id=alert, to_status="closed", actor_username="ops", note="done")
    before = factory.table_checksums()

    with pytest.raises(IllegalTransition, match="alert: illegal transition closed -> open"):
        update_alert(engine, alert_id=alert, to_status="open", actor_username="ops")
    with pytest.raises(ActorNotAllowed, match="admin, operation, risk, super_admin"):
        update_alert(engine, alert_id=alert, to_status="in_review", actor_username="fin")
    with pytest.raises(NotFound, match="alert 999"):
        update_alert(engine, alert_id=999, to_status="in_review", actor_username="ops")

    assert factory.table_checksums() == before


def test_after_close_the_same_type_and_target_is_raised_as_a_new_alert(
    engine: Engine, factory: Factory, alert: int, ops: int
) -> None:
    spec = AlertSpec("payout_failed", "high", "payout", "7", "payout 7 failed")
    with transaction(engine) as session:
        assert raise_alerts(session, [spec], actor_id=ops) == []
    update_alert(engine, alert_id=alert, to_status="closed", actor_username="ops", note="ok")

    with transaction(engine) as session:
        (reopened,) = raise_alerts(session, [spec], actor_id=ops)

    assert reopened["id"] != alert
    assert alert_row(engine, reopened["id"])["status"] == "open"


def test_cli_alerts_update(
    cli: Callable[..., tuple[int, str, str]], engine: Engine, alert: int
) -> None:
    code, out, err = cli(
        "alerts", "update", "--actor-username", "ops", "--alert-id", str(alert),
        "--to", "closed", "--note", "false positive", "--json",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert json.loads(out)["status"] == "closed"

    code, out, err = cli(
        "alerts", "update", "--actor-username", "ops", "--alert-id", str(alert), "--to", "open"
    )
    assert (code, out, err) == (2, "", "error: alert: illegal transition closed -> open\n")
