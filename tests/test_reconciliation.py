"""Reconciliation runs: internal settled totals against an external statement."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from ops_domain.config import Settings
from ops_domain.errors import ActorNotAllowed, InvalidInput, NotFound
from ops_domain.reconciliation.runs import reconcile
from ops_domain.reconciliation.statements import ExternalStatement
from tests.support.factories import Factory

DAY1, DAY2 = date(2026, 11, 20), date(2026, 11, 21)
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
CLI = Callable[..., tuple[int, str, str]]


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def settle(engine: Engine, merchant_id: int, event_ids: list[int], status: str = "posted") -> int:
    """A settlement of ``event_ids`` (signed totals computed from them), marked on the events."""
    with engine.begin() as conn:
        maker = conn.execute(text("SELECT id FROM users ORDER BY id LIMIT 1")).scalar_one()
        settlement_id = conn.execute(
            text(
                """
                INSERT INTO settlements (merchant_id, currency, period_start, period_end,
                    gross_amount, fee_amount, net_amount, event_count, status, maker_id,
                    approval_source)
                SELECT :merchant, 'USD', min(occurred_at)::date, max(occurred_at)::date,
                       sum(CASE WHEN direction = 'credit' THEN amount ELSE -amount END),
                       sum(fee_amount),
                       sum(CASE WHEN direction = 'credit' THEN amount ELSE -amount END)
                           - sum(fee_amount),
                       count(*), :status, :maker,
                       CASE WHEN :status = 'draft' THEN NULL ELSE 'policy:auto_post' END
                  FROM cashflow_events WHERE id = ANY(:events)
                RETURNING id
                """
            ),
            {"merchant": merchant_id, "events": event_ids, "status": status, "maker": maker},
        ).scalar_one()
        conn.execute(
            text("UPDATE cashflow_events SET settlement_id = :s WHERE id = ANY(:events)"),
            {"s": settlement_id, "events": event_ids},
        )
    return settlement_id


@pytest.fixture
def settled(factory: Factory, engine: Engine) -> Factory:
    """M1: 100.00 (2 events) on DAY1, 50.00 (a sale and a refund) on DAY2; M2: 30.00 on DAY1
    and 20.00 on DAY2; M3 settled nothing; M4's only settlement is still a draft."""
    factory.user("otto", "operation")
    factory.user("cora", "customer_service")
    m1, m2 = factory.merchant("M1"), factory.merchant("M2")
    factory.merchant("M3")
    m4 = factory.merchant("M4")
    settle(
        engine,
        m1,
        [
            factory.event(m1, "61.00", fee="1.00", occurred_at=at(DAY1, 1)),
            factory.event(m1, "40.00", occurred_at=at(DAY1, 23)),
            factory.event(m1, "60.00", occurred_at=at(DAY2)),
            factory.event(m1, "10.00", direction="debit", occurred_at=at(DAY2)),
        ],
    )
    settle(
        engine,
        m2,
        [factory.event(m2, "30.00", occurred_at=at(DAY1))],
        status="paid",
    )
    settle(engine, m2, [factory.event(m2, "20.00", occurred_at=at(DAY2))])
    settle(engine, m4, [factory.event(m4, "15.00", occurred_at=at(DAY1))], status="draft")
    factory.event(m1, "999.00", occurred_at=at(DAY1))  # not settled: never in the internal side
    return factory


def statement(*totals: str) -> ExternalStatement:
    return ExternalStatement.from_totals(list(totals))


FULL_STATEMENT = (
    "M1:2026-11-20:100.00:2:REF-1",
    "M1:2026-11-20:100.00:2:REF-1",  # the processor sent this line twice
    "M1:2026-11-21:45.00:3:REF-2",  # amount and count differ: one amount_mismatch
    "M2:2026-11-20:30.00:2:REF-3",  # only the count differs: one count_mismatch
    "M3:2026-11-20:10.00:1:REF-4",
    "M4:2026-11-20:15.00:1:REF-5",
    "ZZZ:2026-11-21:5.00:1:REF-6",
)


def run(engine: Engine, settings: Settings, lines: tuple[str, ...] = FULL_STATEMENT, **kw: Any):
    args: dict[str, Any] = {
        "actor_username": "otto",
        "currency": "USD",
        "window_start": DAY1,
        "window_end": DAY2,
        "statement": statement(*lines),
        "now": NOW,
    }
    return reconcile(engine, settings, **{**args, **kw})


