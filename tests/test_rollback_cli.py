"""``python -m ops_domain rollback_watch``: exit 0 when quiet, 1 when a trigger fires."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from tests.support.chargeback_alarm import chargeback_then_release, refuse_chargeback_moves
from tests.support.factories import Factory

Cli = Callable[..., tuple[int, str, str]]
RELEASE = "2026.11.24-1"


@pytest.fixture
def released(engine: Engine, factory: Factory) -> int:
    """A released release and a chargeback waiting for a decision; returns the chargeback."""
    factory.user("olga", "operation")
    factory.user("rita", "risk")
    factory.user("svc_airflow", "operation")
    return chargeback_then_release(engine, factory, RELEASE)


def test_quiet_release_exits_0_with_every_trigger_ok(cli: Cli, released: int) -> None:
    code, out, err = cli("rollback_watch", "--release-id", RELEASE, "--actor-username", "olga")

    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"release {RELEASE} (production, released ")
    assert lines[0].endswith(": OK")
    assert [line.split()[:2] for line in lines[1:]] == [
        ["recon_break_spike", "OK"],
        ["payouts_failed", "OK"],
        ["chargebacks_stalled", "OK"],
        ["posting_refusals", "OK"],
    ]


def test_firing_trigger_exits_1_and_json_carries_the_evidence(
    cli: Cli, engine: Engine, factory: Factory, released: int
) -> None:
    refuse_chargeback_moves(engine, released)

    code, out, _ = cli(
        "rollback_watch", "--release-id", RELEASE, "--actor-username", "olga", "--json"
    )

    assert code == 1
    report = json.loads(out)
    assert (report["verdict"], report["release_id"], report["release_marked"]) == (
        "rollback_recommended",
        RELEASE,
        True,
    )
    assert [t["status"] for t in report["triggers"]] == ["ok", "ok", "firing", "ok"]
    stalled = report["triggers"][2]
    assert (stalled["name"], stalled["count"]) == ("chargebacks_stalled", 3)
    assert stalled["evidence"][0]["reference"].startswith("CB-")
    assert stalled["first_seen"] == stalled["evidence"][0]["seen_at"]
    assert [a["severity"] for a in report["alerts_raised"]] == ["critical"]
    assert report["counts"] == {"triggers_firing": 1, "alerts_raised": 1, "release_marked": 1}
    assert report["freeze"] is None
    assert factory.count("job_runs", "job_name = 'rollback_watch' AND actor_id IS NOT NULL") == 1


def test_auto_freeze_from_the_environment_and_a_rerun_raises_nothing_new(
    cli: Cli, engine: Engine, factory: Factory, released: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_AUTO_FREEZE_ON_ROLLBACK", "true")
    refuse_chargeback_moves(engine, released)

    code, out, _ = cli("rollback_watch", "--release-id", RELEASE, "--actor-username", "olga")
    again, out_again, _ = cli("rollback_watch", "--release-id", RELEASE, "--actor-username", "olga")

    assert (code, again) == (1, 1)
    assert "  chargebacks_stalled  FIRING  3 chargeback transition(s) refused" in out
    assert f"  release {RELEASE} marked rollback_recommended" in out
    assert "alert #" in out
    assert "  - global payout freeze #" in out
    assert out.strip().endswith("set")
    assert "alert #" not in out_again
    assert "marked" not in out_again
    assert out_again.strip().endswith("already active")
    assert factory.count("payout_freezes", "lifted_at IS NULL AND scope = 'global'") == 1
    assert factory.count("alerts", "alert_type = 'rollback_trigger'") == 1


def test_dry_run_exits_1_but_writes_nothing(
    cli: Cli, engine: Engine, factory: Factory, released: int
) -> None:
    refuse_chargeback_moves(engine, released)
    checksums = factory.table_checksums()

    code, out, _ = cli(
        "rollback_watch", "--release-id", RELEASE, "--actor-username", "olga", "--dry-run"
    )

    assert code == 1
    assert "ROLLBACK RECOMMENDED (dry run: nothing written)" in out.splitlines()[0]
    assert "  would raise a critical alert for trigger chargebacks_stalled" in out
    assert f"  would mark release {RELEASE} rollback_recommended" in out
    assert "#" not in "".join(out.splitlines()[1:])  # no invented alert or freeze ids
    assert "raised" not in out
    code, out, _ = cli(
        "rollback_watch", "--release-id", RELEASE, "--actor-username", "olga", "--dry-run", "--json"
    )
    assert [set(alert) & {"id"} for alert in json.loads(out)["alerts_raised"]] == [set()]
    changed = {t for t, s in factory.table_checksums().items() if s != checksums[t]}
    assert changed == {"job_runs"}


def test_refusals_exit_2(cli: Cli, factory: Factory, released: int) -> None:
    factory.user("fin", "finance")
    checksums = factory.table_checksums()

    assert cli("rollback_watch", "--release-id", "nope", "--actor-username", "olga")[0] == 2
    code, _, err = cli("rollback_watch", "--release-id", RELEASE, "--actor-username", "fin")
    assert code == 2
    assert "'fin' may not run rollback_watch" in err
    code, _, err = cli(
        "rollback_watch", "--release-id", RELEASE, "--actor-username", "olga", "--now", "yesterday"
    )
    assert code == 2
    assert "--now must be an ISO-8601 timestamp" in err
    assert factory.table_checksums() == checksums
