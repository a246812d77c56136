"""The settlement and payout commands: exit codes, one-line errors, ``--json`` shape."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from tests.support.factories import Factory

Cli = Callable[..., tuple[int, str, str]]
NOW = "2026-11-21T06:00:00Z"
WINDOW = ("--period-start", "2026-11-20", "--period-end", "2026-11-21")  # NOW's default


@pytest.fixture
def shop(factory: Factory) -> int:
    factory.user("ops", "operation")
    factory.user("cash", "treasury")
    factory.user("risky", "risk")
    factory.user("boss", "admin")
    shop = factory.merchant("SHOP")
    factory.event(shop, "120.00", fee="2.40")
    factory.event(shop, "20.00", direction="debit")
    return shop


def test_automate_settlements_json_reports_counts_items_and_run(
    cli: Cli, factory: Factory, shop: int
) -> None:
    code, out, err = cli(
        "automate_settlements", "--actor-username", "ops", *WINDOW,
        "--create-payouts", "--json",
    )  # fmt: skip

    assert (code, err) == (0, "")
    payload = json.loads(out)
    assert set(payload) == {"job", "dry_run", "job_run_id", "counts", "items", "messages"}
    assert payload["job"] == "automate_settlements"
    assert payload["dry_run"] is False
    assert payload["counts"]["events_settled"] == 2
    assert payload["counts"]["payouts_created"] == 1
    with factory.engine.begin() as conn:
        settlement = conn.execute(text("SELECT id, settlement_no FROM settlements")).one()
    assert payload["items"]["settlements"] == [
        {
            "id": settlement.id,
            "settlement_no": settlement.settlement_no,
            "merchant_code": "SHOP",
            "currency": "USD",
            "period_start": "2026-11-20",
            "period_end": "2026-11-21",
            "sequence": 1,
            "gross_amount": "100.00",
            "fee_amount": "2.40",
            "net_amount": "97.60",
            "event_count": 2,
            "status": "posted",
        }
    ]
    assert factory.count("job_runs", "outcome = 'succeeded' AND NOT dry_run") == 1


def test_automate_settlements_dry_run_text_says_nothing_was_written(
    cli: Cli, factory: Factory, shop: int
) -> None:
    code, out, _ = cli("automate_settlements", "--actor-username", "ops", "--now", NOW, "--dry-run")

    assert code == 0
    assert "(dry run: nothing written)" in out
    assert "events_settled: 2" in out
    assert factory.count("settlements") == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--actor-username", "ghost"], "actor 'ghost' does not exist"),
        (["--actor-username", "cash"], "needs one of the roles"),
        (
            ["--actor-username", "ops", "--period-start", "20-11-2026"],
            "--period-start must be a date",
        ),
        (
            [
                "--actor-username",
                "ops",
                "--period-start",
                "2026-11-21",
                "--period-end",
                "2026-11-20",
            ],
            "is after period end",
        ),
        (["--actor-username", "ops", "--currency", "XXX"], "currency XXX is not enabled"),
        (["--actor-username", "ops", "--now", "yesterday"], "--now must be an ISO-8601"),
    ],
)
def test_automate_settlements_refuses_bad_input_with_exit_2_and_changes_nothing(
    cli: Cli, factory: Factory, shop: int, argv: list[str], message: str
) -> None:
    before = factory.table_checksums()

    code, out, err = cli("automate_settlements", *argv)

    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert factory.table_checksums() == before


def payout_id(engine: Engine) -> int:
    with engine.begin() as conn:
        return conn.execute(text("SELECT id FROM payouts")).scalar_one()


def test_payout_commands_walk_a_payout_to_settled(
    cli: Cli, engine: Engine, factory: Factory, shop: int
) -> None:
    cli("automate_settlements", "--actor-username", "ops", *WINDOW, "--create-payouts")
    pid = str(payout_id(engine))

    code, out, _ = cli("payouts", "send", "--payout-id", pid, "--actor-username", "risky",
                       "--note", "batch 1")  # fmt: skip
    assert code == 0
    assert "is sent (attempt 1, 97.60 USD)" in out
    code, out, _ = cli("payouts", "fail", "--payout-id", pid, "--actor-username", "boss",
                       "--note", "bounced", "--reason", "account closed")  # fmt: skip
    assert code == 0
    code, out, _ = cli("payouts", "resubmit", "--payout-id", pid, "--actor-username", "cash",
                       "--note", "new account", "--json")  # fmt: skip
    assert code == 0
    assert json.loads(out)["attempt"] == 2
    assert json.loads(out)["status"] == "pending"
    cli("payouts", "send", "--payout-id", pid, "--actor-username", "boss", "--note", "again")
    code, out, _ = cli("payouts", "settle", "--payout-id", pid, "--actor-username", "risky",
                       "--note", "arrived", "--json")  # fmt: skip
    assert code == 0
    assert json.loads(out)["status"] == "settled"

    code, _, err = cli("payouts", "resubmit", "--payout-id", pid, "--actor-username", "cash",
                       "--note", "again")  # fmt: skip
    assert code == 2
    assert "illegal transition settled -> pending" in err


def test_payout_fail_without_reason_is_a_usage_error(
    cli: Cli, engine: Engine, factory: Factory, shop: int
) -> None:
    code, _, err = cli("payouts", "fail", "--payout-id", "1", "--actor-username", "boss",
                       "--note", "x")  # fmt: skip
    assert code == 2
    assert "--reason" in err


def test_freeze_and_lift_commands(cli: Cli, factory: Factory, shop: int) -> None:
    code, out, _ = cli("payouts", "freeze", "--actor-username", "risky", "--reason", "INC-1",
                       "--merchant-code", "SHOP", "--json")  # fmt: skip
    assert code == 0
    freeze = json.loads(out)
    assert (freeze["scope"], freeze["merchant_code"], freeze["newly_set"]) == (
        "merchant",
        "SHOP",
        True,
    )

    code, out, _ = cli(
        "automate_settlements", "--actor-username", "ops", *WINDOW, "--create-payouts"
    )
    assert code == 0
    assert "payouts_held: 1" in out

    code, _, err = cli("payouts", "lift-freeze", "--freeze-id", str(freeze["id"]),
                       "--actor-username", "risky", "--note", "done")  # fmt: skip
    assert code == 2
    assert "is the maker" in err
    code, out, _ = cli("payouts", "lift-freeze", "--freeze-id", str(freeze["id"]),
                       "--actor-username", "boss", "--note", "done")  # fmt: skip
    assert code == 0
    assert f"payout freeze #{freeze['id']} (merchant SHOP) lifted by boss" in out


def test_settlements_approve_command(
    cli: Cli, engine: Engine, factory: Factory, shop: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPS_AUTO_POST_LIMIT", "50.00")
    cli("automate_settlements", "--actor-username", "ops", *WINDOW)
    with engine.begin() as conn:
        settlement_id, status = conn.execute(text("SELECT id, status FROM settlements")).one()
    assert status == "draft"

    code, _, err = cli("settlements", "approve", "--settlement-id", str(settlement_id),
                       "--actor-username", "ops", "--note", "fine")  # fmt: skip
    assert code == 2
    assert "settlements approve" in err
    code, out, _ = cli("settlements", "approve", "--settlement-id", str(settlement_id),
                       "--actor-username", "risky", "--note", "statement matches", "--json")  # fmt: skip
    assert code == 0
    assert json.loads(out)["approval_source"] == "checker"
    assert json.loads(out)["net_amount"] == "97.60"