def breaks(engine: Engine) -> list[tuple[str, str | None, date, Decimal | None]]:
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                """
                SELECT b.category, coalesce(m.code, b.details->>'merchant_code'),
                       b.business_date, b.difference
                  FROM reconciliation_breaks b LEFT JOIN merchants m ON m.id = b.merchant_id
                 ORDER BY 3, 2, 1
                """
            )
        ).all()
    return [tuple(row) for row in rows]


EXPECTED_BREAKS = [
    ("duplicate", "M1", DAY1, None),
    ("count_mismatch", "M2", DAY1, None),
    ("missing_internal", "M3", DAY1, Decimal("10.00")),
    ("missing_internal", "M4", DAY1, Decimal("15.00")),
    ("amount_mismatch", "M1", DAY2, Decimal("-5.00")),
    ("missing_external", "M2", DAY2, Decimal("-20.00")),
    ("missing_internal", "ZZZ", DAY2, Decimal("5.00")),
]


def test_each_disagreement_opens_a_break_of_its_category(
    engine: Engine, settings: Settings, settled: Factory
) -> None:
    outcome = run(engine, settings)

    assert breaks(engine) == EXPECTED_BREAKS
    assert outcome["breaks_opened"] == {
        "duplicate": 1,
        "count_mismatch": 1,
        "missing_internal": 3,
        "amount_mismatch": 1,
        "missing_external": 1,
    }
    assert outcome["breaks_already_open"] == 0
    run_row = outcome["run"]
    # internal: M1 100.00 + 50.00, M2 30.00 + 20.00 (draft M4 and the unsettled event excluded)
    assert (run_row["internal_total"], run_row["internal_count"]) == (Decimal("200.00"), 6)
    # external: the duplicate line once
    assert (run_row["external_total"], run_row["external_count"]) == (Decimal("205.00"), 10)
    assert run_row["run_no"].startswith("RECON-")
    assert run_row["statement_source"] == "inline"
    assert settled.audit_actions("reconciliation") == [
        "reconciliation.run",
        *["reconciliation_break.open"] * 7,
    ]


def test_break_details_carry_both_sides(
    engine: Engine, settings: Settings, settled: Factory
) -> None:
    outcome = run(engine, settings)
    mismatch = next(b for b in outcome["breaks"] if b["category"] == "amount_mismatch")
    assert mismatch["details"] == {
        "merchant_code": "M1",
        "internal_amount": "50.00",
        "internal_count": 2,
        "external_amount": "45.00",
        "external_count": 3,
        "duplicate_lines": 0,
        "references": ["REF-2"],
    }
    assert mismatch["status"] == "open"


def test_one_disagreement_opens_one_break_and_a_count_mismatch_carries_no_money(
    engine: Engine, settings: Settings, settled: Factory
) -> None:
    outcome = run(engine, settings)

    per_day = Counter(
        (b["merchant_id"], b["business_date"])
        for b in outcome["breaks"]
        if b["category"] != "duplicate"
    )
    assert set(per_day.values()) == {1}
    (counted,) = [b for b in outcome["breaks"] if b["category"] == "count_mismatch"]
    assert counted["difference"] is None
    assert (counted["details"]["internal_amount"], counted["details"]["external_amount"]) == (
        "30.00",
        "30.00",
    )
    assert (counted["details"]["internal_count"], counted["details"]["external_count"]) == (1, 2)


def test_statement_lines_outside_the_window_are_refused_and_nothing_is_written(
    engine: Engine, settings: Settings, settled: Factory
) -> None:
    before = settled.table_checksums()

    with pytest.raises(InvalidInput) as refused:
        run(engine, settings, (*FULL_STATEMENT, "M1:2026-11-25:1.00:1", "M2:2026-11-19:2.00:1"))

    assert str(refused.value) == (
        "2 statement line(s) dated outside the window 2026-11-20..2026-11-21:"
        " M1 2026-11-25 1.00, M2 2026-11-19 2.00; give the window's lines only or widen it"
    )
    assert settled.table_checksums() == before


