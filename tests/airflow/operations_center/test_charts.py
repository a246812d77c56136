"""Operations Center, Charts: the series drawn are the domain's by-day figures, laid out per
day, and the charting library is served from the plugin itself (no network needed)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, text

from ops_domain.checks import CheckResult
from ops_domain.errors import InvalidInput
from ops_domain.listing import MAX_DAYS, require_day_window
from ops_domain.readiness.gate import record_gate_verdict
from ops_domain.readiness.snapshot import GateEvidence
from tests.airflow.operations_center.conftest import Center
from tests.support.factories import Factory

RELEASE = "2026.12.06-demo"
COUNTERS = ("pending_refunds", "failed_payouts", "open_recon_breaks", "open_high_alerts")


def chart_data(page: str) -> dict:
    start = page.index('id="chart-data">') + len('id="chart-data">')
    return json.loads(page[start : page.index("</script>", start)])


def settled_today(engine: Engine, factory: Factory, maker: int, net: str) -> None:
    """A posted settlement whose window ends today (UTC)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO settlements (merchant_id, currency, period_start, period_end,
                    gross_amount, fee_amount, net_amount, event_count, status, maker_id,
                    approval_source, posted_at)
                VALUES (:merchant, 'USD', :day, :day, :net, 0, :net, 1, 'posted', :maker,
                    'policy:auto_post', now())
                """
            ),
            {"merchant": factory.merchant(), "day": today(), "net": net, "maker": maker},
        )


def today() -> date:
    return datetime.now(UTC).date()


def test_the_series_are_the_days_figures(center: Center, factory: Factory, engine: Engine) -> None:
    maker = factory.user("oscar", "operation")
    factory.failed_payout(maker, amount="50.00")  # its settlement ends on an old day
    settled_today(engine, factory, maker, "75.25")
    open_break = factory.recon_break(maker)
    resolved = factory.recon_break(maker, status="resolved")
    factory.alert("payout_spike", severity="critical")
    factory.alert("slow_queue", severity="low")
    with engine.begin() as conn:
        conn.execute(text("UPDATE reconciliation_breaks SET created_at = now()"))
        conn.execute(
            text("UPDATE reconciliation_breaks SET updated_at = now() WHERE id = :id"),
            {"id": resolved},
        )
    page = center.client("oscar").get("/charts?days=7")
    assert page.status_code == 200
    data = chart_data(page.text)
    assert len(data["days"]) == 7
    assert data["days"][-1] == today().isoformat()
    assert data["settled"] == {"USD": [0, 0, 0, 0, 0, 0, "75.25"]}
    assert data["payouts"] == {"failed": [0, 0, 0, 0, 0, 0, 1]}
    assert data["open"]["breaks"][-1] == 1  # the resolved one is not open
    assert open_break != resolved
    assert data["open"]["alerts_high"][-1] == 1
    assert data["open"]["alerts_all"][-1] == 2


def test_the_readiness_counters_are_drawn_across_the_releases_verdicts(
    center: Center, factory: Factory, engine: Engine
) -> None:
    factory.user("oscar", "operation")
    for blocking in (3, 0):
        record_gate_verdict(
            engine,
            actor_username="oscar",
            release_id=RELEASE,
            environment="production",
            checks=[CheckResult(name, "pass", "ok") for name in COUNTERS],
            evidence=GateEvidence(
                blocking=dict.fromkeys(COUNTERS, 0),
                counted={**dict.fromkeys(COUNTERS, 0), "open_high_alerts": blocking},
            ),
            now=factory.now(),
        )
    page = center.client("oscar").get(f"/charts?release_id={RELEASE}&environment=production")
    readiness = chart_data(page.text)["readiness"]
    assert len(readiness["labels"]) == 2
    assert readiness["counted"]["open_high_alerts"] == [3, 0]  # oldest first
    assert readiness["verdicts"] == ["ready", "ready"]


def test_chart_js_is_served_from_the_plugin_with_its_licence(
    center: Center, factory: Factory
) -> None:
    factory.user("oscar", "operation")
    client = center.client("oscar")
    page = client.get("/charts").text
    assert '<script src="/static/vendor/chart.js-4.5.1/chart.umd.min.js"' in page
    library = client.get("/static/vendor/chart.js-4.5.1/chart.umd.min.js")
    assert library.status_code == 200
    assert library.text.startswith("/*!\n * Chart.js v4.5.1")
    licence = client.get("/static/vendor/chart.js-4.5.1/LICENSE.md")
    assert "MIT" in licence.text or "Permission is hereby granted" in licence.text


def test_a_by_day_series_runs_forward_over_at_most_a_year() -> None:
    assert require_day_window(date(2026, 1, 1), date(2026, 1, 1)) == (
        date(2026, 1, 1),
        date(2026, 1, 1),
    )
    with pytest.raises(InvalidInput, match="ends"):
        require_day_window(date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(InvalidInput, match=f"at most {MAX_DAYS} days"):
        require_day_window(date(2025, 1, 1), date(2026, 1, 2))


def test_an_alert_or_break_counts_as_open_from_its_day_until_the_day_it_was_closed(
    center: Center, factory: Factory, engine: Engine
) -> None:
    maker = factory.user("oscar", "operation")
    alert_id = factory.alert("payout_spike", severity="high")
    break_id = factory.recon_break(maker, status="resolved")
    with engine.begin() as conn:  # opened three days ago, closed yesterday
        conn.execute(
            text(
                "UPDATE alerts SET created_at = now() - interval '3 days',"
                " closed_at = now() - interval '1 day', status = 'closed' WHERE id = :id"
            ),
            {"id": alert_id},
        )
        conn.execute(
            text(
                "UPDATE reconciliation_breaks SET created_at = now() - interval '3 days',"
                " updated_at = now() - interval '1 day' WHERE id = :id"
            ),
            {"id": break_id},
        )
    data = chart_data(center.client("oscar").get("/charts?days=7").text)
    assert data["open"]["alerts_high"] == [0, 0, 0, 1, 1, 0, 0]
    assert data["open"]["alerts_all"] == [0, 0, 0, 1, 1, 0, 0]
    assert data["open"]["breaks"] == [0, 0, 0, 1, 1, 0, 0]
