"""The escalation commands: actor refusals, bad thresholds, ``--now``, ``--json``, ``--dry-run``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.factories import Factory

Cli = Callable[..., tuple[int, str, str]]
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
JOBS = ("escalate_refund_disputes", "escalate_operation_cases", "escalate_ops_work_queue")


@pytest.fixture
def backlog(factory: Factory) -> dict[str, int]:
    """One overdue item for each job, as of NOW."""
    factory.user("ops", "operation")
    cs = factory.user("cs", "customer_service")
    factory.user("gone", "operation", active=False)
    fin = factory.user("fin", "finance")
    case = factory.case(cs, case_type="refund", sla_due_at=NOW + timedelta(days=1))
    event = factory.event(factory.merchant("SHOP"), "80.00")
    return {
        "refund": factory.refund(
            cs, event, "20.00", case_id=case, sla_due_at=NOW - timedelta(hours=2)
        ),
        "case": factory.case(cs, priority="critical", sla_due_at=NOW - timedelta(hours=1)),
        "break": factory.recon_break(fin, status="in_review", created_at=NOW - timedelta(hours=13)),
    }


@pytest.mark.parametrize("job", JOBS)
@pytest.mark.parametrize(
    ("actor", "message"),
    [
        ("cs", "actor 'cs' may not run {job}: it needs one of the roles"
               " admin, operation, risk, super_admin"),
        ("ghost", "actor 'ghost' does not exist"),
        ("gone", "actor 'gone' is not active"),
    ],
)  # fmt: skip
def test_a_wrong_actor_exits_2_naming_the_accepted_roles_and_changes_nothing(
    cli: Cli, factory: Factory, backlog: dict[str, int], job: str, actor: str, message: str
) -> None:
    before = factory.table_checksums()

    code, out, err = cli(job, "--actor-username", actor)

    assert (code, out) == (2, "")
    assert err == f"error: {message.format(job=job)}\n"
    assert factory.table_checksums() == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["escalate_operation_cases", "--fallback-sla-hours", "-1"], "fallback SLA hours"),
        (["escalate_operation_cases", "--fallback-sla-hours", "nan"], "a plain number"),
        (["escalate_ops_work_queue", "--journal-hours", "-2"], "journal hours"),
        (["escalate_ops_work_queue", "--settlement-exception-hours", "-1"], "settlement exception"),
        (["escalate_ops_work_queue", "--reconciliation-break-hours", "-0.5"], "reconciliation break"),
        (["escalate_ops_work_queue", "--journal-hours", "eight"], "like 12 or 1.5, got 'eight'"),
        (["escalate_refund_disputes", "--now", "yesterday"], "--now must be an ISO-8601 timestamp"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    cli: Cli, factory: Factory, backlog: dict[str, int], argv: list[str], message: str
) -> None:
    before = factory.table_checksums()

    code, out, err = cli(*argv, "--actor-username", "ops")

    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert message in err
    assert factory.table_checksums() == before


def test_now_pins_the_clock_of_a_dry_run_and_json_reports_counts_and_items(
    cli: Cli, factory: Factory, backlog: dict[str, int]
) -> None:
    early = (NOW - timedelta(hours=3)).isoformat()
    code, out, _ = cli(
        "escalate_refund_disputes", "--actor-username", "ops", "--now", early, "--json",
        "--dry-run",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["counts"]["refunds_escalated"] == 0

    code, out, err = cli(
        "escalate_refund_disputes", "--actor-username", "ops", "--now", "2026-11-23T09:00:00",
        "--json", "--dry-run",
    )  # fmt: skip

    assert (code, err) == (0, "")
    payload = json.loads(out)
    assert set(payload) == {"job", "dry_run", "job_run_id", "counts", "items", "messages"}
    assert (payload["job"], payload["dry_run"]) == ("escalate_refund_disputes", True)
    assert payload["counts"] == {
        "refunds_escalated": 1,
        "cases_escalated": 1,
        "case_notes_added": 1,
    }
    (refund,) = payload["items"]["refunds"]
    assert refund["id"] == backlog["refund"]
    assert refund["escalated_at"] == "2026-11-23T09:00:00+00:00"
    assert refund["amount"] == "20.00"


def test_operation_cases_json_lists_the_case_and_its_high_alert(
    cli: Cli, factory: Factory, backlog: dict[str, int]
) -> None:
    code, out, _ = cli(
        "escalate_operation_cases", "--actor-username", "ops", "--now", NOW.isoformat(), "--json",
        "--dry-run",
    )  # fmt: skip

    payload = json.loads(out)
    assert code == 0
    assert payload["counts"] == {"cases_escalated": 1, "alerts_raised": 1}
    (alert,) = payload["items"]["alerts"]
    assert (alert["alert_type"], alert["severity"], alert["target_id"]) == (
        "case_sla_breach",
        "high",
        str(backlog["case"]),
    )


def test_work_queue_dry_run_prints_what_the_real_run_does_and_writes_only_the_run_record(
    cli: Cli, factory: Factory, backlog: dict[str, int]
) -> None:
    argv = ("escalate_ops_work_queue", "--actor-username", "ops")
    before = factory.table_checksums()

    code, dry_text, _ = cli(*argv, "--dry-run")
    after_dry = factory.table_checksums()
    _, dry_json, _ = cli(*argv, "--dry-run", "--json")
    _, real_json, _ = cli(*argv, "--json")

    assert code == 0
    assert dry_text.splitlines()[0].endswith("(dry run: nothing written)")
    assert "  reconciliation_break_sla_raised: 1" in dry_text.splitlines()
    assert {t for t in before if before[t] != after_dry[t]} == {"job_runs"}
    dry, real = json.loads(dry_json), json.loads(real_json)
    assert dry["dry_run"] is True
    assert dry["counts"] == real["counts"]
    assert real["counts"]["alerts_raised"] == 1
    assert [{**a, "id": None} for a in dry["items"]["reconciliation_break_sla"]] == [
        {**a, "id": None} for a in real["items"]["reconciliation_break_sla"]
    ]
    assert real["items"]["reconciliation_break_sla"][0]["severity"] == "high"
    assert factory.count("job_runs", "dry_run") == 2