def test_statement_lines_in_another_currency_are_refused_and_nothing_is_written(
    engine: Engine, settings: Settings, settled: Factory, tmp_path: Path
) -> None:
    settled.merchant("EURO", currency="EUR")
    file = tmp_path / "statement.csv"
    file.write_text(
        "merchant_code,business_date,amount,count,currency\n"
        "M1,2026-11-20,100.00,2,USD\n"
        "M2,2026-11-20,30.00,1,EUR\n"
    )
    before = settled.table_checksums()

    with pytest.raises(
        InvalidInput,
        match=r"1 statement line\(s\) in another currency than USD: M2 2026-11-20 EUR 30\.00",
    ):
        run(engine, settings, statement=ExternalStatement.from_csv(file))
    with pytest.raises(InvalidInput) as refused:
        run(engine, settings, ("M1:2026-11-20:100.00:2", "EURO:2026-11-20:9.00:1"))

    assert str(refused.value) == (
        "the statement has lines for merchant(s) settling in another currency than USD:"
        " EURO (EUR); reconcile each currency with its own statement"
    )
    assert settled.table_checksums() == before


def test_a_merchant_settling_in_another_currency_is_refused_and_nothing_is_written(
    engine: Engine, settings: Settings, settled: Factory
) -> None:
    settled.merchant("EURO", currency="EUR")
    before = settled.table_checksums()

    with pytest.raises(InvalidInput) as refused:
        run(engine, settings, ("EURO:2026-11-20:9.00:1",), merchant_code="EURO")

    assert str(refused.value) == (
        "merchant EURO settles in EUR, not USD: reconcile it with --currency EUR"
    )
    assert settled.table_checksums() == before


def test_rerunning_the_same_statement_opens_no_duplicate_breaks(
    engine: Engine, settings: Settings, settled: Factory
) -> None:
    run(engine, settings)
    again = run(engine, settings)

    assert again["breaks_opened"] == {}
    assert again["breaks_already_open"] == 7
    assert breaks(engine) == EXPECTED_BREAKS
    assert settled.count("reconciliation_runs") == 2


def test_dry_run_reports_the_same_breaks_and_writes_nothing(
    engine: Engine, settings: Settings, settled: Factory
) -> None:
    before = settled.table_checksums()
    dry = run(engine, settings, dry_run=True)
    assert settled.table_checksums() == before

    real = run(engine, settings)

    assert dry["dry_run"] is True
    assert dry["breaks_opened"] == real["breaks_opened"]
    assert [b["category"] for b in dry["breaks"]] == [b["category"] for b in real["breaks"]]
    assert dry["run"]["internal_total"] == real["run"]["internal_total"]


def test_a_resolved_break_reopens_if_the_disagreement_persists(
    engine: Engine, settings: Settings, settled: Factory
) -> None:
    run(engine, settings)
    with engine.begin() as conn:  # reviewed, then resolved (the transition table's way)
        for status in ("in_review", "resolved"):
            conn.execute(
                text("UPDATE reconciliation_breaks SET status = :s WHERE category = 'duplicate'"),
                {"s": status},
            )
    again = run(engine, settings)
    assert again["breaks_opened"] == {"duplicate": 1}
    assert settled.count("reconciliation_breaks", "category = 'duplicate'") == 2


def test_a_matching_statement_opens_no_break(
    engine: Engine, settings: Settings, settled: Factory
) -> None:
    outcome = run(
        engine,
        settings,
        (
            "M1:2026-11-20:100.00:2",
            "M1:2026-11-21:50.00:2",
            "M2:2026-11-20:30.00:1",
            "M2:2026-11-21:20.00:1",
        ),
    )
    assert outcome["breaks_opened"] == {}
    assert outcome["run"]["internal_total"] == outcome["run"]["external_total"] == Decimal("200.00")
    assert settled.count("reconciliation_breaks") == 0


def test_a_merchant_scoped_run_ignores_other_merchants(
    engine: Engine, settings: Settings, settled: Factory
) -> None:
    outcome = run(engine, settings, merchant_code="M2")
    assert outcome["run"]["internal_total"] == Decimal("50.00")
    assert outcome["run"]["merchant_code"] == "M2"
    assert [b[:2] for b in breaks(engine)] == [
        ("count_mismatch", "M2"),
        ("missing_external", "M2"),
    ]


