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
