"""The release gate: verdict, stored evidence, released status, JSON contract, exit codes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, create_engine, text

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.config import DEFAULT_WAIVER_MAX_DAYS, Settings
from ops_domain.errors import InvalidInput, ReadinessNotEvaluated, UnknownActor
from ops_domain.readiness.gate import (
    GATE_JSON_KEYS,
    decide_verdict,
    record_gate_verdict,
    release_readiness_gate,
)
from ops_domain.readiness.models import READINESS_COUNTERS
from ops_domain.readiness.snapshot import GateEvidence
from ops_domain.readiness.waivers import approve_waiver, request_waiver
from ops_domain.runbook.registry import CHECK_NAMES
from ops_domain.runbook.report import record_release_verdict
from tests.support.factories import DEFAULT_TIME, Factory

NOW = DEFAULT_TIME
RELEASE = "2026.11.20-1"


@pytest.fixture
def gatekeepers(factory: Factory) -> None:
    factory.user("svc_airflow", "operation")
    factory.user("olga", "operation")
    factory.user("risk_checker", "risk")


def stored_snapshots(engine: Engine) -> list[dict]:
    with engine.begin() as conn:
        return [
            dict(row._mapping)
            for row in conn.execute(
                text(
                    "SELECT s.id, s.release_id, s.environment, u.username AS actor, s.verdict,"
                    " s.counters, s.checks, s.waivers_applied, s.created_at"
                    " FROM release_snapshots s JOIN users u ON u.id = s.actor_id ORDER BY s.id"
                )
            )
        ]


def release_rows(engine: Engine) -> list[tuple]:
    with engine.begin() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text("SELECT release_id, status, released_snapshot_id, released_at FROM releases")
            )
        ]


def all_passing() -> list[CheckResult]:
    return [CheckResult(name, "pass", "ok") for name in CHECK_NAMES]


def record(engine: Engine, checks: list[CheckResult], **overrides):
    """The release verdict over ``checks``, as the report and the DAG's gate task store it."""
    arguments = {"release_id": RELEASE, "environment": "production", "now": NOW, **overrides}
    evaluation = Evaluation(
        engine, Settings(), arguments["release_id"], arguments["environment"], arguments["now"]
    )
    actor = arguments.get("actor_username", "svc_airflow")
    return record_release_verdict(evaluation, actor_username=actor, checks=checks).verdict


