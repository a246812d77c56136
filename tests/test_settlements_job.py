"""automate_settlements: math, posting policy, exactly-once, scope, dry run, refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from ops_domain.config import Settings
from ops_domain.errors import (
    ActorNotAllowed,
    InactiveActor,
    InvalidInput,
    MakerCheckerViolation,
    UnknownActor,
)
from ops_domain.payouts.freezes import freeze_payouts, lift_payout_freeze
from ops_domain.rbac.seeding import seed_rbac
from ops_domain.rollback.emergency import backfill_settlements
from ops_domain.settlement_automation import automate_settlements
from ops_domain.settlements.service import approve_settlement
from tests.support.database import wipe
from tests.support.factories import Factory
from tests.support.settlement_processes import merchant_lock_barrier

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)  # default window: 2026-11-20..2026-11-21
DAY = date(2026, 11, 20)
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def actors(factory: Factory) -> dict[str, int]:
    return {
        "ops": factory.user("ops", "operation"),
        "boss": factory.user("boss", "admin"),
        "risky": factory.user("risky", "risk"),
    }


def settle(engine: Engine, settings: Settings, **kwargs: Any):
    kwargs.setdefault("actor_username", "ops")
    kwargs.setdefault("now", NOW)
    return automate_settlements(engine, settings, **kwargs)


def _natural(item: dict[str, Any]) -> dict[str, Any]:
    """A real run's item without the ids and reference numbers a dry run cannot know."""
    ids = ("id", "settlement_no", "settlement_id", "payout_reference")
    return {key: value for key, value in item.items() if key not in ids}


def settlements(engine: Engine) -> list[dict[str, Any]]:
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                """
                SELECT s.id, m.code, s.currency, s.period_start, s.period_end, s.sequence,
                       s.gross_amount, s.fee_amount, s.net_amount, s.event_count, s.status,
                       s.approval_source, u.username AS maker
                  FROM settlements s JOIN merchants m ON m.id = s.merchant_id
                  JOIN users u ON u.id = s.maker_id
                 ORDER BY m.code, s.currency, s.period_start, s.sequence
                """
            )
        ).mappings()
        return [dict(row) for row in rows]


