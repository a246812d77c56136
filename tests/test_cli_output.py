"""What people read: no empty sections, unicode as typed, plural nouns, no Python reprs, a
quiet exit when the reader of the output goes away, refusals that say who already decided."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

from ops_domain.cli.main import EXIT_BROKEN_PIPE, main
from ops_domain.cli.runtime import emit_job_result
from ops_domain.config import PROJECT_ROOT
from ops_domain.jobs import JobResult
from tests.support.factories import Factory

Cli = Callable[..., tuple[int, str, str]]
NOW = "2026-11-21T06:00:00Z"
WINDOW = ("--period-start", "2026-11-20", "--period-end", "2026-11-21")  # NOW's default


def test_job_text_skips_empty_item_kinds_and_shows_unicode_as_typed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = JobResult("automate_settlements", dry_run=True, job_run_id=7)
    result.add("settlements_created", 1)
    result.add_items("settlements", [{"merchant_name": "Café Lumière"}])
    result.add_items("negative_net", [])

    emit_job_result(result, as_json=False)

    assert capsys.readouterr().out.splitlines() == [
        "automate_settlements: run #7 (dry run: nothing written)",
        "  settlements_created: 1",
        "  settlements (first 1):",
        '    {"merchant_name": "Café Lumière"}',
    ]
    emit_job_result(result, as_json=True)
    assert '"merchant_name": "Café Lumière"' in capsys.readouterr().out


def test_json_output_keeps_non_ascii_text_readable(cli: Cli, factory: Factory) -> None:
    factory.user("risky", "risk")
    code, out, _ = cli(
        "payouts", "freeze", "--actor-username", "risky", "--reason", "gelé 🚀", "--json"
    )
    assert code == 0
    assert '"gelé 🚀"' in out
    assert json.loads(out)["reason"] == "gelé 🚀"


def test_a_closed_stdout_exits_141_without_a_message(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "ops_domain", "db", "url"],
        env=cli_env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    child.stdout.close()  # type: ignore[union-attr]  # the reader went away first (| head)
    assert child.wait(timeout=60) == EXIT_BROKEN_PIPE
    assert child.stderr.read() == b""  # type: ignore[union-attr]
    child.stderr.close()  # type: ignore[union-attr]

    class ClosedPipe(io.StringIO):
        def write(self, _: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    for key, value in cli_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["users", "list"]) == EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""


def test_reconcile_text_counts_in_words_without_python_reprs(cli: Cli, factory: Factory) -> None:
    factory.user("otto", "operation")
    factory.merchant("M1")
    code, out, err = cli(
        "reconcile", "--actor-username", "otto", "--currency", "USD",
        "--window-start", "2026-11-20", "--window-end", "2026-11-20",
        "--total", "M1:2026-11-20:10.00:1",
    )  # fmt: skip
    assert code == 0, err
    head, opened = out.splitlines()[:2]
    assert head.endswith("internal 0.00 (0 events), external 10.00 (1 event)")
    assert re.fullmatch(r"  breaks opened: 1 \(1 [a-z_]+\), already open: 0", opened)
    assert "{" not in out


def test_seed_rbac_says_what_it_changed_in_plain_words(cli: Cli) -> None:
    code, out, _ = cli("seed_rbac")
    assert code == 0
    assert out.splitlines()[:3] == [
        "roles created: none",
        "grants added: none",
        "grants removed: none",
    ]
    code, out, _ = cli("seed_rbac", "--check")
    assert out.splitlines()[1] == "grants to add: none"


def test_a_second_settlement_approval_says_who_already_posted_it_and_when(
    cli: Cli, engine: Engine, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory.user("ops", "operation")
    factory.user("risky", "risk")
    factory.user("boss", "admin")
    factory.event(factory.merchant("SHOP"), "120.00", fee="2.40")
    monkeypatch.setenv("OPS_AUTO_POST_LIMIT", "50.00")
    cli("automate_settlements", "--actor-username", "ops", *WINDOW)
    with engine.begin() as conn:
        settlement_id = str(conn.execute(text("SELECT id FROM settlements")).scalar_one())
    approve = ("settlements", "approve", "--settlement-id", settlement_id, "--note", "ok")
    assert cli(*approve, "--actor-username", "risky")[0] == 0
    before = factory.table_checksums()

    code, out, err = cli(*approve, "--actor-username", "boss")

    assert (code, out) == (2, "")
    assert re.fullmatch(
        r"error: settlement: illegal transition posted -> posted: already done"
        r" \(settlement\.post by risky at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)\n",
        err,
    )
    assert factory.table_checksums() == before


def test_a_second_payout_decision_says_who_already_decided(
    cli: Cli, engine: Engine, factory: Factory
) -> None:
    factory.user("ops", "operation")
    factory.user("cash", "risk")
    factory.user("cash2", "admin")
    factory.event(factory.merchant("SHOP"), "120.00", fee="2.40")
    cli("automate_settlements", "--actor-username", "ops", *WINDOW, "--create-payouts")
    with engine.begin() as conn:
        payout_id = str(conn.execute(text("SELECT id FROM payouts")).scalar_one())
    send = ("payouts", "send", "--payout-id", payout_id, "--note", "batch 1")
    assert cli(*send, "--actor-username", "cash")[0] == 0

    code, _, err = cli(*send, "--actor-username", "cash2")

    assert code == 2
    assert "payout: illegal transition sent -> sent: already done (payout.send by cash at " in err


def test_a_decided_refund_shows_no_sla(cli: Cli, factory: Factory) -> None:
    factory.user("cs", "customer_service")
    factory.user("risky", "risk")
    event = factory.event(factory.merchant("SHOP"), "640.00")
    code, out, _ = cli(
        "refunds", "request", "--actor-username", "cs", "--source-event-id", str(event),
        "--reason", "never arrived", "--customer-ref", "C-1", "--amount", "10.00",
    )  # fmt: skip
    assert code == 0
    assert re.search(r"SLA due \d{4}-\d\d-\d\dT[\d:.]+\+00:00$", out.rstrip())
    refund_id = re.search(r"\(#(\d+)\)", out).group(1)  # type: ignore[union-attr]

    code, out, _ = cli(
        "refunds", "reject", "--actor-username", "risky", "--refund-id", refund_id,
        "--note", "duplicate",
    )  # fmt: skip

    assert code == 0
    assert " rejected, case #" in out
    assert "SLA" not in out


def test_a_period_close_dry_run_lists_each_blocker_once(cli: Cli, factory: Factory) -> None:
    maker = factory.user("fiona", "finance")
    cash, revenue = factory.account("1000"), factory.account("4000", "revenue")
    factory.journal(maker, [(cash, "10.00", None), (revenue, None, "10.00")])
    code, out, _ = cli(
        "manage_accounting_period", "--actor-username", "fiona", "--period-start", "2026-11-01",
        "--period-end", "2026-11-30", "--currency", "USD", "--action", "close", "--dry-run",
    )  # fmt: skip
    assert code == 2
    assert out.count("draft entry JE-") == 1
    assert "blockers (first" not in out