@pytest.mark.usefixtures("gatekeepers")
def test_clean_database_is_ready_and_the_evaluation_is_stored(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    report = release_readiness_gate(engine, settings, release_id=RELEASE, now=NOW)

    assert report.is_ready
    assert report.to_dict() == {
        "is_ready": True,
        "failed_checks": [],
        "waived_checks": [],
        "pending_refunds": 0,
        "failed_payouts": 0,
        "open_recon_breaks": 0,
        "open_high_alerts": 0,
        "waivers": [],
        "release_id": RELEASE,
        "generated_at": NOW.isoformat(),
        "failed_counters": [],
        "waived_counters": [],
        "verdict": "ready",
        "counted": dict.fromkeys(READINESS_COUNTERS, 0),
        "waived": dict.fromkeys(READINESS_COUNTERS, 0),
    }
    [snapshot] = stored_snapshots(engine)
    assert (snapshot["actor"], snapshot["verdict"], snapshot["environment"]) == (
        "svc_airflow",
        "ready",
        "production",
    )
    assert snapshot["created_at"] == NOW
    assert [check["name"] for check in snapshot["checks"]] == [
        "pending_refunds",
        "failed_payouts",
        "open_recon_breaks",
        "open_high_alerts",
    ]
    assert not report.verdict.released
    assert release_rows(engine) == []
    assert factory.audit_actions("release.") == ["release.gate_evaluated"]


@pytest.mark.usefixtures("gatekeepers")
def test_a_ready_verdict_over_every_runbook_check_releases_once(
    engine: Engine, factory: Factory
) -> None:
    first = record(engine, all_passing())
    again = record(engine, all_passing(), now=NOW + timedelta(hours=1))

    assert (first.released, again.released) == (True, False)
    assert release_rows(engine) == [(RELEASE, "released", first.snapshot_id, NOW)]
    assert factory.audit_actions("release.") == [
        "release.gate_evaluated",
        "release.released",
        "release.gate_evaluated",
    ]


@pytest.mark.usefixtures("gatekeepers")
def test_blockers_make_it_not_ready_and_every_evaluation_is_stored(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    maker = factory.user("ops_maker", "operation")
    factory.failed_payout(maker)
    factory.alert(severity="critical")

    first = release_readiness_gate(engine, settings, release_id=RELEASE, now=NOW)
    second = release_readiness_gate(
        engine, settings, release_id=RELEASE, now=NOW + timedelta(minutes=5)
    )

    for report in (first, second):
        assert not report.is_ready
        assert report.to_dict()["failed_checks"] == ["failed_payouts", "open_high_alerts"]
        assert report.to_dict()["failed_counters"] == ["failed_payouts", "open_high_alerts"]
        assert (report.counters["failed_payouts"], report.counters["open_high_alerts"]) == (1, 1)
    snapshots = stored_snapshots(engine)
    assert [(s["verdict"], s["created_at"]) for s in snapshots] == [
        ("not_ready", NOW),
        ("not_ready", NOW + timedelta(minutes=5)),
    ]
    assert snapshots[0]["counters"]["counted"]["failed_payouts"] == 1
    assert release_rows(engine) == []


@pytest.mark.usefixtures("gatekeepers")
def test_approved_waivers_make_it_ready_and_are_named_in_the_evidence(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    maker = factory.user("ops_maker", "operation")
    payout = factory.failed_payout(maker)
    waiver = request_waiver(
        engine,
        max_days=DEFAULT_WAIVER_MAX_DAYS,
        actor_username="ops_maker",
        counter="failed_payouts",
        item_ids=[payout],
        reason="bank outage, resubmitted manually",
        expires_at=NOW + timedelta(days=1),
        release_id=RELEASE,
        now=NOW,
    )
    approve_waiver(engine, waiver_id=waiver.id, actor_username="risk_checker", note="ok", now=NOW)

    report = release_readiness_gate(engine, settings, release_id=RELEASE, now=NOW).to_dict()

    assert (report["is_ready"], report["waived_checks"], report["failed_payouts"]) == (
        True,
        ["failed_payouts"],
        0,
    )
    assert report["waived_counters"] == report["waived_checks"]
    assert (report["counted"]["failed_payouts"], report["waived"]["failed_payouts"]) == (1, 1)
    assert report["waived"]["pending_refunds"] == 0
    assert [(w["id"], w["items_waived"], w["approved_by"]) for w in report["waivers"]] == [
        (waiver.id, [payout], "risk_checker")
    ]
    [snapshot] = stored_snapshots(engine)
    assert snapshot["waivers_applied"][0]["id"] == waiver.id


def test_any_errored_check_means_never_ready() -> None:
    passing = CheckResult("migrations", "pass", "ok")
    waived = CheckResult("readiness_snapshot", "waived", "waived")
    errored = CheckResult("metrics", "error", "ConnectionError: refused")

    assert decide_verdict([passing, waived]) == ("ready", [], ["readiness_snapshot"])
    assert decide_verdict([passing, errored, waived]) == (
        "error",
        ["metrics"],
        ["readiness_snapshot"],
    )
    assert decide_verdict([]) == ("error", [], [])


@pytest.mark.usefixtures("gatekeepers")
def test_recorded_error_verdict_is_stored_and_does_not_release(engine: Engine) -> None:
    checks = [
        CheckResult("metrics", "error", "down") if check.name == "metrics" else check
        for check in all_passing()
    ]

    verdict = record(engine, checks, environment="staging")

    assert (verdict.verdict, verdict.is_ready, verdict.failed_checks, verdict.released) == (
        "error",
        False,
        ["metrics"],
        False,
    )
    assert [(s["verdict"], s["environment"]) for s in stored_snapshots(engine)] == [
        ("error", "staging")
    ]
    assert release_rows(engine) == []


def test_an_unknown_actor_is_refused_and_nothing_is_stored(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    before = factory.table_checksums()

    with pytest.raises(UnknownActor):
        release_readiness_gate(engine, settings, actor_username="ghost", release_id=RELEASE)

    assert factory.table_checksums() == before


def test_an_unreachable_database_could_not_be_evaluated(settings: Settings) -> None:
    unreachable = create_engine(
        "postgresql+psycopg2://ops@127.0.0.1:1/ops", connect_args={"connect_timeout": 2}
    )

    with pytest.raises(ReadinessNotEvaluated, match="could not evaluate release"):
        release_readiness_gate(unreachable, settings, release_id=RELEASE)


@pytest.mark.usefixtures("gatekeepers")
def test_cli_exit_codes_follow_the_verdict(cli, factory: Factory) -> None:
    code, out, err = cli(
        "release_readiness_gate", "--actor-username", "olga", "--json", "--release-id", RELEASE
    )
    assert (code, err) == (0, "")
    assert tuple(json.loads(out)) == tuple(sorted(GATE_JSON_KEYS))

    factory.refund(
        factory.user("cs", "customer_service"), factory.event(factory.merchant(), "9.00"), "1.00"
    )
    code, out, _ = cli(
        "release_readiness_gate", "--actor-username", "olga", "--release-id", RELEASE
    )
    assert code == 1
    assert "NOT READY" in out
    assert "pending_refunds: 1 (counted 1, waived 0, failed)" in out
    code, out, _ = cli(
        "release_readiness_gate", "--actor-username", "olga", "--release-id", RELEASE, "--json"
    )
    assert (code, json.loads(out)["verdict"]) == (1, "not_ready")

    code, out, _ = cli(
        "release_readiness_gate", "--actor-username", "olga", "--json", "--no-fail-on-issues"
    )
    assert code == 0
    assert json.loads(out)["is_ready"] is False

    code, _, err = cli("release_readiness_gate", "--actor-username", "ghost")
    assert code == 2
    assert "actor 'ghost' does not exist" in err


def test_cli_exits_2_when_the_database_is_unreachable(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_DATABASE_URL", "postgresql://ops@127.0.0.1:1/ops")

    code, out, err = cli("release_readiness_gate", "--actor-username", "olga", "--json")

    assert code == 2
    assert json.loads(out) == {
        "is_ready": False,
        "verdict": "error",
        "release_id": "unversioned",
        "error": err.strip().removeprefix("error: "),
    }
    assert "could not evaluate release unversioned" in err


@pytest.mark.usefixtures("gatekeepers")
def test_evidence_that_is_not_the_registry_checks_is_refused_and_nothing_stored(
    engine: Engine,
) -> None:
    renamed = [*all_passing()[:-1], CheckResult("data_quality_v2", "pass", "ok")]
    for checks in (all_passing()[:-1], [*all_passing(), all_passing()[0]], renamed, []):
        with pytest.raises(InvalidInput, match="gate evidence names the checks"):
            record(engine, checks)
    with pytest.raises(InvalidInput, match="gate evidence names the checks"):
        record_gate_verdict(  # the counters-only gate takes the counters, never the runbook
            engine,
            actor_username="svc_airflow",
            release_id=RELEASE,
            environment="production",
            checks=all_passing(),
            evidence=GateEvidence(),
            now=NOW,
        )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM release_snapshots")).scalar_one() == 0