def test_statement_from_csv(
    engine: Engine, settings: Settings, settled: Factory, tmp_path: Path
) -> None:
    file = tmp_path / "statement.csv"
    file.write_text(
        "merchant_code,business_date,amount,count,reference\n"
        "M1,2026-11-20,100.00,2,R1\n"
        "M1,2026-11-21,50.00,2,R2\n"
        "M2,2026-11-20,30.00,1,\n"
        "M2,2026-11-21,20.01,1,R4\n"
    )
    parsed = ExternalStatement.from_csv(file)
    assert parsed.lines[2].reference is None
    outcome = reconcile(
        engine,
        settings,
        actor_username="otto",
        currency="USD",
        window_start=DAY1,
        window_end=DAY2,
        statement=parsed,
    )
    assert outcome["breaks_opened"] == {"amount_mismatch": 1}
    assert outcome["breaks"][0]["difference"] == Decimal("0.01")
    assert outcome["run"]["statement_source"] == f"csv:{file}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("merchant_code,business_date,amount\nM1,2026-11-20,1.00\n", r"lacks column\(s\) count"),
        ("merchant_code,business_date,amount,count\nM1,2026-11-20,1.5x,1\n", "line 2 amount"),
        ("merchant_code,business_date,amount,count\nM1,2026-11-20,1.00,-1\n", "between 0 and"),
        ("merchant_code,business_date,amount,count\nM1,20-11-2026,1.00,1\n", "must be a date"),
        (
            "merchant_code,business_date,amount,count\n,2026-11-20,1.00,1\n",
            "merchant_code is empty",
        ),
    ],
)
def test_a_malformed_statement_is_refused(tmp_path: Path, content: str, message: str) -> None:
    file = tmp_path / "bad.csv"
    file.write_text(content)
    with pytest.raises(InvalidInput, match=message):
        ExternalStatement.from_csv(file)


def test_a_missing_statement_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        ExternalStatement.from_csv(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"currency": "GBP"}, InvalidInput, "not enabled"),
        ({"window_start": DAY2, "window_end": DAY1}, InvalidInput, "is after"),
        ({"merchant_code": "NOPE"}, NotFound, "merchant 'NOPE'"),
        ({"actor_username": "cora"}, ActorNotAllowed, "admin, finance, operation, super_admin"),
    ],
)
def test_bad_input_changes_nothing(
    engine: Engine,
    settings: Settings,
    settled: Factory,
    overrides: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    before = settled.table_checksums()
    with pytest.raises(error, match=message):
        run(engine, settings, **overrides)
    assert settled.table_checksums() == before


def test_reconcile_cli_with_inline_totals(cli: CLI, settled: Factory) -> None:
    code, out, err = cli(
        "reconcile", "--actor-username", "otto", "--currency", "USD",
        "--window-start", "2026-11-20", "--window-end", "2026-11-21",
        "--total", "M1:2026-11-20:100.00:2", "--total", "M1:2026-11-21:50.00:2",
        "--merchant-code", "M1", "--json",
    )  # fmt: skip
    assert code == 0, err
    outcome = json.loads(out)
    assert outcome["breaks_opened"] == {}
    assert outcome["run"]["internal_total"] == "150.00"


@pytest.mark.parametrize(
    "statement_args",
    [
        (),
        ("--total", "M1:2026-11-20:abc:2"),
        ("--total", "M1:2026-11-20:1.00"),
        ("--statement", "/nonexistent.csv"),
    ],
)
def test_reconcile_cli_refuses_a_bad_statement(
    cli: CLI, settled: Factory, statement_args: tuple[str, ...]
) -> None:
    before = settled.table_checksums()
    code, _, err = cli(
        "reconcile", "--actor-username", "otto", "--currency", "USD",
        "--window-start", "2026-11-20", "--window-end", "2026-11-21", *statement_args,
    )  # fmt: skip
    assert code == 2
    assert err.startswith("error:")
    assert settled.table_checksums() == before


def test_reconcile_cli_refuses_a_merchant_of_another_currency_with_exit_2(
    cli: CLI, settled: Factory
) -> None:
    settled.merchant("EURO", currency="EUR")
    before = settled.table_checksums()

    code, out, err = cli(
        "reconcile", "--actor-username", "otto", "--currency", "USD",
        "--window-start", "2026-11-20", "--window-end", "2026-11-21",
        "--total", "EURO:2026-11-20:9.00:1", "--merchant-code", "EURO",
    )  # fmt: skip

    assert (code, out) == (2, "")
    assert err == "error: merchant EURO settles in EUR, not USD: reconcile it with --currency EUR\n"
    assert settled.table_checksums() == before


@pytest.mark.reliability
def test_two_simultaneous_runs_of_one_statement_open_each_break_once(
    engine: Engine, settings: Settings, settled: Factory
) -> None:
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: run(engine, settings), range(2)))

    assert sorted(sum(o["breaks_opened"].values()) for o in outcomes) == [0, 7]
    assert sorted(o["breaks_already_open"] for o in outcomes) == [0, 7]
    assert breaks(engine) == EXPECTED_BREAKS
