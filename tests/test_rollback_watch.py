"""The rollback watch: each trigger goes from ok to firing on real changes after a release."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text

from ops_domain.accounting.journals import (
    JournalLineInput,
    approve_journal_approval,
    create_journal,
)
from ops_domain.config import DEFAULT_WAIVER_MAX_DAYS, RollbackPolicy, Settings
from ops_domain.disputes.chargebacks import transition_chargeback
from ops_domain.errors import (
    ActorNotAllowed,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PeriodClosed,
)
from ops_domain.payouts.service import fail_payout, resubmit_payout, send_payout
from ops_domain.readiness.waivers import approve_waiver, request_waiver
from ops_domain.rollback.emergency import record_rollback
from ops_domain.rollback.releases import release_under_watch
from ops_domain.rollback.watch import WatchReport, rollback_watch
from ops_domain.settlement_automation import automate_settlements
from tests.support.chargeback_alarm import chargeback_then_release, refuse_chargeback_moves
from tests.support.factories import DEFAULT_DAY, Factory
from tests.support.releases import release_through_gate

RELEASE = "2026.11.24-1"
DEFAULT_POLICY = RollbackPolicy()


@pytest.fixture
def people(factory: Factory) -> dict[str, int]:
    return {
        "olga": factory.user("olga", "operation"),
        "tara": factory.user("tara", "treasury"),
        "rita": factory.user("rita", "risk"),
        "fin": factory.user("fin", "finance"),
        "svc": factory.user("svc_airflow", "operation"),
        "admin_ann": factory.user("admin_ann", "admin"),
    }


def release(engine: Engine, factory: Factory, release_id: str = RELEASE) -> datetime:
    released_at = factory.now()
    verdict = release_through_gate(engine, release_id, actor_username="olga", now=released_at)
    assert verdict.released, verdict
    return released_at


def watch(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime | None = None,
    policy: RollbackPolicy = DEFAULT_POLICY,
    dry_run: bool = False,
) -> WatchReport:
    return rollback_watch(
        engine,
        settings,
        release_id=RELEASE,
        actor_username="svc_airflow",
        now=now,
        policy=policy,
        dry_run=dry_run,
    )


def stalled_figures(*, refused: int, past_due: int) -> dict[str, object]:
    """The chargebacks_stalled trigger's figures under the default policy (two refusals
    tolerated, none past due)."""
    return {
        "refused_transitions": refused,
        "past_due_without_transition": past_due,
        "refusals_tolerated": 2,
        "value": f"{refused} refused, {past_due} past due",
        "baseline": 0,
        "threshold": "> 2 refused or > 0 past due",
    }


def statuses(report: WatchReport) -> dict[str, str]:
    return {reading.name: reading.status for reading in report.outcome.triggers}


def reading(report: WatchReport, name: str):
    return next(r for r in report.outcome.triggers if r.name == name)


def release_status(factory: Factory) -> str:
    with factory.engine.begin() as conn:
        return conn.execute(
            text("SELECT status FROM releases WHERE release_id = :r"), {"r": RELEASE}
        ).scalar_one()


ALL_OK = {
    "recon_break_spike": "ok",
    "payouts_failed": "ok",
    "chargebacks_stalled": "ok",
    "posting_refusals": "ok",
}


def test_a_quiet_release_is_ok_and_changes_nothing_but_its_run_record(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    release(engine, factory)
    before = factory.table_checksums()

    report = watch(engine, settings)

    assert statuses(report) == ALL_OK
    assert report.verdict == "ok"
    assert report.outcome.alerts_raised == []
    changed = {t for t, s in factory.table_checksums().items() if s != before[t]}
    assert changed == {"job_runs", "audit_log"}  # the watch's own run record and its audit
    assert factory.count("job_runs", "job_name = 'rollback_watch' AND outcome = 'succeeded'") == 1
    assert release_status(factory) == "released"


def test_break_spike_fires_only_above_the_absolute_threshold_over_a_zero_baseline(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    release(engine, factory)
    for _ in range(5):
        factory.recon_break(people["olga"], created_at=factory.now())

    at_threshold = watch(engine, settings)
    factory.recon_break(people["olga"], created_at=factory.now())
    above = watch(engine, settings)

    spike = reading(at_threshold, "recon_break_spike")
    assert (spike.status, spike.figures["rise"]) == ("ok", 5)
    fired = reading(above, "recon_break_spike")
    assert fired.status == "firing"
    assert (fired.figures["baseline"], fired.figures["open_now"], fired.figures["rise"]) == (
        0,
        6,
        6,
    )
    assert (fired.figures["value"], fired.figures["threshold"]) == (6, "rise > +5 and > +50%")
    assert fired.evidence.count == 6
    assert [item["reference"].startswith("BRK-") for item in fired.evidence.items] == [True] * 6
    assert fired.evidence.first_seen == fired.evidence.items[0]["seen_at"]
    assert above.verdict == "rollback_recommended"


def test_break_spike_needs_the_relative_threshold_too_over_a_waived_baseline(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    for _ in range(20):
        factory.recon_break(people["olga"])
    waiver = request_waiver(
        engine,
        max_days=DEFAULT_WAIVER_MAX_DAYS,
        actor_username="olga",
        counter="open_recon_breaks",
        reason="known statement delay",
        expires_at=datetime.now(UTC) + timedelta(days=2),
        release_id=RELEASE,
        max_count=20,
    )
    approve_waiver(engine, waiver_id=waiver.id, actor_username="rita", note="accepted")
    release(engine, factory)
    for _ in range(10):
        factory.recon_break(people["olga"], created_at=factory.now())

    fifty_percent = watch(engine, settings)  # +10 over 20: above +5, but not above +50%
    factory.recon_break(people["olga"], created_at=factory.now())
    fifty_five_percent = watch(engine, settings)

    assert reading(fifty_percent, "recon_break_spike").status == "ok"
    fired = reading(fifty_five_percent, "recon_break_spike")
    assert fired.status == "firing"
    assert (fired.figures["baseline"], fired.figures["rise"]) == (20, 11)
    assert fired.evidence.count == 11  # only the breaks opened since the release are evidence


def test_a_payout_failed_since_the_release_fires_even_after_it_was_resubmitted(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    merchant = factory.merchant("ALPHA")
    factory.event(merchant, "80.00")
    automate_settlements(
        engine,
        settings,
        actor_username="olga",
        period_start=DEFAULT_DAY,
        period_end=DEFAULT_DAY,
        create_payouts=True,
    )
    with engine.begin() as conn:
        payout_id = conn.execute(text("SELECT id FROM payouts")).scalar_one()
    send_payout(
        engine, settings, payout_id=payout_id, actor_username="rita", note="released to bank"
    )
    release(engine, factory)
    quiet = watch(engine, settings)

    fail_payout(
        engine,
        settings,
        payout_id=payout_id,
        actor_username="admin_ann",
        note="bounced",
        reason="account closed",
    )
    resubmit_payout(
        engine, settings, payout_id=payout_id, actor_username="tara", note="new account"
    )
    report = watch(engine, settings)

    assert reading(quiet, "payouts_failed").status == "ok"
    failed = reading(report, "payouts_failed")
    assert failed.status == "firing"
    assert failed.evidence.count == 1
    (item,) = failed.evidence.items
    assert item["id"] == payout_id
    assert item["reference"].startswith("PAYOUT-")
    assert item["detail"] == {
        "failures": 1,
        "status_now": "pending",
        "attempt": 2,
        "amount": "80.00",
        "currency": "USD",
    }
    assert statuses(report) == {**ALL_OK, "payouts_failed": "firing"}


def test_refused_chargeback_transitions_fire_above_the_tolerated_number(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    chargeback = chargeback_then_release(engine, factory, RELEASE)
    refuse_chargeback_moves(engine, chargeback, times=1)
    one_mistake = watch(engine, settings)
    refuse_chargeback_moves(engine, chargeback, times=2)
    three = watch(engine, settings)
    strict = watch(engine, settings, policy=RollbackPolicy(chargeback_refusals=0))

    assert DEFAULT_POLICY.chargeback_refusals == 2
    assert reading(one_mistake, "chargebacks_stalled").status == "ok"
    stalled = reading(three, "chargebacks_stalled")
    assert stalled.status == "firing"
    assert stalled.figures == stalled_figures(refused=3, past_due=0)
    assert reading(strict, "chargebacks_stalled").status == "firing"
    item = stalled.evidence.items[0]
    assert (item["id"], item["detail"]["kind"]) == (chargeback, "transition_refused")
    assert (item["detail"]["from"], item["detail"]["to"]) == ("open", "won")


def test_an_operator_input_mistake_on_a_chargeback_does_not_fire(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    chargeback = factory.chargeback(
        factory.merchant(), due_at=datetime.now(UTC) + timedelta(days=5), status="lost"
    )
    release(engine, factory)

    with pytest.raises(InvalidInput, match="moving to closed needs a note"):
        transition_chargeback(
            engine, chargeback_id=chargeback, to_status="closed", actor_username="rita"
        )
    with pytest.raises(InvalidInput, match="chargeback status must be one of"):
        transition_chargeback(
            engine, chargeback_id=chargeback, to_status="shut", actor_username="rita", note="x"
        )
    report = watch(engine, settings)

    assert statuses(report) == ALL_OK
    assert reading(report, "chargebacks_stalled").figures == stalled_figures(refused=0, past_due=0)
    assert release_status(factory) == "released"


def test_a_chargeback_passing_its_due_time_without_a_transition_fires(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    released_at = datetime.now(UTC) + timedelta(seconds=1)
    merchant = factory.merchant()
    stuck = factory.chargeback(merchant, due_at=released_at + timedelta(minutes=30))
    moved = factory.chargeback(merchant, due_at=released_at + timedelta(minutes=30))
    factory.chargeback(merchant, due_at=released_at - timedelta(days=1))  # overdue at the gate
    verdict = release_through_gate(engine, RELEASE, actor_username="olga", now=released_at)
    assert verdict.released
    transition_chargeback(
        engine,
        chargeback_id=moved,
        to_status="represented",
        actor_username="rita",
        now=released_at + timedelta(minutes=5),
    )

    before_due = watch(engine, settings, now=released_at + timedelta(minutes=20))
    after_due = watch(engine, settings, now=released_at + timedelta(hours=1))

    assert reading(before_due, "chargebacks_stalled").status == "ok"
    stalled = reading(after_due, "chargebacks_stalled")
    assert stalled.status == "firing"
    assert stalled.figures == stalled_figures(refused=0, past_due=1)
    assert [item["id"] for item in stalled.evidence.items] == [stuck]
    assert stalled.evidence.first_seen == released_at + timedelta(minutes=30)


def refused_posting(engine: Engine, factory: Factory, maker_id: int) -> None:
    approval = factory.journal_approval(maker_id)
    with pytest.raises(PeriodClosed):
        approve_journal_approval(
            engine, approval_id=approval, actor_username="rita", note="month end"
        )


def test_posting_refusals_fire_above_the_tolerated_number(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    factory.period(date(2026, 11, 1), date(2026, 11, 30), status="closed")
    release(engine, factory)
    tolerant = RollbackPolicy(posting_refusals=1)

    refused_posting(engine, factory, people["fin"])
    one_tolerated = watch(engine, settings, policy=tolerant)
    one_by_default = watch(engine, settings)
    refused_posting(engine, factory, people["fin"])
    two = watch(engine, settings, policy=tolerant)

    assert reading(one_tolerated, "posting_refusals").status == "ok"
    assert reading(one_by_default, "posting_refusals").status == "firing"
    refusals = reading(two, "posting_refusals")
    assert refusals.status == "firing"
    assert refusals.evidence.count == 2
    first = refusals.evidence.items[0]
    assert first["reference"].startswith("JE-")
    assert first["detail"]["entry_date"] == "2026-11-20"
    assert first["detail"]["period"] == "2026-11-01..2026-11-30"


def test_events_before_the_release_never_fire(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    chargeback = factory.chargeback(
        factory.merchant(), due_at=datetime.now(UTC) + timedelta(days=5)
    )
    with pytest.raises(IllegalTransition):
        transition_chargeback(
            engine, chargeback_id=chargeback, to_status="won", actor_username="rita", note="?"
        )
    factory.period(date(2026, 11, 1), date(2026, 11, 30), status="closed")
    refused_posting(engine, factory, people["fin"])
    release(engine, factory)

    assert statuses(watch(engine, settings)) == ALL_OK


def firing_release(engine: Engine, factory: Factory, people: dict[str, int]) -> None:
    """Released, then three chargeback moves are refused (above the tolerated two): the
    chargeback trigger fires."""
    refuse_chargeback_moves(engine, chargeback_then_release(engine, factory, RELEASE))


def test_firing_raises_one_critical_alert_per_trigger_and_recommends_rollback_once(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    firing_release(engine, factory, people)

    first = watch(engine, settings)
    checksums = factory.table_checksums()
    rerun = watch(engine, settings)

    assert [a["severity"] for a in first.outcome.alerts_raised] == ["critical"]
    (alert,) = first.outcome.alerts_raised
    assert alert["alert_type"] == "rollback_trigger"
    assert alert["target_id"].endswith(":chargebacks_stalled")
    assert first.outcome.release_marked is True
    assert release_status(factory) == "rollback_recommended"
    assert factory.audit_actions("release.") == [
        "release.gate_evaluated",
        "release.released",
        "release.rollback_recommended",
    ]
    assert (rerun.verdict, rerun.outcome.alerts_raised, rerun.outcome.release_marked) == (
        "rollback_recommended",
        [],
        False,
    )
    changed = {t for t, s in factory.table_checksums().items() if s != checksums[t]}
    assert changed == {"job_runs", "audit_log"}
    assert factory.count("alerts", "alert_type = 'rollback_trigger'") == 1
    assert factory.count("payout_freezes") == 0  # auto-freeze is off by default


def test_a_second_trigger_adds_its_own_alert_to_the_recommended_release(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    firing_release(engine, factory, people)
    watch(engine, settings)
    factory.period(date(2026, 11, 1), date(2026, 11, 30), status="closed")
    refused_posting(engine, factory, people["fin"])

    report = watch(engine, settings)

    assert [a["target_id"].split(":")[1] for a in report.outcome.alerts_raised] == [
        "posting_refusals"
    ]
    assert report.outcome.release_marked is False  # already recommended
    assert factory.count("alerts", "alert_type = 'rollback_trigger' AND severity = 'critical'") == 2


def test_auto_freeze_freezes_payouts_globally_at_once_and_holds_new_payouts(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    firing_release(engine, factory, people)
    merchant = factory.merchant("BETA")
    factory.event(merchant, "45.00")
    freezing = RollbackPolicy(auto_freeze=True)

    report = watch(engine, settings, policy=freezing)
    rerun = watch(engine, settings, policy=freezing)
    settled = automate_settlements(
        engine,
        settings,
        actor_username="olga",
        period_start=DEFAULT_DAY,
        period_end=DEFAULT_DAY,
        create_payouts=True,
    )

    freeze = report.outcome.freeze
    assert freeze is not None
    assert (freeze.scope, freeze.newly_set, freeze.set_by) == ("global", True, "svc_airflow")
    assert freeze.reason == (
        f"rollback watch: release {RELEASE}: trigger(s) firing: chargebacks_stalled"
    )
    assert rerun.outcome.freeze is not None
    assert (rerun.outcome.freeze.id, rerun.outcome.freeze.newly_set) == (freeze.id, False)
    assert factory.count("payout_freezes") == 1
    assert factory.audit_actions("payout.freeze") == ["payout.freeze"]
    assert settled.counts["payouts_held"] == 1
    assert settled.counts["payouts_created"] == 0
    assert settled.items["held_payouts"][0]["freeze_id"] == freeze.id
    assert settled.items["held_payouts"][0]["amount"] == str(Decimal("45.00"))


def test_dry_run_reports_the_verdict_and_changes_nothing(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    firing_release(engine, factory, people)
    checksums = factory.table_checksums()

    report = watch(engine, settings, policy=RollbackPolicy(auto_freeze=True), dry_run=True)

    assert report.verdict == "rollback_recommended"
    assert [a["severity"] for a in report.outcome.alerts_raised] == ["critical"]
    assert "would freeze payouts globally (OPS_AUTO_FREEZE_ON_ROLLBACK)" in report.job.messages
    changed = {t for t, s in factory.table_checksums().items() if s != checksums[t]}
    assert changed == {"job_runs"}  # the dry-run record only
    assert factory.count("job_runs", "dry_run") == 1
    assert release_status(factory) == "released"
    assert factory.count("alerts") == 0
    assert factory.count("payout_freezes") == 0


def test_refused_requests_change_nothing(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    release(engine, factory)
    candidate = "2026.11.24-2"
    factory.refund(people["olga"], factory.event(factory.merchant(), "10.00"), "5.00")
    assert not release_through_gate(
        engine, candidate, actor_username="olga", now=factory.now()
    ).released
    checksums = factory.table_checksums()

    with pytest.raises(NotFound, match="production release 'nope' not found"):
        rollback_watch(engine, settings, release_id="nope", actor_username="svc_airflow")
    with pytest.raises(InvalidInput, match="never released \\(latest gate verdict: not_ready\\)"):
        rollback_watch(engine, settings, release_id=candidate, actor_username="svc_airflow")
    with pytest.raises(InvalidInput, match="a release id is required"):
        rollback_watch(engine, settings, release_id=" ", actor_username="svc_airflow")
    with pytest.raises(ActorNotAllowed, match="'fin' may not run rollback_watch"):
        rollback_watch(engine, settings, release_id=RELEASE, actor_username="fin")
    assert factory.table_checksums() == checksums


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"OPS_ROLLBACK_BREAKS_ABS": "-1"}, "OPS_ROLLBACK_BREAKS_ABS must not be negative"),
        ({"OPS_ROLLBACK_BREAKS_REL": "lots"}, "OPS_ROLLBACK_BREAKS_REL must be a decimal"),
        ({"OPS_ROLLBACK_BREAKS_REL": "-0.1"}, "OPS_ROLLBACK_BREAKS_REL must be 0 or more"),
        ({"OPS_AUTO_FREEZE_ON_ROLLBACK": "maybe"}, "must be true or false"),
    ],
)
def test_a_malformed_policy_is_refused_by_name(env: dict[str, str], problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        RollbackPolicy.from_env(env)


def test_policy_defaults_and_env_values() -> None:
    assert RollbackPolicy.from_env({}) == RollbackPolicy(5, Decimal("0.5"), 0, False, 24)
    assert RollbackPolicy.from_env(
        {
            "OPS_ROLLBACK_BREAKS_ABS": "2",
            "OPS_ROLLBACK_BREAKS_REL": "0.25",
            "OPS_ROLLBACK_POSTING_REFUSALS": "3",
            "OPS_AUTO_FREEZE_ON_ROLLBACK": "true",
            "OPS_ROLLBACK_WATCH_HOURS": "6",
        }
    ) == RollbackPolicy(2, Decimal("0.25"), 3, True, 6)


def test_overlapping_watches_raise_mark_and_freeze_once(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    firing_release(engine, factory, people)
    freezing = RollbackPolicy(auto_freeze=True)

    with ThreadPoolExecutor(max_workers=4) as pool:
        reports = list(pool.map(lambda _: watch(engine, settings, policy=freezing), range(4)))

    assert {report.verdict for report in reports} == {"rollback_recommended"}
    assert sum(len(report.outcome.alerts_raised) for report in reports) == 1
    assert sum(report.outcome.release_marked for report in reports) == 1
    assert (
        sum(bool(report.outcome.freeze and report.outcome.freeze.newly_set) for report in reports)
        == 1
    )
    assert factory.count("alerts", "alert_type = 'rollback_trigger'") == 1
    assert factory.count("payout_freezes") == 1
    assert factory.audit_actions("release.rollback_recommended") == ["release.rollback_recommended"]
    assert factory.count("job_runs", "job_name = 'rollback_watch' AND outcome = 'succeeded'") == 4


def test_the_scheduled_watch_picks_the_latest_release_still_in_its_window(
    engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    now = factory.now()
    release_through_gate(engine, "older", actor_username="olga", now=now - timedelta(hours=30))
    release_through_gate(engine, "recent", actor_username="olga", now=now - timedelta(hours=2))
    latest = release_through_gate(engine, "latest", actor_username="olga", now=now)
    assert latest.released

    picked = release_under_watch(engine, now=now, window_hours=24)
    record_rollback(engine, release_id="latest", reason="bad", actor_username="rita")
    after_rollback = release_under_watch(engine, now=now, window_hours=24)
    next_day = release_under_watch(engine, now=now + timedelta(hours=23), window_hours=24)

    assert (picked, after_rollback, next_day) == (
        ("latest", "production"),
        ("recent", "production"),
        None,
    )


def test_a_journal_drafted_into_a_closed_period_is_evidence_for_the_posting_trigger(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    factory.account("1000-CASH", "asset")
    factory.account("4000-FEES", "revenue")
    factory.period(date(2026, 11, 1), date(2026, 11, 30), status="closed")
    release(engine, factory)

    with pytest.raises(PeriodClosed):
        create_journal(
            engine,
            settings,
            actor_username="fin",
            entry_date=date(2026, 11, 20),
            currency="USD",
            description="late fees",
            lines=[
                JournalLineInput.parse("1000-CASH:debit:3.10"),
                JournalLineInput.parse("4000-FEES:credit:3.10"),
            ],
        )
    refusals = reading(watch(engine, settings), "posting_refusals")

    assert refusals.status == "firing"
    (item,) = refusals.evidence.items
    assert item["reference"] == "new USD entry"
    assert (item["detail"]["step"], item["detail"]["entry_date"]) == ("create", "2026-11-20")


def test_one_release_id_is_gated_watched_and_rolled_back_per_environment(
    engine: Engine, factory: Factory, settings: Settings, people: dict[str, int]
) -> None:
    staging = release_through_gate(
        engine, RELEASE, actor_username="olga", now=factory.now(), environment="staging"
    )
    production = release_through_gate(
        engine, RELEASE, actor_username="olga", now=factory.now(), environment="production"
    )
    assert staging.released
    assert production.released

    report = rollback_watch(
        engine,
        settings,
        release_id=RELEASE,
        environment="production",
        actor_username="svc_airflow",
        policy=DEFAULT_POLICY,
    )
    record_rollback(
        engine,
        release_id=RELEASE,
        environment="staging",
        reason="bad build",
        actor_username="rita",
    )

    assert report.release.snapshot_id == production.snapshot_id
    with engine.begin() as conn:
        rows = set(
            conn.execute(
                text("SELECT environment, status, released_snapshot_id FROM releases")
            ).all()
        )
    assert rows == {
        ("staging", "rolled_back", staging.snapshot_id),
        ("production", "released", production.snapshot_id),
    }


def test_a_trigger_added_to_the_registry_is_watched_under_its_registered_name(
    engine: Engine,
    factory: Factory,
    settings: Settings,
    people: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ops_domain.rollback import registry
    from ops_domain.rollback.evidence import Evidence, TriggerReading

    def always_firing(*_: object) -> TriggerReading:
        return TriggerReading("firing", "a test trigger always fires", Evidence(1, None))

    monkeypatch.setitem(registry.TRIGGERS, "always_firing", always_firing)
    release(engine, factory)

    report = watch(engine, settings)

    assert statuses(report) == {**ALL_OK, "always_firing": "firing"}
    assert [reading.name for reading in report.firing] == ["always_firing"]
    assert len(report.outcome.alerts_raised) == 1
    assert release_status(factory) == "rollback_recommended"