def test_net_is_signed_credits_minus_debits_with_fees_to_the_cent(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    shop = factory.merchant("SHOP")
    factory.event(shop, "100.10", fee="2.35")
    factory.event(shop, "49.95", fee="1.45", flow_type="b2c")
    factory.event(shop, "20.05", fee="0.50", direction="debit")

    result = settle(engine, settings)

    [row] = settlements(engine)
    assert row["gross_amount"] == Decimal("130.00")  # 100.10 + 49.95 - 20.05
    assert row["fee_amount"] == Decimal("3.30")  # 2.35 + 1.45 - 0.50
    assert row["net_amount"] == Decimal("126.70")
    assert row["event_count"] == 3
    assert (row["period_start"], row["period_end"], row["sequence"]) == (
        DAY,
        date(2026, 11, 21),
        1,
    )
    assert factory.count("cashflow_events", "settlement_id = :id", id=row["id"]) == 3
    assert result.counts["events_settled"] == 3
    assert result.counts["settlements_created"] == 1
    assert result.items["settlements"][0]["net_amount"] == "126.70"


def test_totals_equal_the_sum_of_their_events_per_merchant_and_currency(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    shops = [factory.merchant() for _ in range(4)]
    for index, shop in enumerate(shops):
        for cents in range(1, 8):
            factory.event(shop, f"{index + cents}.{cents:02d}", fee=f"0.{cents:02d}")
            factory.event(shop, f"1.{cents:02d}", currency="EUR", direction="debit")

    settle(engine, settings)

    with engine.begin() as conn:
        mismatches = conn.execute(
            text(
                """
                SELECT s.id FROM settlements s JOIN cashflow_events e ON e.settlement_id = s.id
                 GROUP BY s.id
                HAVING s.event_count <> count(*)
                    OR s.net_amount <> sum(CASE e.direction WHEN 'credit' THEN e.net_amount
                                           ELSE -e.net_amount END)
                    OR s.fee_amount <> sum(CASE e.direction WHEN 'credit' THEN e.fee_amount
                                           ELSE -e.fee_amount END)
                    OR min(e.currency) <> s.currency OR max(e.currency) <> s.currency
                """
            )
        ).all()
    assert mismatches == []
    assert len(settlements(engine)) == 8
    assert factory.count("cashflow_events", "settlement_id IS NULL") == 0


def test_negative_net_opens_a_high_exception_and_gets_no_payout(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    shop = factory.merchant("REFUNDER")
    factory.event(shop, "30.00", fee="1.00")
    factory.event(shop, "80.00", direction="debit")

    result = settle(engine, settings, create_payouts=True)

    [row] = settlements(engine)
    assert row["net_amount"] == Decimal("-51.00")
    assert row["status"] == "posted"
    assert factory.count("payouts") == 0
    with engine.begin() as conn:
        exception = conn.execute(
            text("SELECT settlement_id, reason_code, severity, status FROM settlement_exceptions")
        ).one()
    assert tuple(exception) == (row["id"], "negative_net", "high", "open")
    assert result.counts["negative_net_exceptions"] == 1
    assert result.counts["payouts_created"] == 0
    assert "settlement_exception.open" in factory.audit_actions("settlement_exception.")


def test_small_nets_post_by_policy_large_stay_draft_until_a_checker_posts(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    limited = replace(settings, auto_post_limit=Decimal("100.00"))
    small, exact, large = (factory.merchant(code) for code in ("A-SMALL", "B-EXACT", "C-LARGE"))
    factory.event(small, "50.00")
    factory.event(exact, "100.00")
    factory.event(large, "100.01")

    result = settle(engine, limited, create_payouts=True)

    by_code = {row["code"]: row for row in settlements(engine)}
    assert by_code["A-SMALL"]["status"] == "posted"
    assert by_code["A-SMALL"]["approval_source"] == "policy:auto_post"
    assert by_code["B-EXACT"]["status"] == "posted"
    assert by_code["C-LARGE"]["status"] == "draft"
    assert by_code["C-LARGE"]["approval_source"] is None
    assert result.counts["settlements_posted"] == 2
    assert result.counts["settlements_draft"] == 1
    assert result.counts["payouts_created"] == 2
    assert factory.audit_actions("settlement.") == [
        "settlement.create",
        "settlement.create",
        "settlement.create",
        "settlement.post",
        "settlement.post",
    ]

    draft_id = by_code["C-LARGE"]["id"]
    approved = approve_settlement(
        engine, settlement_id=draft_id, actor_username="risky", note="checked statement"
    )
    assert approved["approval_source"] == "checker"
    assert (approved["id"], approved["approved_by"]) == (draft_id, "risky")
    assert approved["settlement_no"].startswith("SETTLE-")
    posted = {row["code"]: row for row in settlements(engine)}["C-LARGE"]
    assert (posted["status"], posted["approval_source"]) == ("posted", "checker")
    with engine.begin() as conn:
        audit = conn.execute(
            text(
                "SELECT actor_id, before, after FROM audit_log WHERE action = 'settlement.post'"
                " AND target_id = :id"
            ),
            {"id": str(draft_id)},
        ).one()
    assert audit.actor_id == actors["risky"]
    assert (audit.before["status"], audit.after["status"]) == ("draft", "posted")

    rerun = settle(engine, limited, create_payouts=True)
    assert rerun.counts["settlements_created"] == 0
    assert (rerun.counts["payouts_created"], rerun.counts["payouts_swept"]) == (0, 1)
    with engine.begin() as conn:
        payout = conn.execute(
            text("SELECT id, payout_reference FROM payouts WHERE settlement_id = :id"),
            {"id": draft_id},
        ).one()
        settlement_no = conn.scalar(
            text("SELECT settlement_no FROM settlements WHERE id = :id"), {"id": draft_id}
        )
    assert rerun.items["swept_payouts"] == [
        {
            "id": payout.id,
            "payout_reference": payout.payout_reference,
            "settlement_id": draft_id,
            "settlement_no": settlement_no,
            "merchant_code": "C-LARGE",
            "currency": "USD",
            "period_start": "2026-11-20",
            "period_end": "2026-11-21",
            "sequence": 1,
            "amount": "100.01",
        }
    ]


def test_the_maker_cannot_approve_its_own_draft_and_a_note_is_required(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    limited = replace(settings, auto_post_limit=Decimal("10.00"))
    factory.event(factory.merchant(), "500.00")
    settle(engine, limited, actor_username="boss")
    [draft] = settlements(engine)
    before = factory.table_checksums()

    with pytest.raises(MakerCheckerViolation, match="maker"):
        approve_settlement(engine, settlement_id=draft["id"], actor_username="boss", note="mine")
    with pytest.raises(ActorNotAllowed, match="admin, risk, super_admin"):
        approve_settlement(engine, settlement_id=draft["id"], actor_username="ops", note="ok")
    with pytest.raises(InvalidInput, match="note"):
        approve_settlement(engine, settlement_id=draft["id"], actor_username="risky", note=" ")

    assert factory.table_checksums() == before


def test_rerun_of_the_same_window_changes_nothing(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    shops = [factory.merchant() for _ in range(5)]
    factory.events_bulk(shops, 20, day=DAY)
    settle(engine, settings, create_payouts=True)
    before = factory.table_checksums()

    rerun = settle(engine, settings, create_payouts=True)

    after = factory.table_checksums()
    assert {t for t in before if before[t] != after[t]} == {"job_runs", "audit_log"}
    assert factory.audit_actions("job.") == ["job.automate_settlements.succeeded"] * 2
    assert factory.count("payouts") == 5
    assert rerun.counts["events_settled"] == 0
    assert rerun.counts["settlements_created"] == 0
    assert rerun.counts["payouts_created"] == 0


def test_overlapping_windows_never_settle_an_event_twice(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    shop = factory.merchant()
    for day in (19, 20, 21):
        factory.event(shop, "10.00", occurred_at=datetime(2026, 11, day, 9, tzinfo=UTC))

    first = settle(engine, settings, period_start="2026-11-19", period_end="2026-11-20")
    second = settle(engine, settings, period_start="2026-11-20", period_end="2026-11-21")

    assert first.counts["events_settled"] == 2
    assert second.counts["events_settled"] == 1
    rows = settlements(engine)
    assert [(r["period_start"].day, r["period_end"].day, r["event_count"]) for r in rows] == [
        (19, 20, 2),
        (20, 21, 1),
    ]
    assert factory.count("cashflow_events", "settlement_id IS NULL") == 0


def test_a_late_event_in_a_settled_window_gets_the_next_sequence(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    shop = factory.merchant()
    factory.event(shop, "10.00")
    settle(engine, settings)
    factory.event(shop, "7.25", occurred_at=AT + timedelta(hours=3))

    late = settle(engine, settings)

    rows = settlements(engine)
    assert [(r["sequence"], r["net_amount"], r["event_count"]) for r in rows] == [
        (1, Decimal("10.00"), 1),
        (2, Decimal("7.25"), 1),
    ]
    assert late.items["settlements"][0]["sequence"] == 2


def test_suspended_and_inactive_merchants_are_skipped_and_reported(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    factory.event(factory.merchant("OK"), "10.00")
    factory.event(factory.merchant("SUS", status="suspended"), "20.00")
    inactive = factory.merchant("OFF", status="inactive")
    factory.event(inactive, "30.00")
    factory.event(inactive, "31.00")

    result = settle(engine, settings)

    assert [row["code"] for row in settlements(engine)] == ["OK"]
    assert result.counts["merchants_skipped"] == 2
    assert result.items["skipped_merchants"] == [
        {"merchant_code": "OFF", "status": "inactive", "unsettled_events": 2},
        {"merchant_code": "SUS", "status": "suspended", "unsettled_events": 1},
    ]
    assert factory.count("cashflow_events", "settlement_id IS NULL") == 3


def test_currency_filter_settles_only_that_currency(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    shop = factory.merchant()
    factory.event(shop, "10.00", currency="USD")
    factory.event(shop, "20.00", currency="EUR")

    result = settle(engine, settings, currency="EUR")

    assert [(r["currency"], r["net_amount"]) for r in settlements(engine)] == [
        ("EUR", Decimal("20.00"))
    ]
    assert result.counts["events_settled"] == 1


def test_events_outside_the_window_stay_unsettled(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    shop = factory.merchant()
    factory.event(shop, "1.00", occurred_at=datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC))
    factory.event(shop, "2.00", occurred_at=datetime(2026, 11, 20, 0, 0, tzinfo=UTC))
    factory.event(shop, "4.00", occurred_at=datetime(2026, 11, 21, 23, 59, 59, tzinfo=UTC))
    factory.event(shop, "8.00", occurred_at=datetime(2026, 11, 22, 0, 0, tzinfo=UTC))

    settle(engine, settings)

    [row] = settlements(engine)
    assert (row["net_amount"], row["event_count"]) == (Decimal("6.00"), 2)


def test_dry_run_reports_what_the_real_run_does_and_writes_only_its_run_record(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    limited = replace(settings, auto_post_limit=Decimal("150.00"), batch_size=2)
    shops = [factory.merchant() for _ in range(5)]
    factory.events_bulk(shops, 12, day=DAY)  # 116.40 net each: posted
    factory.events_bulk(shops[:2], 5, day=DAY, currency="EUR")
    factory.event(shops[4], "500.00")  # USD net 616.40: draft
    factory.event(shops[3], "300.00", direction="debit", currency="EUR")  # negative
    factory.event(factory.merchant("SUS", status="suspended"), "5.00")
    frozen = factory.merchant("FROZEN")
    factory.event(frozen, "10.00")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO payout_freezes (scope, merchant_id, reason, set_by)"
                " VALUES ('merchant', :m, 'fraud check', :u)"
            ),
            {"m": frozen, "u": actors["boss"]},
        )
    before = factory.table_checksums()

    dry = settle(engine, limited, create_payouts=True, dry_run=True)

    after = factory.table_checksums()
    assert {t for t in before if before[t] != after[t]} == {"job_runs"}
    with engine.begin() as conn:
        run = conn.execute(text("SELECT dry_run, outcome FROM job_runs")).one()
    assert tuple(run) == (True, "succeeded")

    real = settle(engine, limited, create_payouts=True)

    assert dry.counts == real.counts
    assert dry.items == {kind: [_natural(i) for i in items] for kind, items in real.items.items()}
    assert all("id" not in item for items in dry.items.values() for item in items)
    with engine.begin() as conn:
        numbers = dict(conn.execute(text("SELECT id, settlement_no FROM settlements")).all())
    assert {(i["id"], i["settlement_no"]) for i in real.items["settlements"]} == set(
        numbers.items()
    )
    assert real.counts == {
        "events_settled": 12 * 5 + 5 * 2 + 3,
        "settlements_created": 9,
        "settlements_posted": 8,
        "settlements_draft": 1,
        "negative_net_exceptions": 1,
        "merchants_skipped": 1,
        "unsettled_before_window": 0,
        "payouts_created": 6,
        "payouts_held": 1,
        "payouts_swept": 0,
    }
    assert real.items["held_payouts"][0]["merchant_code"] == "FROZEN"
    assert real.items["held_payouts"][0]["freeze_reason"] == "fraud check"


@pytest.mark.parametrize(
    ("username", "error"),
    [("ghost", UnknownActor), ("sleeper", InactiveActor), ("seller", ActorNotAllowed)],
)
def test_a_wrong_actor_is_refused_before_anything_is_touched(
    engine: Engine,
    settings: Settings,
    factory: Factory,
    actors: dict[str, int],
    username: str,
    error: type[Exception],
) -> None:
    factory.user("sleeper", "operation", active=False)
    factory.user("seller", "sales")
    factory.event(factory.merchant(), "10.00")
    before = factory.table_checksums()

    with pytest.raises(error):
        settle(engine, settings, actor_username=username, create_payouts=True)

    assert factory.table_checksums() == before


def test_not_allowed_actor_error_names_the_accepted_roles(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    factory.user("seller", "sales")
    with pytest.raises(ActorNotAllowed, match="admin, finance, operation, super_admin"):
        settle(engine, settings, actor_username="seller")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period_start": "2026-11-31"}, "period_start must be a date"),
        ({"period_start": "2026-11-22", "period_end": "2026-11-21"}, "is after period end"),
        ({"currency": "GBP"}, "currency GBP is not enabled"),
        ({"currency": "usd"}, "upper-case 3-letter"),
        ({"shard": (3, 3)}, "shard must be"),
        ({"now": datetime(2026, 11, 21, 6, 0)}, "no time zone"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(
    engine: Engine,
    settings: Settings,
    factory: Factory,
    actors: dict[str, int],
    kwargs: dict[str, Any],
    message: str,
) -> None:
    factory.event(factory.merchant(), "10.00")
    before = factory.table_checksums()

    with pytest.raises(InvalidInput, match=message):
        settle(engine, settings, **kwargs)

    assert factory.table_checksums() == before


def _shard_fixture(factory: Factory) -> None:
    factory.user("ops", "operation")
    shops = [factory.merchant(f"S{n:02d}") for n in range(11)]
    factory.events_bulk(shops, 4, day=DAY)
    factory.events_bulk(shops[::2], 3, day=DAY, currency="IDR")
    for shop in shops[::3]:
        factory.event(shop, "99.99", fee="1.11", direction="debit")


def test_sharded_runs_produce_the_same_settlements_as_one_run(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    small_batches = replace(settings, batch_size=3)
    _shard_fixture(factory)
    totals: dict[str, int] = {}
    for index in range(3):
        result = settle(engine, small_batches, shard=(index, 3), create_payouts=True)
        for counter, value in result.counts.items():
            totals[counter] = totals.get(counter, 0) + value
    sharded = [{k: v for k, v in row.items() if k != "id"} for row in settlements(engine)]
    sharded_payouts = factory.count("payouts")

    wipe(engine)  # identities restart: the same data gets the same merchant ids again
    seed_rbac(engine)
    _shard_fixture(Factory(engine))
    whole = settle(engine, small_batches, create_payouts=True)

    assert [{k: v for k, v in row.items() if k != "id"} for row in settlements(engine)] == sharded
    assert len(sharded) == 17
    assert factory.count("payouts") == sharded_payouts == 13  # 7 USD + 6 IDR; 4 negative
    assert totals == whole.counts


@pytest.mark.reliability
def test_a_dry_run_takes_no_merchant_locks(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int], database_url: str
) -> None:
    """A dry run keeps its locks until it ends; one per merchant would exhaust the shared lock
    table on a large run, so it must not take them (here: it never waits on a held one)."""
    shops = [factory.merchant() for _ in range(3)]
    factory.events_bulk(shops, 2, day=DAY)
    impatient = create_engine(database_url, connect_args={"options": "-c lock_timeout=2000"})
    try:
        with merchant_lock_barrier(engine, shops[0], waiters=0):
            dry = settle(impatient, settings, dry_run=True, create_payouts=True)
    finally:
        impatient.dispose()

    assert dry.counts["settlements_created"] == 3
    assert dry.counts["payouts_created"] == 3
    assert factory.count("settlements") == 0


def test_each_currency_is_auto_posted_against_its_own_limit(
    engine: Engine, factory: Factory, settings: Settings
) -> None:
    factory.user("oscar", "operation")
    usd, idr = factory.merchant("USD1"), factory.merchant("IDR1", currency="IDR")
    factory.event(usd, "20000.00")
    factory.event(idr, "20000.00", currency="IDR")
    limits = replace(settings, auto_post_limits={"IDR": Decimal("150000000.00")})

    automate_settlements(
        engine, limits, actor_username="oscar", period_start=DAY, period_end=DAY, now=NOW
    )

    with engine.begin() as conn:
        states = dict(conn.execute(text("SELECT currency, status FROM settlements")).all())
    assert states == {"USD": "draft", "IDR": "posted"}


def test_unsettled_events_dated_before_the_window_are_counted_and_reported_not_settled(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    shop = factory.merchant("SHOP")
    factory.event(shop, "10.00", occurred_at=AT)
    for days_back in (2, 3):
        factory.event(shop, "7.00", occurred_at=AT - timedelta(days=days_back))
    factory.event(shop, "8.00", currency="EUR", occurred_at=AT - timedelta(days=5))
    factory.event(
        factory.merchant("SUS", status="suspended"), "5.00", occurred_at=AT - timedelta(3)
    )

    dry = settle(engine, settings, dry_run=True)
    real = settle(engine, settings)

    assert dry.counts["unsettled_before_window"] == real.counts["unsettled_before_window"] == 3
    assert real.counts["events_settled"] == 1
    assert "3 unsettled event(s) of active merchants dated before 2026-11-20" in real.messages[0]
    assert settle(engine, settings, currency="EUR").counts["unsettled_before_window"] == 1
    backfill = settle(engine, settings, period_start=DAY - timedelta(days=5), period_end=DAY)
    assert backfill.counts["events_settled"] == 3
    quiet = settle(engine, settings)
    assert quiet.counts["unsettled_before_window"] == 0
    assert not any("dated before" in message for message in quiet.messages)


def payout_windows(engine: Engine) -> list[tuple[date, date]]:
    with engine.begin() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT s.period_start, s.period_end FROM payouts p"
                    " JOIN settlements s ON s.id = p.settlement_id ORDER BY s.period_start"
                )
            )
        ]


def test_a_catch_up_run_never_pays_settlements_dated_after_its_window(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    merchant = factory.merchant("LATE")
    factory.event(merchant, "40.00", occurred_at=datetime(2026, 11, 1, 9, tzinfo=UTC))
    factory.event(merchant, "60.00", occurred_at=datetime(2026, 12, 2, 9, tzinfo=UTC))
    december = date(2026, 12, 2)
    later = datetime(2026, 12, 3, 6, tzinfo=UTC)
    settle(engine, settings, period_start=december, period_end=december, now=later)

    november = settle(
        engine,
        settings,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 1),
        create_payouts=True,
        now=later,
    )

    assert payout_windows(engine) == [(date(2026, 11, 1), date(2026, 11, 1))]
    assert (november.counts["payouts_created"], november.counts["payouts_swept"]) == (1, 0)


def test_a_held_payout_is_counted_once_and_its_later_release_apart_as_a_sweep(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    merchant = factory.merchant("HELD")
    factory.event(merchant, "40.00", occurred_at=datetime(2026, 11, 19, 9, tzinfo=UTC))
    freeze = freeze_payouts(engine, actor_username="risky", reason="incident INC-1")
    first = settle(engine, settings, now=NOW - timedelta(days=1), create_payouts=True)
    factory.event(merchant, "10.00", occurred_at=AT)
    second = settle(engine, settings, create_payouts=True)
    lift_payout_freeze(engine, freeze_id=freeze.id, actor_username="boss", note="over")
    third = settle(engine, settings, now=NOW + timedelta(days=1), create_payouts=True)

    counts = [
        (run.counts["payouts_created"], run.counts["payouts_held"], run.counts["payouts_swept"])
        for run in (first, second, third)
    ]
    assert counts == [(0, 1, 0), (0, 1, 0), (0, 0, 2)]
    assert [item["period_start"] for item in third.items["swept_payouts"]] == [
        "2026-11-19",
        "2026-11-20",
    ]


def test_a_backfill_pays_only_what_it_settled(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    merchant = factory.merchant("BACK")
    factory.event(merchant, "40.00", occurred_at=datetime(2026, 11, 10, 9, tzinfo=UTC))
    factory.event(merchant, "25.00", occurred_at=datetime(2026, 11, 12, 9, tzinfo=UTC))
    settle(engine, settings, period_start=date(2026, 11, 10), period_end=date(2026, 11, 10))

    backfill = backfill_settlements(
        engine,
        settings,
        actor_username="boss",
        period_start=date(2026, 11, 12),
        period_end=date(2026, 11, 12),
        create_payouts=True,
        now=NOW,
    )

    assert payout_windows(engine) == [(date(2026, 11, 12), date(2026, 11, 12))]
    assert (backfill.counts["payouts_created"], backfill.counts["payouts_swept"]) == (1, 0)


def test_a_window_ending_after_the_current_business_date_is_refused(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    factory.event(factory.merchant(), "10.00", occurred_at=datetime(2026, 11, 22, 9, tzinfo=UTC))
    before = factory.table_checksums()

    with pytest.raises(InvalidInput, match="ends 2026-11-22, after the current business date"):
        settle(engine, settings, period_start=DAY, period_end=date(2026, 11, 22))

    assert factory.table_checksums() == before


def test_a_window_longer_than_the_setting_is_refused_unless_it_is_a_backfill(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    capped = replace(settings, settlement_max_window_days=7)
    factory.event(factory.merchant(), "10.00", occurred_at=datetime(2026, 11, 1, 9, tzinfo=UTC))
    before = factory.table_checksums()

    with pytest.raises(InvalidInput, match=r"8 days.*OPS_SETTLEMENT_MAX_WINDOW_DAYS.*7"):
        settle(engine, capped, period_start=date(2026, 11, 1), period_end=date(2026, 11, 8))
    assert factory.table_checksums() == before

    backfill = backfill_settlements(
        engine,
        capped,
        actor_username="boss",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 20),
        now=NOW,
    )
    assert backfill.counts["settlements_created"] == 1


def test_a_window_overlapping_a_settled_one_gets_the_next_sequence(
    engine: Engine, settings: Settings, factory: Factory, actors: dict[str, int]
) -> None:
    shop = factory.merchant()
    factory.event(shop, "10.00")
    settle(engine, settings)  # 2026-11-20..2026-11-21, sequence 1
    factory.event(shop, "4.00", occurred_at=AT - timedelta(days=3))

    wide = backfill_settlements(
        engine,
        settings,
        actor_username="boss",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 21),
        now=NOW,
    )

    assert wide.items["settlements"][0]["sequence"] == 2
