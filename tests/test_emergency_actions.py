"""Emergency actions through ``python -m ops_domain emergency ...``: done once, audited, and
refused (exit 2, nothing changed) for a wrong actor or a missing reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from ops_domain.config import Settings
from ops_domain.errors import InvalidInput
from ops_domain.rollback.emergency import backfill_settlements, open_incident
from ops_domain.settlement_automation import automate_settlements
from tests.support.factories import DEFAULT_DAY, Factory
from tests.support.releases import release_through_gate

Cli = Callable[..., tuple[int, str, str]]
RELEASE = "2026.11.24-1"
PREVIOUS = "2026.11.23-1"
NOW = "2026-11-24T02:00:00+00:00"


@pytest.fixture
def people(factory: Factory) -> dict[str, int]:
    return {
        "rita": factory.user("rita", "risk"),
        "adam": factory.user("adam", "admin"),
        "olga": factory.user("olga", "operation"),
        "fin": factory.user("fin", "finance"),
        "cora": factory.user("cora", "customer_service"),
    }


def refused(cli: Cli, factory: Factory, *argv: str) -> str:
    """Run a command that must be refused: exit 2 and every table exactly as before."""
    checksums = factory.table_checksums()
    code, out, err = cli(*argv)
    assert (code, out) == (2, ""), err
    assert factory.table_checksums() == checksums
    return err


def rows(engine: Engine, sql: str, **params: object) -> list[tuple]:
    with engine.begin() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def test_freeze_is_lifted_only_by_another_checker(
    cli: Cli, factory: Factory, engine: Engine, people: dict[str, int]
) -> None:
    code, out, _ = cli(
        "emergency",
        "freeze_payouts",
        "--actor-username",
        "olga",
        "--reason",
        "release 2026.11.24-1: payouts failing",
        "--json",
    )
    assert code == 0
    freeze = json.loads(out)
    assert (freeze["scope"], freeze["set_by"], freeze["newly_set"]) == ("global", "olga", True)
    freeze_id = str(freeze["id"])

    err = refused(
        cli,
        factory,
        *("emergency", "lift_payout_freeze", "--freeze-id", freeze_id),
        *("--actor-username", "olga", "--note", "all clear"),
    )
    assert "may not run payouts lift-freeze" in err  # operation may freeze, not lift
    err = refused(
        cli,
        factory,
        *("emergency", "freeze_payouts", "--actor-username", "rita", "--reason", "second"),
    )
    assert f"already frozen globally by freeze #{freeze_id} (set by olga at " in err

    code, out, err = cli(
        *("emergency", "lift_payout_freeze", "--freeze-id", freeze_id),
        *("--actor-username", "adam", "--note", "reconciliation clean"),
    )
    assert (code, out.strip()) == (0, f"payout freeze #{freeze_id} (global) lifted by adam")
    assert factory.audit_actions("payout.freeze") == ["payout.freeze", "payout.freeze_lift"]


def test_the_person_who_set_a_freeze_cannot_lift_it(
    cli: Cli, factory: Factory, people: dict[str, int]
) -> None:
    code, out, _ = cli(
        "emergency",
        "freeze_payouts",
        "--actor-username",
        "rita",
        "--reason",
        "bad release",
        "--json",
    )
    assert code == 0
    freeze_id = str(json.loads(out)["id"])

    err = refused(
        cli,
        factory,
        *("emergency", "lift_payout_freeze", "--freeze-id", freeze_id),
        *("--actor-username", "rita", "--note", "fixed"),
    )
    assert "the checker 'rita' is the maker" in err


def test_a_freeze_needs_a_reason_and_an_emergency_role(
    cli: Cli, factory: Factory, people: dict[str, int]
) -> None:
    err = refused(
        cli, factory, "emergency", "freeze_payouts", "--actor-username", "rita", "--reason", " "
    )
    assert "a payout freeze needs a reason" in err
    err = refused(
        cli, factory, "emergency", "freeze_payouts", "--actor-username", "fin", "--reason", "x"
    )
    assert "'fin' may not run payouts freeze" in err
    err = refused(cli, factory, "emergency", "freeze_payouts", "--actor-username", "rita")
    assert "--reason" in err


def test_open_incident_assigns_risk_and_operation_with_a_four_hour_sla_once(
    cli: Cli, factory: Factory, engine: Engine, people: dict[str, int]
) -> None:
    release_through_gate(engine, RELEASE, actor_username="olga", now=factory.now())
    argv = (
        *("emergency", "open_incident", "--actor-username", "rita", "--release-id", RELEASE),
        *("--trigger", "payouts_failed"),
    )

    code, out, err = cli(*argv)
    again, out_again, _ = cli(*argv)

    assert code == 0, err
    case_no = out.split()[1]
    due = rows(engine, "SELECT sla_due_at, created_at FROM cases")[0]
    assert abs(due[0] - due[1] - timedelta(hours=4)) < timedelta(seconds=5)
    assert out.strip() == (
        f"incident {case_no} opened: Release {RELEASE}: payouts_failed (priority critical,"
        f" teams operation, risk, due {due[0].isoformat()})"
    )
    assert (again, out_again.split()[1:4]) == (0, [case_no, "already", "open:"])
    assert rows(
        engine,
        """
        SELECT c.case_type, c.priority, c.status, c.release_id, c.trigger, c.sla_due_at,
               array_agg(r.name ORDER BY r.name)
          FROM cases c JOIN case_assignments a ON a.case_id = c.id JOIN roles r ON r.id = a.role_id
         GROUP BY c.id
        """,
    ) == [
        (
            "incident",
            "critical",
            "open",
            RELEASE,
            "payouts_failed",
            due[0],
            ["operation", "risk"],
        )
    ]
    assert factory.audit_actions("case.") == ["case.open"]


def test_open_incident_refusals_change_nothing(
    cli: Cli, factory: Factory, engine: Engine, people: dict[str, int]
) -> None:
    release_through_gate(engine, RELEASE, actor_username="olga", now=factory.now())
    base = ("emergency", "open_incident", "--release-id", RELEASE, "--trigger", "manual")

    assert "may not run emergency open_incident" in refused(
        cli, factory, *base, "--actor-username", "cora"
    )
    assert "sla_hours must be 1..72, got 0" in refused(
        cli, factory, *base, "--actor-username", "rita", "--sla-hours", "0"
    )
    assert "invalid choice" in refused(
        cli, factory, *base[:4], "--trigger", "gut_feeling", "--actor-username", "rita"
    )


def settled_day(engine: Engine, factory: Factory, settings: Settings) -> None:
    """ALPHA settled 100.00 - 3.00 fee on the default day, posted by policy."""
    merchant = factory.merchant("ALPHA")
    factory.event(merchant, "100.00", fee="3.00")
    automate_settlements(
        engine, settings, actor_username="olga", period_start=DEFAULT_DAY, period_end=DEFAULT_DAY
    )


def test_targeted_reconciliation_opens_breaks_for_mismatches_once(
    cli: Cli, factory: Factory, engine: Engine, settings: Settings, people: dict[str, int]
) -> None:
    settled_day(engine, factory, settings)
    argv = (
        *("emergency", "targeted_reconciliation", "--actor-username", "olga"),
        *("--currency", "USD", "--window-start", "2026-11-20", "--window-end", "2026-11-20"),
        *("--merchant-code", "ALPHA", "--total", "ALPHA:2026-11-20:95.00:1", "--json"),
    )

    code, out, err = cli(*argv)
    again, out_again, _ = cli(*argv)

    assert code == 0, err
    outcome = json.loads(out)
    assert outcome["breaks_opened"] == {"amount_mismatch": 1}
    assert outcome["breaks"][0]["difference"] == "-2.00"
    assert (outcome["run"]["internal_total"], outcome["run"]["external_total"]) == (
        "97.00",
        "95.00",
    )
    assert again == 0
    assert (
        json.loads(out_again)["breaks_opened"],
        json.loads(out_again)["breaks_already_open"],
    ) == (
        {},
        1,
    )
    assert factory.count("reconciliation_breaks") == 1


def test_targeted_reconciliation_of_a_merchant_uses_its_settlement_currency(
    cli: Cli, factory: Factory, engine: Engine, settings: Settings, people: dict[str, int]
) -> None:
    merchant = factory.merchant("EURO", currency="EUR")
    factory.event(merchant, "50.00", currency="EUR")
    automate_settlements(
        engine, settings, actor_username="olga", period_start=DEFAULT_DAY, period_end=DEFAULT_DAY
    )
    base = (
        *("emergency", "targeted_reconciliation", "--actor-username", "olga"),
        *("--window-start", "2026-11-20", "--window-end", "2026-11-20"),
        *("--total", "EURO:2026-11-20:50.00:1"),
    )

    code, out, err = cli(*base, "--merchant-code", "EURO")

    assert code == 0, err
    assert out.splitlines()[0].split()[1:4] == ["EUR", "merchant", "EURO"]
    assert out.splitlines()[0].endswith("breaks opened: 0, already open: 0")
    assert "needs a currency, a merchant or both" in refused(cli, factory, *base)
    assert "merchant 'GHOST' not found" in refused(cli, factory, *base, "--merchant-code", "GHOST")


def test_targeted_reconciliation_never_widens_rights(
    cli: Cli, factory: Factory, engine: Engine, settings: Settings, people: dict[str, int]
) -> None:
    settled_day(engine, factory, settings)
    base = (
        *("emergency", "targeted_reconciliation"),
        *("--currency", "USD", "--window-start", "2026-11-20", "--window-end", "2026-11-20"),
        *("--total", "ALPHA:2026-11-20:95.00:1"),
    )

    # finance may reconcile but is no emergency role; risk is, but may not run reconciliations
    assert "may not run emergency targeted_reconciliation" in refused(
        cli, factory, *base, "--actor-username", "fin"
    )
    assert "'rita' may not run reconcile" in refused(
        cli, factory, *base, "--actor-username", "rita"
    )
    assert "currency GBP is not enabled" in refused(
        cli, factory, *base[:3], "GBP", *base[4:], "--actor-username", "olga"
    )


def test_backfill_settles_a_past_window_exactly_once_and_holds_frozen_payouts(
    cli: Cli, factory: Factory, engine: Engine, settings: Settings, people: dict[str, int]
) -> None:
    merchant = factory.merchant("ALPHA")
    factory.event(merchant, "60.00", occurred_at=datetime(2026, 11, 18, 9, tzinfo=UTC))
    factory.event(merchant, "40.00", occurred_at=datetime(2026, 11, 19, 9, tzinfo=UTC))
    assert cli("emergency", "freeze_payouts", "--actor-username", "rita", "--reason", "x")[0] == 0
    argv = (
        *("emergency", "backfill_settlements", "--actor-username", "olga"),
        *("--period-start", "2026-11-18", "--period-end", "2026-11-19", "--create-payouts"),
        "--json",
    )

    code, out, err = cli(*argv)
    again, out_again, _ = cli(*argv)

    assert code == 0, err
    result = json.loads(out)
    assert result["job"] == "automate_settlements"
    assert (result["counts"]["events_settled"], result["counts"]["settlements_created"]) == (2, 1)
    assert (result["counts"]["payouts_created"], result["counts"]["payouts_held"]) == (0, 1)
    assert result["items"]["settlements"][0]["net_amount"] == "100.00"
    assert again == 0
    assert json.loads(out_again)["counts"]["events_settled"] == 0
    assert factory.count("settlements") == 1
    assert factory.count("payouts") == 0


def test_backfill_refusals_change_nothing(
    cli: Cli, factory: Factory, engine: Engine, settings: Settings, people: dict[str, int]
) -> None:
    factory.event(factory.merchant("ALPHA"), "60.00")
    base = ("emergency", "backfill_settlements", "--period-start", "2026-11-20")

    assert "may not run emergency backfill_settlements" in refused(
        cli, factory, *base, "--period-end", "2026-11-20", "--actor-username", "fin"
    )
    assert "'rita' may not run automate_settlements" in refused(
        cli, factory, *base, "--period-end", "2026-11-20", "--actor-username", "rita"
    )
    assert "period start 2026-11-20 is after period end 2026-11-19" in refused(
        cli, factory, *base, "--period-end", "2026-11-19", "--actor-username", "olga"
    )
    assert "--period-end" in refused(cli, factory, *base, "--actor-username", "olga")
    checksums = factory.table_checksums()
    with pytest.raises(InvalidInput, match="needs both period_start and period_end"):
        backfill_settlements(
            engine, settings, actor_username="olga", period_start=None, period_end=DEFAULT_DAY
        )
    assert factory.table_checksums() == checksums


def two_releases(engine: Engine, factory: Factory) -> None:
    first = factory.now()
    release_through_gate(engine, PREVIOUS, actor_username="olga", now=first - timedelta(days=1))
    release_through_gate(engine, RELEASE, actor_username="olga", now=first)


def test_record_rollback_marks_the_release_and_prints_the_next_steps(
    cli: Cli, factory: Factory, engine: Engine, people: dict[str, int]
) -> None:
    two_releases(engine, factory)
    assert cli("emergency", "freeze_payouts", "--actor-username", "rita", "--reason", "x")[0] == 0
    code, out, _ = cli(
        *("emergency", "open_incident", "--actor-username", "rita", "--release-id", RELEASE),
        *("--trigger", "payouts_failed"),
    )
    case_no = out.split()[1]
    freeze_id = rows(engine, "SELECT id FROM payout_freezes")[0][0]
    argv = (
        *("emergency", "record_rollback", "--actor-username", "adam", "--release-id", RELEASE),
        *("--reason", "payouts failing since the release"),
    )

    code, out, err = cli(*argv)
    again, out_again, _ = cli(*argv)

    assert code == 0, err
    previous_at = rows(
        engine, "SELECT released_at FROM releases WHERE release_id = :r", r=PREVIOUS
    )[0][0]
    lines = out.strip().splitlines()
    assert lines[0].startswith(
        f"rollback of release {RELEASE} (production) recorded: decided by adam at "
    )
    assert lines[0].endswith(": payouts failing since the release")
    assert lines[1:] == [
        "The deploy itself happens outside this platform. Next steps:",
        f"  1. Redeploy release {PREVIOUS} (released {previous_at.isoformat()}, gate snapshot"
        " #1) with your deployment pipeline.",
        "  2. After the redeploy, evaluate what runs: python -m ops_domain"
        f" release_readiness_report --release-id {PREVIOUS} --environment production"
        " --actor-username <you> (it also checks the database schema against the code).",
        f"  3. Payout freeze(s) #{freeze_id} (global) stay active until reconciliation is clean;"
        " each is lifted by a checker other than its setter: python -m ops_domain emergency"
        " lift_payout_freeze --freeze-id N --note '...' --actor-username <checker>",
        f"  4. Note the rollback on incident case(s) {case_no} and resolve them once the"
        " rollback watch of the restored release stays quiet.",
    ]
    assert rows(
        engine,
        "SELECT r.status, r.decision_note, u.username FROM releases r"
        " JOIN users u ON u.id = r.decided_by WHERE r.release_id = :r",
        r=RELEASE,
    ) == [("rolled_back", "payouts failing since the release", "adam")]
    assert again == 0
    assert f"release {RELEASE} (production) was already recorded: decided by adam" in out_again
    assert factory.audit_actions("release.rolled_back") == ["release.rolled_back"]
    assert "(production) is rolled_back: only a released release is watched" in refused(
        cli, factory, "rollback_watch", "--release-id", RELEASE, "--actor-username", "olga"
    )


def test_record_rollback_refusals_change_nothing(
    cli: Cli, factory: Factory, engine: Engine, people: dict[str, int]
) -> None:
    two_releases(engine, factory)
    base = ("emergency", "record_rollback", "--release-id", RELEASE)

    assert "recording a rollback needs a reason" in refused(
        cli, factory, *base, "--reason", "  ", "--actor-username", "adam"
    )
    assert "may not run emergency record_rollback" in refused(
        cli, factory, *base, "--reason", "bad", "--actor-username", "fin"
    )
    assert "release 'nope' not found" in refused(
        cli,
        factory,
        *base[:2],
        "--release-id",
        "nope",
        "--reason",
        "bad",
        "--actor-username",
        "adam",
    )
    code, out, _ = cli(*base, "--reason", "bad", "--actor-username", "adam", "--json")
    decision = json.loads(out)
    assert (code, decision["previous_release"], decision["status"]) == (0, PREVIOUS, "rolled_back")
    assert decision["newly_recorded"] is True
    assert date.fromisoformat(decision["decided_at"][:10]) == factory.now().date()


def test_concurrent_incident_requests_open_one_case(
    engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    release_through_gate(engine, RELEASE, actor_username="olga", now=factory.now())

    def ask(actor: str) -> dict:
        return open_incident(
            engine, actor_username=actor, release_id=RELEASE, trigger="recon_break_spike"
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        cases = list(pool.map(ask, ["rita", "olga", "adam", "rita"]))

    assert len({case["case_no"] for case in cases}) == 1
    assert sum(case["newly_opened"] for case in cases) == 1
    assert factory.count("cases", "case_type = 'incident'") == 1
    assert factory.count("case_assignments") == 2


def test_an_incident_opens_for_a_release_never_gated_or_for_none(
    cli: Cli, engine: Engine, people: dict[str, int]
) -> None:
    base = ("emergency", "open_incident", "--actor-username", "rita", "--trigger", "manual")

    hotfix = cli(*base, "--release-id", "hotfix-2026.11.24-2", "--json")
    unnamed = cli(*base, "--title", "Payout rail returns 5xx", "--json")
    untitled = cli(*base)

    assert hotfix[0] == 0, hotfix[2]
    assert unnamed[0] == 0, unnamed[2]
    first, second = json.loads(hotfix[1]), json.loads(unnamed[1])
    assert (first["release_id"], first["created_by"]) == ("hotfix-2026.11.24-2", "rita")
    assert (second["release_id"], second["title"]) == (None, "Payout rail returns 5xx")
    assert untitled[0] == 2
    assert "needs a title" in untitled[2]


def test_an_emergency_action_the_runbook_does_not_know_is_bad_input() -> None:
    from ops_domain.errors import InvalidInput
    from ops_domain.rollback.emergency_actions import emergency_permission

    assert emergency_permission("lift_payout_freeze") == "emergency.lift_freeze"
    with pytest.raises(InvalidInput, match="no emergency action 'shutdown'"):
        emergency_permission("shutdown")
