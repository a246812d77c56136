"""escalate_ops_work_queue: one SLA alert per overdue work item, severities as SPEC says."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from ops_domain.alerts.service import update_alert
from ops_domain.config import Settings
from ops_domain.errors import InvalidInput
from ops_domain.work_queue.escalation import escalate_ops_work_queue
from tests.support.factories import Factory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ZERO_COUNTS = {
    "overdue_journal_approvals": 0,
    "overdue_settlement_exceptions": 0,
    "overdue_reconciliation_breaks": 0,
    "journal_approval_sla_raised": 0,
    "settlement_exception_sla_raised": 0,
    "reconciliation_break_sla_raised": 0,
    "alerts_raised": 0,
}


@pytest.fixture
def maker(factory: Factory) -> int:
    factory.user("ops", "operation")
    factory.user("boss", "admin")
    return factory.user("fin", "finance")


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def alerts(engine: Engine) -> list[tuple[str, str, str, str]]:
    """(type, severity, status, dedupe key) of every alert, oldest first."""
    with engine.begin() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text("SELECT alert_type, severity, status, dedupe_key FROM alerts ORDER BY id")
            )
        ]


def test_pending_journal_approval_older_than_the_threshold_raises_a_high_alert(
    engine: Engine, settings: Settings, factory: Factory, maker: int
) -> None:
    overdue = factory.journal_approval(maker, requested_at=hours_ago(9))
    factory.journal_approval(maker, requested_at=hours_ago(7))
    factory.journal_approval(maker, status="approved", requested_at=hours_ago(30))

    result = escalate_ops_work_queue(engine, settings, actor_username="ops", now=NOW)

    assert result.counts == {
        **ZERO_COUNTS,
        "overdue_journal_approvals": 1,
        "journal_approval_sla_raised": 1,
        "alerts_raised": 1,
    }
    assert alerts(engine) == [
        ("journal_approval_sla", "high", "open", f"journal_approval_sla:journal_approval:{overdue}")
    ]
    (item,) = result.items["journal_approval_sla"]
    assert item["target_id"] == str(overdue)


@pytest.mark.parametrize(
    ("exception_severity", "alert_severity"),
    [("low", "medium"), ("medium", "medium"), ("high", "high"), ("critical", "high")],
)
@pytest.mark.parametrize("status", ["open", "in_review"])
def test_settlement_exception_alert_severity_follows_the_exception(
    engine: Engine,
    settings: Settings,
    factory: Factory,
    maker: int,
    exception_severity: str,
    alert_severity: str,
    status: str,
) -> None:
    exception = factory.settlement_exception(
        maker, severity=exception_severity, status=status, created_at=hours_ago(13)
    )

    escalate_ops_work_queue(engine, settings, actor_username="ops", now=NOW)

    assert alerts(engine) == [
        (
            "settlement_exception_sla",
            alert_severity,
            "open",
            f"settlement_exception_sla:settlement_exception:{exception}",
        )
    ]


@pytest.mark.parametrize(("status", "alert_severity"), [("open", "medium"), ("in_review", "high")])
def test_reconciliation_break_alert_is_high_only_when_in_review(
    engine: Engine,
    settings: Settings,
    factory: Factory,
    maker: int,
    status: str,
    alert_severity: str,
) -> None:
    brk = factory.recon_break(maker, status=status, created_at=hours_ago(12.5))

    escalate_ops_work_queue(engine, settings, actor_username="ops", now=NOW)

    assert alerts(engine) == [
        (
            "reconciliation_break_sla",
            alert_severity,
            "open",
            f"reconciliation_break_sla:reconciliation_break:{brk}",
        )
    ]


def test_resolved_and_recent_items_raise_nothing(
    engine: Engine, settings: Settings, factory: Factory, maker: int
) -> None:
    factory.settlement_exception(maker, status="resolved", created_at=hours_ago(100))
    factory.settlement_exception(maker, created_at=hours_ago(11))
    factory.recon_break(maker, status="resolved", created_at=hours_ago(100))
    factory.recon_break(maker, created_at=hours_ago(11))
    factory.journal_approval(maker, status="rejected", requested_at=hours_ago(100))

    result = escalate_ops_work_queue(engine, settings, actor_username="ops", now=NOW)

    assert result.counts == ZERO_COUNTS
    assert alerts(engine) == []


def test_thresholds_are_per_queue_and_now_is_pinned(
    engine: Engine, settings: Settings, factory: Factory, maker: int
) -> None:
    factory.journal_approval(maker, requested_at=hours_ago(3))
    factory.settlement_exception(maker, created_at=hours_ago(3))
    factory.recon_break(maker, created_at=hours_ago(3))

    tight = escalate_ops_work_queue(
        engine,
        settings,
        actor_username="ops",
        now=NOW,
        journal_hours=2,
        settlement_exception_hours=4,
        reconciliation_break_hours=2.5,
    )
    in_the_past = escalate_ops_work_queue(
        engine, settings, actor_username="ops", now=hours_ago(2), settlement_exception_hours=0.5
    )

    assert tight.counts["journal_approval_sla_raised"] == 1
    assert tight.counts["settlement_exception_sla_raised"] == 0
    assert tight.counts["reconciliation_break_sla_raised"] == 1
    assert in_the_past.counts["overdue_settlement_exceptions"] == 1
    assert in_the_past.counts["alerts_raised"] == 1


def test_alerts_are_deduplicated_while_not_closed_and_raised_again_after_close(
    engine: Engine, settings: Settings, factory: Factory, maker: int
) -> None:
    brk = factory.recon_break(maker, created_at=hours_ago(20))
    first = escalate_ops_work_queue(engine, settings, actor_username="ops", now=NOW)
    update_alert(engine, alert_id=1, to_status="in_review", actor_username="ops")
    second = escalate_ops_work_queue(engine, settings, actor_username="ops", now=NOW)
    update_alert(engine, alert_id=1, to_status="closed", actor_username="ops", note="matched")
    third = escalate_ops_work_queue(engine, settings, actor_username="ops", now=NOW)

    raised = [r.counts["reconciliation_break_sla_raised"] for r in (first, second, third)]
    assert raised == [1, 0, 1]
    assert second.counts["overdue_reconciliation_breaks"] == 1
    key = f"reconciliation_break_sla:reconciliation_break:{brk}"
    assert alerts(engine) == [
        ("reconciliation_break_sla", "medium", "closed", key),
        ("reconciliation_break_sla", "medium", "open", key),
    ]


def test_every_overdue_item_is_alerted_across_several_batches(
    engine: Engine, settings: Settings, factory: Factory, maker: int
) -> None:
    for _ in range(5):
        factory.recon_break(maker, created_at=hours_ago(13))
        factory.journal_approval(maker, requested_at=hours_ago(9))

    result = escalate_ops_work_queue(
        engine, replace(settings, batch_size=2), actor_username="ops", now=NOW
    )

    assert result.counts["overdue_reconciliation_breaks"] == 5
    assert result.counts["overdue_journal_approvals"] == 5
    assert result.counts["alerts_raised"] == 10
    assert factory.count("alerts", "status = 'open'") == 10
    assert factory.audit_actions("alert.") == ["alert.raise"] * 10


def test_dry_run_reports_the_real_run_and_writes_only_its_job_run(
    engine: Engine, settings: Settings, factory: Factory, maker: int
) -> None:
    factory.journal_approval(maker, requested_at=hours_ago(9))
    factory.settlement_exception(maker, severity="critical", created_at=hours_ago(13))
    factory.recon_break(maker, status="in_review", created_at=hours_ago(13))
    factory.recon_break(maker, created_at=hours_ago(13))
    before = factory.table_checksums()

    dry = escalate_ops_work_queue(engine, settings, actor_username="ops", now=NOW, dry_run=True)
    after_dry = factory.table_checksums()
    real = escalate_ops_work_queue(engine, settings, actor_username="ops", now=NOW)

    assert dry.counts == real.counts
    assert real.counts["alerts_raised"] == 4
    for kind in real.items:
        # alert ids come from a sequence, which a rolled-back dry run still advances
        assert [{**a, "id": None} for a in dry.items[kind]] == [
            {**a, "id": None} for a in real.items[kind]
        ]
    assert {t for t in before if before[t] != after_dry[t]} == {"job_runs"}


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("journal_hours", "journal hours"),
        ("settlement_exception_hours", "settlement exception hours"),
        ("reconciliation_break_hours", "reconciliation break hours"),
    ],
)
def test_a_negative_threshold_is_refused_before_anything_changes(
    engine: Engine, settings: Settings, factory: Factory, maker: int, argument: str, message: str
) -> None:
    factory.recon_break(maker, created_at=hours_ago(20))
    before = factory.table_checksums()

    with pytest.raises(InvalidInput, match=f"{message} must be a non-negative number of hours"):
        escalate_ops_work_queue(engine, settings, actor_username="ops", now=NOW, **{argument: -1})

    assert factory.table_checksums() == before
