"""seed_demo: deterministic, complete, small gate counters, refuses to overwrite, coherent."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from ops_domain.audit.verification import verify_audit_log
from ops_domain.config import Settings
from ops_domain.demo.reset import business_tables, reset_allowed
from ops_domain.demo.seed import seed_demo
from ops_domain.errors import DemoDataPresent, InvalidInput, ResetRefused
from tests.support.factories import Factory

D = date(2026, 11, 23)
AS_OF = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def allowing(settings: Settings) -> Settings:
    """``OPS_ALLOW_RESET=1``: demo data may wipe a database off the embedded server."""
    return replace(settings, allow_reset=True)


Cli = Callable[..., tuple[int, str, str]]


def rows(engine: Engine, sql: str, **params: object) -> list[tuple]:
    with engine.begin() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def values(engine: Engine, sql: str, **params: object) -> set:
    return {row[0] for row in rows(engine, sql, **params)}


def business_fingerprint(engine: Engine) -> dict[str, str]:
    """md5 per table of every row without its surrogate keys (id and foreign-key columns)
    and without the insertion time of rows stamped by the database; linkage is compared
    through business keys (merchant code, settlement and case numbers, event references)."""
    foreign_keys = rows(
        engine,
        """
        SELECT rel.relname, att.attname
          FROM pg_constraint AS con
          JOIN pg_class AS rel ON rel.oid = con.conrelid
          JOIN pg_attribute AS att ON att.attrelid = con.conrelid AND att.attnum = ANY(con.conkey)
         WHERE con.contype = 'f'
        """,
    )
    stamped = {"users": ["created_at"], "audit_log": ["created_at"]}
    sums = {}
    for table in business_tables():
        dropped = ["id", *stamped.get(table, [])]
        dropped += [column for owner, column in foreign_keys if owner == table]
        minus = " ".join(f"- '{column}'" for column in dropped)
        sums[table] = rows(
            engine,
            f"SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))"
            f" FROM (SELECT to_jsonb(t) {minus} AS r FROM {table} t) s",
        )[0][0]
    sums["event links"] = rows(
        engine,
        """
        SELECT md5(string_agg(concat_ws(',', m.code, e.occurred_at, e.amount, e.direction,
                                        s.settlement_no), '|' ORDER BY m.code, e.occurred_at,
                                        e.amount, e.direction))
          FROM cashflow_events e JOIN merchants m ON m.id = e.merchant_id
          LEFT JOIN settlements s ON s.id = e.settlement_id
        """,
    )[0][0]
    sums["payout links"] = rows(
        engine,
        """
        SELECT md5(string_agg(p.payout_reference || ',' || s.settlement_no || ',' || m.code,
                              '|' ORDER BY p.payout_reference))
          FROM payouts p JOIN settlements s ON s.id = p.settlement_id
          JOIN merchants m ON m.id = s.merchant_id
        """,
    )[0][0]
    sums["seeded audit trail"] = rows(
        engine,
        """
        SELECT md5(string_agg(concat_ws(',', a.action, a.target_type, a.target_id, u.username,
                                        a.created_at, a.before, a.after), '|' ORDER BY a.id))
          FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
         WHERE a.details->>'source' = 'seed_demo'
        """,
    )[0][0]
    sums["refund links"] = rows(
        engine,
        """
        SELECT md5(string_agg(concat_ws(',', r.refund_no, c.case_no, e.external_ref),
                              '|' ORDER BY r.refund_no))
          FROM refund_requests r LEFT JOIN cases c ON c.id = r.case_id
          JOIN cashflow_events e ON e.id = r.source_event_id
        """,
    )[0][0]
    return sums


@pytest.fixture
def seeded(engine: Engine, settings: Settings) -> Engine:
    seed_demo(engine, settings, business_date=D)
    return engine


def test_same_seed_date_and_scale_give_identical_business_content(
    engine: Engine, settings: Settings
) -> None:
    seed_demo(engine, settings, seed=7, business_date=D)
    first = business_fingerprint(engine)
    seed_demo(engine, allowing(settings), seed=7, business_date=D, reset=True)
    assert business_fingerprint(engine) == first
    assert values(engine, "SELECT min(settlement_no) FROM settlements") == {"SETTLE-00000001"}


def test_another_seed_changes_the_volume_but_keeps_the_story(
    engine: Engine, settings: Settings
) -> None:
    first = seed_demo(engine, settings, seed=7, business_date=D)
    volume = business_fingerprint(engine)
    second = seed_demo(engine, allowing(settings), seed=8, business_date=D, reset=True)
    changed = business_fingerprint(engine)
    assert changed["cashflow_events"] != volume["cashflow_events"]
    assert changed["settlements"] != volume["settlements"]
    assert changed["refund_requests"] == volume["refund_requests"]
    assert second.counters == first.counters


def test_every_state_the_jobs_and_the_gate_react_to_is_present(seeded: Engine) -> None:
    e = seeded
    assert values(e, "SELECT status FROM merchants") == {"active", "suspended", "inactive"}
    assert values(e, "SELECT settlement_currency FROM merchants") == {"USD", "EUR", "IDR"}
    assert set(
        rows(
            e,
            "SELECT CAST(occurred_at AT TIME ZONE 'UTC' AS date) - CAST(:d AS date), direction"
            " FROM cashflow_events WHERE settlement_id IS NULL AND occurred_at >= :d",
            d=date(2026, 11, 22),
        )
    ) == {(0, "credit"), (0, "debit"), (1, "credit"), (1, "debit")}
    assert values(e, "SELECT status FROM settlements") == {"paid", "posted"}
    assert values(e, "SELECT approval_source FROM settlements") == {"checker", "policy:auto_post"}
    assert values(e, "SELECT status FROM payouts") == {"settled", "sent", "pending", "failed"}
    assert values(e, "SELECT status FROM refund_requests") == {
        "pending",
        "approved",
        "executed",
        "rejected",
        "failed",
    }
    assert rows(
        e,
        "SELECT count(*) FILTER (WHERE sla_due_at < :as_of),"
        " count(*) FILTER (WHERE sla_due_at > :as_of + interval '1 day'),"
        " count(*) FILTER (WHERE escalated_at IS NOT NULL), count(case_id)"
        " FROM refund_requests WHERE status = 'pending'",
        as_of=AS_OF,
    ) == [(2, 1, 1, 3)]
    assert values(e, "SELECT status FROM cases") == {
        "open",
        "in_progress",
        "escalated",
        "resolved",
        "closed",
    }
    assert values(e, "SELECT priority FROM cases") == {"low", "medium", "high", "critical"}
    assert values(e, "SELECT case_type FROM cases") == {
        "complaint",
        "dispute",
        "refund",
        "incident",
    }
    assert rows(
        e,
        "SELECT count(*) FILTER (WHERE sla_due_at < :as_of),"
        " count(*) FILTER (WHERE sla_due_at IS NULL AND created_at < :as_of - interval '24 hours'),"
        " count(*) FILTER (WHERE sla_due_at IS NULL AND created_at >= :as_of - interval '24 hours')"
        " FROM cases WHERE status IN ('open', 'in_progress')",
        as_of=AS_OF,
    ) == [(1, 1, 1)]
    assert rows(
        e,
        "SELECT count(*) FROM case_assignments a JOIN roles r ON r.id = a.role_id"
        " JOIN cases c ON c.id = a.case_id WHERE c.case_type = 'incident'"
        " AND r.name IN ('risk', 'operation')",
    ) == [(2,)]
    assert values(e, "SELECT status FROM chargebacks") == {
        "open",
        "represented",
        "pre_arbitration",
        "won",
        "lost",
        "closed",
    }
    assert rows(
        e, "SELECT count(*) FROM chargebacks WHERE status = 'open' AND due_at < :as_of", as_of=AS_OF
    ) == [(1,)]
    assert set(rows(e, "SELECT severity, status FROM alerts")) == {
        ("high", "open"),
        ("critical", "open"),
        ("high", "in_review"),
        ("medium", "open"),
        ("high", "closed"),
        ("critical", "closed"),
    }
    assert values(e, "SELECT status FROM reconciliation_breaks") == {
        "open",
        "in_review",
        "resolved",
    }
    assert set(
        rows(
            e,
            "SELECT b.status, r.status FROM reconciliation_break_resolutions r"
            " JOIN reconciliation_breaks b ON b.id = r.break_id",
        )
    ) == {("in_review", "pending"), ("resolved", "approved")}
    assert values(e, "SELECT status FROM settlement_exceptions") == {"open", "resolved"}
    assert values(e, "SELECT status FROM journal_entries") == {"draft", "posted", "void"}
    assert rows(e, "SELECT kind, status FROM journal_approvals WHERE status = 'pending'") == [
        ("post", "pending")
    ]
    assert rows(e, "SELECT count(*) FROM journal_entries WHERE reversal_of IS NOT NULL") == [(1,)]
    assert values(e, "SELECT code FROM accounts WHERE currency = 'IDR'") == values(
        e, "SELECT code FROM accounts WHERE currency = 'USD'"
    )
    assert set(rows(e, "SELECT currency, period_start, status FROM accounting_periods")) == {
        (c, start, status)
        for c in ("USD", "EUR", "IDR")
        for start, status in ((date(2026, 10, 1), "open"), (date(2026, 11, 1), "open"))
    }
    assert rows(
        e,
        "SELECT f.scope, m.code FROM payout_freezes f LEFT JOIN merchants m ON m.id = f.merchant_id"
        " WHERE f.lifted_at IS NULL",
    ) == [("merchant", "DEMO-USD-FROZEN")]
    assert rows(e, "SELECT scope FROM payout_freezes WHERE lifted_at IS NOT NULL") == [("global",)]
    assert sorted(
        values(
            e,
            "SELECT u.username || ':' || r.name FROM users u JOIN user_roles ur"
            " ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id",
        )
    ) == [
        "adam:admin",
        "alice:finance",
        "carl:customer_service",
        "oscar:operation",
        "rita:risk",
        "root_ops:super_admin",
        "sam:sales",
        "svc_airflow:finance",
        "svc_airflow:operation",
        "tina:treasury",
    ]


def test_gate_counters_are_the_documented_small_numbers(engine: Engine, settings: Settings) -> None:
    summary = seed_demo(engine, settings, business_date=D)
    assert summary.counters == {
        "pending_refunds": 3,
        "failed_payouts": 1,
        "open_recon_breaks": 3,
        "open_high_alerts": 3,
    }
    assert rows(
        engine,
        "SELECT count(*) FROM alerts WHERE status IN ('open', 'in_review')"
        " AND severity IN ('high', 'critical')",
    ) == [(3,)]
    assert summary.window_groups == {
        "settleable": 30,
        "over_auto_post_limit": 6,
        "negative_net": 1,
        "payout_frozen": 1,
        "merchant_not_active": 2,
    }


def test_story_merchants_window_nets_cross_the_limit_and_go_negative(seeded: Engine) -> None:
    nets = dict(
        rows(
            seeded,
            "SELECT m.code, sum(CASE WHEN e.direction = 'credit' THEN e.net_amount"
            " ELSE -e.net_amount END) FROM cashflow_events e JOIN merchants m"
            " ON m.id = e.merchant_id WHERE e.settlement_id IS NULL AND m.code LIKE 'DEMO-%'"
            " AND e.occurred_at >= '2026-11-22' GROUP BY m.code",
        )
    )
    assert nets["DEMO-USD-GROCER"] == Decimal("12909.15")
    assert nets["DEMO-EUR-REFUNDS"] == Decimal("-140.63")
    assert nets["DEMO-USD-FROZEN"] == Decimal("986.40")
    failed = rows(
        seeded,
        "SELECT s.status, p.amount, s.net_amount, p.failure_reason IS NOT NULL FROM payouts p"
        " JOIN settlements s ON s.id = p.settlement_id WHERE p.status = 'failed'",
    )
    assert failed == [("posted", Decimal("1936.05"), Decimal("1936.05"), True)]
    assert rows(
        seeded,
        "SELECT count(*) FROM cashflow_events WHERE settlement_id IS NULL"
        " AND external_ref = 'DEMO-CAFE-H2-LATE'",
    ) == [(1,)]


def assert_coherent(engine: Engine) -> None:
    """The data-quality rules the gate checks hold on the seeded data."""
    assert rows(
        engine, "SELECT count(*) FROM cashflow_events WHERE net_amount <> amount - fee_amount"
    ) == [(0,)]
    assert rows(
        engine,
        """
        SELECT count(*) FROM settlements s JOIN (
            SELECT settlement_id,
                   sum(CASE WHEN direction = 'credit' THEN amount ELSE -amount END) AS gross,
                   sum(CASE WHEN direction = 'credit' THEN fee_amount ELSE -fee_amount END) AS fee,
                   sum(CASE WHEN direction = 'credit' THEN net_amount ELSE -net_amount END) AS net,
                   count(*) AS n
              FROM cashflow_events WHERE settlement_id IS NOT NULL GROUP BY settlement_id
        ) e ON e.settlement_id = s.id
         WHERE (s.gross_amount, s.fee_amount, s.net_amount, s.event_count)
               = (e.gross, e.fee, e.net, e.n)
        """,
    ) == rows(engine, "SELECT count(*) FROM settlements")
    assert rows(
        engine,
        "SELECT count(*) FROM payouts p JOIN settlements s ON s.id = p.settlement_id"
        " WHERE p.amount <> s.net_amount OR s.status = 'draft'"
        " OR (p.status = 'settled') <> (s.status = 'paid')",
    ) == [(0,)]
    assert rows(
        engine,
        "SELECT count(*) FROM settlements s LEFT JOIN payouts p ON p.settlement_id = s.id"
        " WHERE (s.net_amount > 0) <> (p.id IS NOT NULL)",
    ) == [(0,)]
    assert rows(
        engine,
        "SELECT currency, sum(coalesce(l.debit, 0) - coalesce(l.credit, 0)) FROM journal_lines l"
        " JOIN journal_entries j ON j.id = l.entry_id WHERE j.status = 'posted'"
        " GROUP BY currency ORDER BY currency",
    ) == [("EUR", Decimal("0.00")), ("IDR", Decimal("0.00")), ("USD", Decimal("0.00"))]
    assert rows(
        engine,
        "SELECT count(*) FROM refund_requests r JOIN cashflow_events e ON e.id = r.source_event_id"
        " WHERE r.amount > e.amount OR r.currency <> e.currency OR r.merchant_id <> e.merchant_id",
    ) == [(0,)]


def test_small_scale_is_coherent(seeded: Engine) -> None:
    assert_coherent(seeded)


@pytest.mark.slow
def test_medium_scale_loads_and_is_coherent(engine: Engine, settings: Settings) -> None:
    summary = seed_demo(engine, settings, scale="medium", business_date=D)
    assert summary.tables["cashflow_events"] >= 100_000
    assert summary.tables["merchants"] == 1_008
    assert summary.counters == {
        "pending_refunds": 3,
        "failed_payouts": 1,
        "open_recon_breaks": 3,
        "open_high_alerts": 3,
    }
    assert_coherent(engine)


def test_refuses_a_non_empty_database_without_reset_and_changes_nothing(
    cli: Cli, factory: Factory
) -> None:
    factory.merchant("EXISTING")
    before = factory.table_checksums()
    code, out, err = cli("seed_demo", "--business-date", "2026-11-23")
    assert code == 2
    assert "not empty (rows in merchants)" in err
    assert "--reset" in err
    assert out == ""
    assert factory.table_checksums() == before


def test_reset_is_refused_off_the_embedded_server_and_changes_nothing(
    engine: Engine, factory: Factory, tmp_path: Path
) -> None:
    factory.merchant("EXISTING")
    before = factory.table_checksums()
    elsewhere = Settings(enabled_currencies=frozenset({"USD", "EUR", "IDR"}), var_dir=tmp_path)
    with pytest.raises(ResetRefused, match="OPS_ALLOW_RESET=1"):
        seed_demo(engine, elsewhere, business_date=D, reset=True)
    assert factory.table_checksums() == before


def test_reset_is_allowed_only_on_the_embedded_server_or_by_opt_in(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    embedded = f"postgresql+psycopg2://postgres:@/ops?host={tmp_path}/pgdata"
    remote = "postgresql+psycopg2://ops:secret@db.prod.example:5432/ops"
    assert reset_allowed(embedded, settings)
    assert not reset_allowed(remote, settings)
    assert not reset_allowed(remote, Settings.from_env({"OPS_ALLOW_RESET": "yes"}))
    assert reset_allowed(remote, Settings.from_env({"OPS_ALLOW_RESET": "1"}))
    assert not reset_allowed("postgresql+psycopg2://postgres:@/ops?host=/tmp", settings)


def test_reset_wipes_the_audit_log_and_records_the_new_seed(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    factory.user("someone", "operation")
    with pytest.raises(DemoDataPresent):
        seed_demo(engine, settings, business_date=D)
    seed_demo(engine, allowing(settings), business_date=D, reset=True)
    assert factory.audit_actions("user.") == ["user.create"] * 9
    assert factory.audit_actions()[-1] == "demo.seed"
    assert factory.count("audit_log", "details->>'source' IS DISTINCT FROM 'seed_demo'") == 10
    assert factory.count("users", "username = 'someone'") == 0
    assert factory.count("roles") == 8
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))


def test_demo_needs_its_three_currencies_enabled(engine: Engine, factory: Factory) -> None:
    before = factory.table_checksums()
    with pytest.raises(InvalidInput, match="enable EUR, IDR"):
        seed_demo(engine, Settings(), business_date=D)
    assert factory.table_checksums() == before


def test_cli_prints_counters_and_json(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_ALLOW_RESET", "1")  # also when the test database is not embedded
    code, out, _ = cli("seed_demo", "--business-date", "2026-11-23", "--seed", "3")
    assert code == 0
    assert "pending_refunds: 3" in out
    assert "run the jobs as of 2026-11-24T06:00:00+00:00" in out
    code, out, err = cli("seed_demo", "--business-date", "2026-11-23", "--json")
    assert code == 2
    assert "not empty" in err
    code, out, _ = cli("seed_demo", "--business-date", "2026-11-23", "--json", "--reset")
    assert code == 0
    payload = json.loads(out)
    assert payload["readiness_counters"]["failed_payouts"] == 1
    assert payload["window"] == {"start": "2026-11-22", "end": "2026-11-23"}
    assert payload["tables"]["cashflow_events"] == 3111


def test_a_first_of_the_month_business_date_has_the_month_before_and_its_own(
    engine: Engine, settings: Settings
) -> None:
    seed_demo(engine, settings, business_date=date(2027, 1, 1))
    assert set(rows(engine, "SELECT period_start, period_end, status FROM accounting_periods")) == {
        (date(2026, 12, 1), date(2026, 12, 31), "open"),
        (date(2027, 1, 1), date(2027, 1, 31), "open"),
    }
    assert rows(
        engine,
        "SELECT count(*) FROM journal_entries WHERE status = 'posted' AND entry_date < '2027-01-01'",
    ) == [(3,)]
    assert_coherent(engine)


def test_business_date_defaults_to_yesterday_utc(cli: Cli) -> None:
    code, out, _ = cli("seed_demo", "--json")
    assert code == 0
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert json.loads(out)["business_date"] == yesterday.isoformat()


def test_bad_arguments_are_refused_before_anything_is_written(cli: Cli, factory: Factory) -> None:
    before = factory.table_checksums()
    assert cli("seed_demo", "--business-date", "2026-02-30")[0] == 2
    assert cli("seed_demo", "--scale", "huge")[0] == 2
    code, _, err = cli("seed_demo", "--seed", "-1")
    assert code == 2
    assert "seed must be between" in err
    assert factory.table_checksums() == before


def test_audit_verify_passes_right_after_the_seed(seeded: Engine, cli: Cli) -> None:
    verdict = verify_audit_log(seeded)
    assert verdict.missing == []
    assert verdict.chain.intact
    code, out, err = cli("audit", "verify")
    assert (code, err) == (0, "")
    assert "completeness: 30 rule(s), every change audited" in out


def test_audit_verify_passes_again_after_a_reset_reseeds_a_sealed_log(
    seeded: Engine, settings: Settings
) -> None:
    assert verify_audit_log(seeded).ok
    seed_demo(seeded, allowing(settings), seed=2, business_date=D, reset=True)
    verdict = verify_audit_log(seeded)
    assert verdict.first_problem is None


def test_seeded_history_has_the_audit_trail_its_services_would_have_written(
    seeded: Engine,
) -> None:
    trail = dict(
        rows(
            seeded,
            "SELECT action, count(*) FROM audit_log"
            ' WHERE details = \'{"source": "seed_demo"}\' GROUP BY action',
        )
    )
    settlements, posted_by_checker, payouts, settled = rows(
        seeded,
        "SELECT (SELECT count(*) FROM settlements),"
        " (SELECT count(*) FROM settlements WHERE approval_source = 'checker'),"
        " (SELECT count(*) FROM payouts), (SELECT count(*) FROM payouts WHERE status = 'settled')",
    )[0]
    assert trail["settlement.create"] == trail["settlement.post"] == settlements == 153
    assert trail["payout.create"] == payouts == 152
    assert trail["payout.send"] == payouts - 1  # the pending one was never sent
    assert trail["payout.settle"] == trail["settlement.pay"] == settled == 149
    assert (trail["payout.fail"], trail["refund.escalate"], trail["journal.void"]) == (1, 1, 1)
    assert (trail["refund.request"], trail["case.open"], trail["journal.create"]) == (7, 9, 11)
    assert "accounting_period.close" not in trail  # the demo's governance run closes it
    # each row carries its record's own stamp and the actor who made that change
    assert rows(
        seeded,
        "SELECT count(*) FROM settlements s JOIN audit_log a ON a.target_type = 'settlement'"
        " AND a.target_id = s.id::text AND a.action = 'settlement.post'"
        " JOIN users u ON u.id = a.actor_id"
        " WHERE a.created_at = s.posted_at AND u.username = 'rita'",
    ) == [(posted_by_checker,)]
    assert set(
        rows(
            seeded,
            "SELECT a.action, u.username, a.created_at = p.failed_at, a.after->>'status'"
            " FROM payouts p JOIN audit_log a ON a.target_type = 'payout'"
            " AND a.target_id = p.id::text JOIN users u ON u.id = a.actor_id"
            " WHERE p.status = 'failed' AND a.action <> 'payout.create'",
        )
    ) == {("payout.send", "rita", False, "sent"), ("payout.fail", "adam", True, "failed")}
    # payouts above the second-approval limit were approved by another checker than the sender
    assert rows(
        seeded,
        "SELECT count(*) FILTER (WHERE amount > 10000 AND status <> 'pending'),"
        " count(approved_by), count(*) FILTER (WHERE approved_by = sent_by)"
        " FROM payouts",
    ) == [(trail.get("payout.approve", 0), trail.get("payout.approve", 0), 0)]
    # read in id order, every record's trail runs forward in time
    assert rows(
        seeded,
        "SELECT count(*) FROM audit_log a JOIN audit_log b ON b.target_type = a.target_type"
        " AND b.target_id = a.target_id AND b.id > a.id WHERE b.created_at < a.created_at",
    ) == [(0,)]
