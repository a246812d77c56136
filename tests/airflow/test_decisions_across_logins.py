"""Everything that needs two people needs two logins: the checker's run must be another
login's, and the audit trail names both logins."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from tests.airflow.support import run_dag
from tests.support.factories import Factory

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def freeze_trail(engine: Engine) -> list[tuple[str, str, str, str]]:
    with engine.begin() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT a.action, u.username, a.channel, a.principal FROM audit_log a"
                    " JOIN users u ON u.id = a.actor_id"
                    " WHERE a.target_type = 'payout_freeze' ORDER BY a.id"
                )
            )
        ]


def test_a_freeze_set_by_one_login_is_lifted_only_by_another_checker_login(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    factory.user("rita", "risk")
    factory.user("adam", "admin")

    frozen = run_dag("emergency_freeze_payouts", {"reason": "incident 7"}, login="rita")
    lift = {"freeze_id": frozen.xcom("act")["id"], "note": "resolved"}
    own_lift = run_dag("emergency_lift_payout_freeze", lift, login="rita")
    checked_lift = run_dag("emergency_lift_payout_freeze", lift, login="adam")

    assert frozen.state == "success", frozen.tasks
    assert own_lift.tasks == {"authorise_run": "success", "act": "failed"}
    assert factory.count("alerts", "alert_type = 'airflow_task_failed'") == 0
    assert checked_lift.state == "success", checked_lift.tasks
    assert checked_lift.xcom("act")["lifted_by"] == "adam"
    trail = freeze_trail(engine)
    assert trail[0] == ("payout.freeze", "rita", "airflow", "rita")
    assert trail[-1] == ("payout.freeze_lift", "adam", "airflow", "adam")
    assert {row[2:] for row in trail} <= {("airflow", "rita"), ("airflow", "adam")}


def test_a_waiver_asked_for_by_one_login_is_decided_only_by_another_checker_login(
    airflow_db: dict[str, str], engine: Engine, factory: Factory
) -> None:
    factory.user("rita", "risk")
    factory.user("adam", "admin")
    agent = factory.user("cora", "customer_service")
    refund = factory.refund(agent, factory.event(factory.merchant("SHOP"), "80.00"), "30.00")
    ask = {
        "release_id": "2026.12.06-1",
        "counter": "pending_refunds",
        "item_ids": str(refund),
        "reason": "decided by the merchant after the cut-off",
    }

    asked = run_dag("readiness_waiver_request", ask, login="rita")
    decision = {"waiver_id": asked.xcom("act")["id"], "decision": "approve", "note": "known"}
    own = run_dag("readiness_waiver_decision", decision, login="rita")
    checked = run_dag("readiness_waiver_decision", decision, login="adam")

    assert asked.state == "success", asked.tasks
    assert own.tasks == {"authorise_run": "success", "act": "failed"}
    assert checked.state == "success", checked.tasks
    assert (checked.xcom("act")["status"], checked.xcom("act")["approved_by"]) == (
        "approved",
        "adam",
    )
    with engine.begin() as conn:
        trail = conn.execute(
            text(
                "SELECT a.action, a.principal FROM audit_log a"
                " WHERE a.target_type = 'readiness_waiver' ORDER BY a.id"
            )
        ).all()
    assert [tuple(row) for row in trail] == [
        ("waiver.request", "rita"),
        ("waiver.approve_refused", "rita"),
        ("waiver.approve", "adam"),
    ]
