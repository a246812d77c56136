"""The demo's operator: on the seeded back office, the runbook's own commands clear every
readiness blocker, with one waiver requested by one person and approved by another."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, text

from ops_domain.config import Settings
from ops_domain.demo.seed import seed_demo
from ops_domain.readiness.gate import release_readiness_gate
from scripts.demo_operator import (
    OPERATOR_STEPS,
    CommandRefused,
    OperatorLog,
    waive_remaining_alerts,
)
from tests.support.factories import Factory

BUSINESS_DATE = date(2026, 11, 23)
RELEASE = "2026.11.24-test"


@pytest.fixture
def seeded(
    engine: Engine, settings: Settings, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Engine:
    for key, value in cli_env.items():
        monkeypatch.setenv(key, value)
    seed_demo(engine, settings, business_date=BUSINESS_DATE)
    return engine


def rows(engine: Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def refunds_approved_by_rita(engine: Engine) -> set[str]:
    audited = rows(
        engine,
        "SELECT a.target_id FROM audit_log a JOIN users u ON u.id = a.actor_id"
        " WHERE a.action = 'refund.approve' AND u.username = 'rita'",
    )
    return {target for (target,) in audited}


def test_runbook_commands_clear_every_blocker_and_one_waiver_covers_the_rest(
    seeded: Engine, settings: Settings, factory: Factory
) -> None:
    before = release_readiness_gate(seeded, settings, release_id=RELEASE, actor_username="oscar")
    assert before.counters == {
        "pending_refunds": 3,
        "failed_payouts": 1,
        "open_recon_breaks": 3,
        "open_high_alerts": 3,
    }
    approved_before = refunds_approved_by_rita(seeded)
    log = OperatorLog()

    for step in OPERATOR_STEPS:
        step(log)
    waive_remaining_alerts(log, RELEASE)

    after = release_readiness_gate(seeded, settings, release_id=RELEASE, actor_username="oscar")
    assert after.is_ready
    assert after.verdict.failed_checks == []
    assert after.verdict.waived_checks == ["open_high_alerts"]
    assert rows(
        seeded, "SELECT status, count(*) FROM refund_requests GROUP BY status ORDER BY 1"
    ) == [
        ("approved", 4),
        ("executed", 1),
        ("failed", 1),
        ("rejected", 1),
    ]
    assert rows(seeded, "SELECT status, attempt FROM payouts WHERE id = 128") == [("pending", 2)]
    assert factory.count("reconciliation_breaks", "status <> 'resolved'") == 0
    assert factory.count("settlements", "status = 'draft'") == 0
    assert rows(
        seeded,
        "SELECT w.counter, w.status, r.username, a.username, w.item_ids FROM readiness_waivers w"
        " JOIN users r ON r.id = w.requested_by JOIN users a ON a.id = w.approved_by",
    ) == [("open_high_alerts", "approved", "oscar", "rita", [3])]
    assert rows(seeded, "SELECT alert_type FROM alerts WHERE id = 3") == [("chargeback_overdue",)]
    assert refunds_approved_by_rita(seeded) - approved_before == {"1", "2", "3"}
    assert len(log.commands) == 3 + 0 + 1 + 1 + 5 + 2 + 2
    assert log.commands[0].startswith("python -m ops_domain refunds approve --refund-id 1 ")


def test_a_refused_command_stops_the_operator_naming_it_and_changes_nothing(
    seeded: Engine, factory: Factory
) -> None:
    checksums = factory.table_checksums()

    with pytest.raises(CommandRefused, match=r"refunds approve --refund-id 1 .* exited 2: error:"):
        OperatorLog().run(
            "refunds", "approve", "--refund-id", "1", "--actor-username", "carl", "--note", "mine"
        )

    changed = {t for t, s in factory.table_checksums().items() if s != checksums[t]}
    assert changed <= {"audit_log"}  # at most the recorded refusal
