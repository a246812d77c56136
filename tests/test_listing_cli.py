"""The read-only ``list`` commands: filters, ids with reference numbers, bounds, permission."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from ops_domain.config import Settings
from ops_domain.settlement_automation import automate_settlements
from tests.support.factories import DEFAULT_TIME, Factory

Cli = Callable[..., tuple[int, str, str]]
NOW = "2026-11-21T00:00:00Z"


@pytest.fixture
def people(factory: Factory) -> dict[str, int]:
    return {
        "ops": factory.user("ops_maker", "operation"),
        "risk": factory.user("risky", "risk"),
        "viewer": factory.user("auditor", "sales"),
    }


def _list(cli: Cli, group: str, *options: str) -> list[dict]:
    code, out, err = cli(group, "list", "--actor-username", "auditor", "--json", *options)
    assert (code, err) == (0, ""), err
    payload = json.loads(out)
    assert payload["count"] == len(payload["items"])
    return payload["items"]


def test_settlements_list_filters_and_shows_id_and_number(
    cli: Cli, engine: Engine, settings: Settings, factory: Factory, people: dict[str, int]
) -> None:
    small, big = factory.merchant("SMALL"), factory.merchant("BIG")
    factory.event(small, "10.00", fee="0.50")
    factory.event(big, "9000000.00")
    automate_settlements(
        engine, settings, actor_username="ops_maker", now=DEFAULT_TIME + timedelta(hours=1)
    )

    drafts = _list(cli, "settlements", "--status", "draft")
    assert [(s["merchant_code"], s["net_amount"], s["status"]) for s in drafts] == [
        ("BIG", "9000000.00", "draft")
    ]
    assert drafts[0]["settlement_no"].startswith("SETTLE-")
    assert drafts[0]["maker"] == "ops_maker"
    small_only = _list(cli, "settlements", "--merchant-code", "SMALL", "--currency", "USD")
    assert [(s["net_amount"], s["status"]) for s in small_only] == [("9.50", "posted")]
    assert _list(cli, "settlements", "--currency", "EUR") == []

    _code, out, _ = cli("settlements", "list", "--actor-username", "auditor")
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["id", "settlement_no", "merchant_code"]
    ids = [int(row.split()[0]) for row in rows]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == 2
    draft_row = next(row.split() for row in rows if row.split()[2] == "BIG")
    assert draft_row[:2] == [str(drafts[0]["id"]), drafts[0]["settlement_no"]]
    assert draft_row[7] == "9000000.00"


def test_list_is_bounded_by_limit_newest_first(
    cli: Cli, factory: Factory, people: dict[str, int]
) -> None:
    alert_ids = [factory.alert(target_id=str(n)) for n in range(3)]
    items = _list(cli, "alerts", "--limit", "2")
    assert [a["id"] for a in items] == alert_ids[:0:-1]
    _code, out, _ = cli("alerts", "list", "--actor-username", "auditor", "--limit", "2")
    assert out.splitlines()[-1].startswith("(first 2; there may be more")


def test_refunds_list_overdue_keeps_pending_past_sla_most_overdue_first(
    cli: Cli, factory: Factory, people: dict[str, int]
) -> None:
    event = factory.event(factory.merchant("SHOP"), "100.00")
    late = factory.refund(people["ops"], event, "5.00", sla_due_at=DEFAULT_TIME)
    later = factory.refund(people["ops"], event, "6.00", sla_due_at=DEFAULT_TIME - timedelta(1))
    factory.refund(people["ops"], event, "7.00", sla_due_at=DEFAULT_TIME + timedelta(days=2))
    factory.refund(people["ops"], event, "8.00", status="rejected", sla_due_at=DEFAULT_TIME)

    overdue = _list(cli, "refunds", "--overdue", "--now", NOW)
    assert [(r["id"], r["amount"], r["overdue"]) for r in overdue] == [
        (later, "6.00", True),
        (late, "5.00", True),
    ]
    assert all(r["refund_no"].startswith("REFUND-") for r in overdue)
    assert len(_list(cli, "refunds", "--now", NOW)) == 4
    assert [r["amount"] for r in _list(cli, "refunds", "--status", "rejected")] == ["8.00"]


def test_journals_list_pending_approval_shows_the_approval_id(
    cli: Cli, factory: Factory, people: dict[str, int]
) -> None:
    approval = factory.journal_approval(people["ops"])
    factory.journal_approval(people["ops"], status="rejected")
    pending = _list(cli, "journals", "--pending-approval")
    assert [(j["approval_id"], j["approval_kind"], j["requested_by"]) for j in pending] == [
        (approval, "post", "ops_maker")
    ]
    assert (pending[0]["status"], pending[0]["total_debit"]) == ("draft", "10.00")
    assert pending[0]["entry_no"].startswith("JE-")
    assert len(_list(cli, "journals", "--status", "draft")) == 2
    assert _list(cli, "journals", "--status", "posted", "--pending-approval") == []
    assert [
        j["approval_id"] for j in _list(cli, "journals", "--status", "draft", "--pending-approval")
    ] == [approval]


def test_journals_awaiting_a_checker_come_longest_waiting_first_within_the_limit(
    cli: Cli, factory: Factory, people: dict[str, int]
) -> None:
    newer = factory.journal_approval(people["ops"], requested_at=datetime(2026, 11, 21, tzinfo=UTC))
    older = factory.journal_approval(people["ops"], requested_at=datetime(2026, 11, 20, tzinfo=UTC))
    waiting = _list(cli, "journals", "--pending-approval")
    assert [j["approval_id"] for j in waiting] == [older, newer]
    first = _list(cli, "journals", "--pending-approval", "--limit", "1")
    assert [j["approval_id"] for j in first] == [older]


def test_work_queue_lists_filter_by_status(
    cli: Cli, engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    shop = factory.merchant("SHOP")
    factory.failed_payout(people["ops"])
    factory.chargeback(shop, status="represented")
    factory.chargeback(shop)
    factory.case(people["ops"], priority="high")
    factory.case(people["ops"], priority="low", status="in_progress")
    factory.recon_break(people["ops"])
    factory.recon_break(people["ops"], status="resolved")
    factory.alert(severity="critical")
    factory.alert("other", severity="low", status="closed")

    payouts = _list(cli, "payouts", "--status", "failed")
    assert [(p["amount"], p["status"]) for p in payouts] == [("50.00", "failed")]
    assert payouts[0]["payout_reference"].startswith("PAYOUT-")
    assert payouts[0]["settlement_no"].startswith("SETTLE-")
    assert _list(cli, "payouts", "--status", "sent") == []
    assert [c["status"] for c in _list(cli, "chargebacks", "--status", "open")] == ["open"]
    cases = _list(cli, "cases", "--priority", "high")
    assert [(c["priority"], c["created_by"]) for c in cases] == [("high", "ops_maker")]
    assert [c["status"] for c in _list(cli, "cases", "--status", "in_progress")] == ["in_progress"]
    breaks = _list(cli, "recon-breaks", "--status", "open")
    assert [(b["difference"], b["break_no"][:4]) for b in breaks] == [("10.00", "BRK-")]
    alerts = _list(cli, "alerts", "--status", "open", "--severity", "critical")
    assert [a["severity"] for a in alerts] == ["critical"]


def test_waivers_and_freezes_lists(
    cli: Cli, engine: Engine, factory: Factory, people: dict[str, int]
) -> None:
    with engine.begin() as conn:
        for release, status in (("r1", "pending"), ("r2", "approved")):
            conn.execute(
                text(
                    "INSERT INTO readiness_waivers (counter, max_count, reason, release_id,"
                    " environment, status, requested_by, approved_by, expires_at) VALUES"
                    " ('open_high_alerts', 1, 'agreed', :release, 'production', :status, :ops,"
                    " CASE WHEN :status = 'approved' THEN CAST(:risk AS bigint) END, :expires)"
                ),
                {"release": release, "status": status, "ops": people["ops"],
                 "risk": people["risk"], "expires": datetime(2026, 12, 1, tzinfo=UTC)},
            )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO payout_freezes (scope, reason, set_by, lifted_by, lifted_at)"
                " VALUES ('global', 'old', :ops, :risk, now()), ('global', 'INC-2', :ops, NULL,"
                " NULL)"
            ),
            {"ops": people["ops"], "risk": people["risk"]},
        )
    waivers = _list(cli, "waivers", "--release-id", "r2")
    assert [(w["status"], w["requested_by"], w["approved_by"]) for w in waivers] == [
        ("approved", "ops_maker", "risky")
    ]
    assert [w["release_id"] for w in _list(cli, "waivers", "--status", "pending")] == ["r1"]
    active = _list(cli, "freezes", "--active")
    assert [(f["reason"], f["set_by"], f["active"]) for f in active] == [
        ("INC-2", "ops_maker", True)
    ]
    assert [f["lifted_by"] for f in _list(cli, "freezes")] == [None, "risky"]


def test_list_refuses_unknown_actor_and_bad_filters(
    cli: Cli, factory: Factory, people: dict[str, int]
) -> None:
    code, _, err = cli("settlements", "list", "--actor-username", "nobody")
    assert code == 2
    assert "nobody" in err
    code, _, err = cli("settlements", "list", "--actor-username", "auditor", "--status", "void")
    assert code == 2
    assert "--status" in err
    code, _, err = cli("cases", "list", "--actor-username", "auditor", "--limit", "0")
    assert code == 2
    assert "limit" in err
