from __future__ import annotations

from sqlalchemy import Engine

from ops_domain.alerts.service import AlertSpec, raise_alerts
from ops_domain.db import transaction
from tests.support.factories import Factory


def spec(target: str, severity: str = "high") -> AlertSpec:
    return AlertSpec("case_sla_breach", severity, "case", target, f"case {target} breached")


def test_alerts_are_deduplicated_per_type_and_target_while_not_closed(
    engine: Engine, factory: Factory
) -> None:
    actor = factory.user("ops", "operation")
    with transaction(engine) as session:
        first = raise_alerts(session, [spec("1"), spec("2")], actor_id=actor)
    with transaction(engine) as session:
        second = raise_alerts(session, [spec("1"), spec("3", "medium")], actor_id=actor)
    assert [a["target_id"] for a in first] == ["1", "2"]
    assert [a["target_id"] for a in second] == ["3"]
    assert factory.count("alerts") == 3
    assert factory.audit_actions("alert.") == ["alert.raise"] * 3
