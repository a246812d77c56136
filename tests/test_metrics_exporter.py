"""The wallet_ops_* exporter: figures equal the seeded rows, one query per scrape, token, probes."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, event, insert
from sqlalchemy.engine import make_url

from ops_domain.accounting.models import JournalApproval
from ops_domain.audit.models import JobRun
from ops_domain.errors import InvalidInput
from ops_domain.metrics.check import check_endpoint, check_metrics_result
from ops_domain.metrics.collector import REQUIRED_FAMILIES, OpsMetricsCollector
from ops_domain.metrics.exporter import MetricsServer, metrics_engine
from ops_domain.payouts.models import Payout
from ops_domain.settlements.models import Settlement, SettlementException
from tests.support.factories import Factory
from tests.support.prometheus import scraping_prometheus

TOKEN = "metrics-token-5f2a"


def _insert(engine: Engine, table: object, rows: list[dict[str, object]]) -> list[int]:
    with engine.begin() as conn:
        return list(conn.scalars(insert(table).returning(table.id), rows))  # type: ignore[attr-defined]


def seed_operations(engine: Engine, factory: Factory) -> None:
    """A little of everything, including rows each gauge must NOT count."""
    now = factory.now()
    maker = factory.user("ops_maker", "operation")
    checker = factory.user("ops_checker", "admin")
    merchant = factory.merchant()
    day = now.date()

    def settlement(sequence: int, status: str) -> dict[str, object]:
        return {
            "merchant_id": merchant,
            "currency": "USD",
            "period_start": day,
            "period_end": day,
            "sequence": sequence,
            "gross_amount": Decimal("100.00"),
            "fee_amount": Decimal("3.00"),
            "net_amount": Decimal("97.00"),
            "event_count": 1,
            "status": status,
            "maker_id": maker,
            "approval_source": None if status == "draft" else "checker",
            "approver_id": None if status == "draft" else checker,
        }

    settlements = _insert(
        engine,
        Settlement,
        [
            settlement(1, "draft"),
            settlement(2, "draft"),
            *(settlement(n, "posted") for n in (3, 4, 5, 6)),
        ],
    )
    posted = settlements[2:]
    _insert(
        engine,
        Payout,
        [
            {
                "settlement_id": settlement_id,
                "merchant_id": merchant,
                "amount": Decimal("97.00"),
                "currency": "USD",
                "channel": "bank_transfer",
                "destination_account": "ACC-1",
                "status": status,
                "maker_id": maker,
            }
            for settlement_id, status in zip(
                posted, ["failed", "failed", "pending", "sent"], strict=True
            )
        ],
    )
    _insert(
        engine,
        SettlementException,
        [
            {"settlement_id": posted[0], "reason_code": code, "severity": "high", "status": status}
            for code, status in [("a", "open"), ("b", "in_review"), ("c", "resolved")]
        ],
    )
    source = factory.event(merchant, "500.00")
    for status in ["pending", "pending", "pending", "approved"]:
        factory.refund(maker, source, "10.00", status=status)
    factory.recon_break(maker, status="open")
    factory.recon_break(maker, status="in_review")
    for n, (severity, status) in enumerate(
        [("high", "open"), ("critical", "in_review"), ("medium", "open"), ("high", "closed")]
    ):
        factory.alert(severity=severity, status=status, target_id=str(n))
    factory.case(maker, status="open", sla_due_at=now - timedelta(hours=1))
    factory.case(maker, status="escalated", sla_due_at=now - timedelta(days=2))
    factory.case(maker, status="in_progress", created_at=now - timedelta(hours=30))
    factory.case(maker, status="in_progress", created_at=now - timedelta(hours=2))
    factory.case(maker, status="open", sla_due_at=now + timedelta(hours=1))
    factory.case(maker, status="resolved", sla_due_at=now - timedelta(hours=5))
    cash, revenue = factory.account("1000"), factory.account("4000", "revenue")
    entries = [
        factory.journal(maker, [(cash, "5.00", None), (revenue, None, "5.00")]) for _ in range(3)
    ]

    def approval(entry_id: int, hours_ago: int, status: str = "pending") -> dict[str, object]:
        decided = status != "pending"
        return {
            "entry_id": entry_id,
            "kind": "post",
            "requested_by": maker,
            "requested_at": now - timedelta(hours=hours_ago),
            "status": status,
            "decided_by": checker if decided else None,
            "note": "wrong account" if decided else None,
        }

    _insert(
        engine,
        JournalApproval,
        [approval(entries[0], 10), approval(entries[1], 1), approval(entries[2], 20, "rejected")],
    )

    def run(job: str, outcome: str, seconds: float, *, dry_run: bool = False) -> dict[str, object]:
        started = now - timedelta(hours=1)
        return {
            "job_name": job,
            "actor_id": maker,
            "parameters": {},
            "dry_run": dry_run,
            "outcome": outcome,
            "started_at": started,
            "finished_at": None if outcome == "running" else started + timedelta(seconds=seconds),
        }

    _insert(
        engine,
        JobRun,
        [
            run("automate_settlements", "succeeded", 0.5),
            run("automate_settlements", "succeeded", 10),
            run("automate_settlements", "failed", 120),
            run("automate_settlements", "succeeded", 2, dry_run=True),
            run("escalate_operation_cases", "succeeded", 3),
            run("escalate_operation_cases", "running", 0),
        ],
    )


EXPECTED_GAUGES = {
    "wallet_ops_settlements_pending_count": 2.0,
    "wallet_ops_payouts_failed_count": 2.0,
    "wallet_ops_refunds_pending_count": 3.0,
    "wallet_ops_recon_breaks_open_count": 2.0,
    "wallet_ops_alerts_open_high_count": 2.0,
    "wallet_ops_cases_sla_breach_count": 3.0,
    "wallet_ops_settlement_exceptions_open_count": 2.0,
    "wallet_ops_journal_approvals_pending_count": 2.0,
    "wallet_ops_journal_approvals_sla_breach_count": 1.0,
}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (test URLs)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def exporter(engine: Engine) -> Iterator[Callable[..., MetricsServer]]:
    started: list[MetricsServer] = []

    def start(target: Engine = engine, **options: object) -> MetricsServer:
        options.setdefault("local_mode", "token" not in options)
        server = MetricsServer(target, port=0, **options).start()  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_every_gauge_equals_the_rows_it_counts(
    engine: Engine, factory: Factory, exporter: Callable[..., MetricsServer]
) -> None:
    seed_operations(engine, factory)
    status, body = http_get(exporter().url)
    assert status == 200
    values = samples(body)
    assert {name: values[(name, ())] for name in EXPECTED_GAUGES} == EXPECTED_GAUGES


def test_job_metrics_come_from_finished_real_runs(
    engine: Engine, factory: Factory, exporter: Callable[..., MetricsServer]
) -> None:
    seed_operations(engine, factory)
    values = samples(http_get(exporter().url)[1])
    runs = {key: v for key, v in values.items() if key[0] == "wallet_ops_job_runs_total"}
    assert runs == {
        (
            "wallet_ops_job_runs_total",
            (("job", "automate_settlements"), ("outcome", "succeeded")),
        ): 2.0,
        (
            "wallet_ops_job_runs_total",
            (("job", "automate_settlements"), ("outcome", "failed")),
        ): 1.0,
        (
            "wallet_ops_job_runs_total",
            (("job", "escalate_operation_cases"), ("outcome", "succeeded")),
        ): 1.0,
    }
    settle = (("job", "automate_settlements"),)
    assert values[("wallet_ops_job_duration_seconds_count", settle)] == 3.0
    assert values[("wallet_ops_job_duration_seconds_sum", settle)] == pytest.approx(130.5)
    buckets = {
        dict(labels)["le"]: value
        for (name, labels), value in values.items()
        if name == "wallet_ops_job_duration_seconds_bucket"
        and dict(labels)["job"] == "automate_settlements"
    }
    assert buckets == {
        "1.0": 1.0,
        "5.0": 1.0,
        "15.0": 2.0,
        "60.0": 2.0,
        "300.0": 3.0,
        "900.0": 3.0,
        "3600.0": 3.0,
        "+Inf": 3.0,
    }
    assert (
        values[("wallet_ops_job_runs_in_progress", (("job", "escalate_operation_cases"),))] == 1.0
    )


def test_an_empty_database_still_exposes_every_required_family(
    engine: Engine, exporter: Callable[..., MetricsServer]
) -> None:
    report = check_endpoint(exporter().url)
    assert report.ok, report.issues
    assert set(REQUIRED_FAMILIES) <= set(report.families)
    assert samples(http_get(exporter().url)[1])[("wallet_ops_refunds_pending_count", ())] == 0.0


def test_a_scrape_costs_one_query_and_repeat_scrapes_share_it(
    engine: Engine, factory: Factory
) -> None:
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    clock = [100.0]
    collector = OpsMetricsCollector(engine, cache_seconds=5, clock=lambda: clock[0])
    event.listen(engine, "before_cursor_execute", count)
    try:
        first = list(collector.collect())
        clock[0] += 4.9
        list(collector.collect())
        assert len(statements) == 1
        merchant = factory.merchant()
        factory.refund(factory.user("m", "operation"), factory.event(merchant, "9.00"), "1.00")
        statements.clear()
        clock[0] += 0.2
        refreshed = list(collector.collect())
        assert len(statements) == 1
    finally:
        event.remove(engine, "before_cursor_execute", count)
    pending = {
        f.name: f.samples[0].value for f in first if f.name == "wallet_ops_refunds_pending_count"
    }
    assert pending == {"wallet_ops_refunds_pending_count": 0}
    assert [
        f.samples[0].value for f in refreshed if f.name == "wallet_ops_refunds_pending_count"
    ] == [1]


def test_the_token_is_required_when_configured(
    engine: Engine, exporter: Callable[..., MetricsServer]
) -> None:
    url = exporter(token=TOKEN).url
    assert http_get(url)[0] == 401
    assert http_get(url, {"X-Metrics-Token": "wrong"})[0] == 401
    assert http_get(url, {"X-Metrics-Token": TOKEN[:-1]})[0] == 401
    assert http_get(url, {"Authorization": "Basic " + TOKEN})[0] == 401
    assert http_get(url, {"X-Metrics-Token": TOKEN})[0] == 200
    assert http_get(url, {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    base = url.removesuffix("/metrics")
    assert http_get(f"{base}/healthz")[0] == 200
    assert http_get(f"{base}/readyz")[0] == 200
    assert http_get(f"{base}/other")[0] == 404


def test_check_metrics_uses_the_token_and_fails_without_it(
    engine: Engine, exporter: Callable[..., MetricsServer]
) -> None:
    url = exporter(token=TOKEN).url
    assert check_endpoint(url, token=TOKEN).ok
    refused = check_endpoint(url)
    assert refused.issue_codes == {"endpoint_unhealthy"}
    assert refused.issues[0].message == f"metrics endpoint {url} answered HTTP 401"
    with scraping_prometheus(url, token=None) as prometheus:
        result = check_metrics_result(url, prometheus_url=prometheus)
    assert result.status == "fail"
    assert result.summary.startswith(f"metrics endpoint {url} answered HTTP 401; ")


def test_database_down_means_not_ready_and_no_figures(
    exporter: Callable[..., MetricsServer],
) -> None:
    dead = metrics_engine(f"postgresql+psycopg2://ops:pw@127.0.0.1:{closed_port()}/ops")
    server = exporter(dead)
    base = server.url.removesuffix("/metrics")
    assert http_get(f"{base}/healthz") == (200, "ok\n")
    assert http_get(f"{base}/readyz") == (503, "database unavailable\n")
    assert http_get(server.url) == (503, "database unavailable\n")
    report = check_endpoint(server.url)
    assert report.issue_codes == {"endpoint_unhealthy"}
    dead.dispose()


def test_a_database_without_the_ops_schema_answers_500_not_a_hang_up(
    database_url: str, exporter: Callable[..., MetricsServer]
) -> None:
    bare = metrics_engine(make_url(database_url).set(database="postgres").render_as_string(False))
    server = exporter(bare)
    assert http_get(server.url) == (500, "metrics collection failed\n")
    assert check_endpoint(server.url).issue_codes == {"endpoint_unhealthy"}
    bare.dispose()


def test_an_unreachable_endpoint_is_an_error_for_the_gate() -> None:
    url = f"http://127.0.0.1:{closed_port()}/metrics"
    report = check_endpoint(url)
    assert report.issue_codes == {"endpoint_unreachable"}
    result = check_metrics_result(url)
    assert result.status == "error"
    assert result.summary.startswith(f"metrics endpoint {url} unreachable: ConnectionRefusedError")


def test_missing_families_fail_the_check() -> None:
    class Partial(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (
                b"# TYPE wallet_ops_payouts_failed_count gauge\nwallet_ops_payouts_failed_count 0\n"
            )
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Partial)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        report = check_endpoint(f"http://127.0.0.1:{server.server_address[1]}/metrics")
    finally:
        server.shutdown()
        server.server_close()
    assert report.issue_codes == {"families_missing"}
    assert "wallet_ops_refunds_pending_count" in report.issues[0].message
    assert "wallet_ops_payouts_failed_count" not in report.issues[0].message


def test_cli_check_metrics_exit_codes(
    cli: Callable[..., tuple[int, str, str]],
    exporter: Callable[..., MetricsServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = exporter(token=TOKEN).url
    monkeypatch.setenv("OPS_METRICS_TOKEN", TOKEN)
    with scraping_prometheus(url, TOKEN) as prometheus:
        code, out, _ = cli("check_metrics", "--url", url, "--prometheus-url", prometheus)
        assert code == 0
        assert out.splitlines() == [
            f"metrics {url}: healthy, {len(REQUIRED_FAMILIES) + 1} families,"
            f" scraped by {prometheus}"
        ]
        monkeypatch.setenv("OPS_METRICS_TOKEN", "not-it")
        code, out, _ = cli("check_metrics", "--url", url, "--prometheus-url", prometheus, "--json")
    assert code == 1
    payload = json.loads(out)
    assert payload["ok"] is False
    assert payload["issues"] == [
        {"code": "endpoint_unhealthy", "message": f"metrics endpoint {url} answered HTTP 401"}
    ]
    assert "not-it" not in out


def test_cli_check_metrics_exits_3_when_the_endpoint_is_unreachable(
    cli: Callable[..., tuple[int, str, str]],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/metrics"  # nothing listens there once the probe closes
    with scraping_prometheus(url, TOKEN) as prometheus:
        code, out, _ = cli("check_metrics", "--url", url, "--prometheus-url", prometheus)
    assert code == 3
    assert out.splitlines()[0] == f"metrics {url}: NOT healthy, 0 families"
    assert "issue [endpoint_unreachable]" in out


def test_the_exporter_refuses_to_start_without_a_token_outside_local_mode(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="OPS_METRICS_TOKEN is not set"):
        MetricsServer(engine, port=0)
    with pytest.raises(InvalidInput, match="local mode serves only on a loopback address"):
        MetricsServer(engine, host="0.0.0.0", port=0, local_mode=True)  # noqa: S104
    MetricsServer(engine, port=0, local_mode=True).close()


def test_cli_serve_metrics_without_a_token_exits_2_naming_the_settings(
    cli: Callable[..., tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPS_METRICS_TOKEN", raising=False)
    monkeypatch.delenv("OPS_METRICS_LOCAL_MODE", raising=False)

    code, out, err = cli("serve_metrics", "--port", "0")

    assert (code, out) == (2, "")
    assert "OPS_METRICS_TOKEN is not set" in err
    assert "OPS_METRICS_LOCAL_MODE" in err


def test_without_prometheus_the_check_fails_closed_naming_the_setting(
    engine: Engine,
    exporter: Callable[..., MetricsServer],
    cli: Callable[..., tuple[int, str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = exporter(token=TOKEN).url
    monkeypatch.setenv("OPS_METRICS_TOKEN", TOKEN)
    monkeypatch.delenv("OPS_PROMETHEUS_URL", raising=False)

    result = check_metrics_result(url, token=TOKEN)
    code, out, _ = cli("check_metrics", "--url", url)

    assert result.status == "error"
    assert "no Prometheus configured: set OPS_PROMETHEUS_URL" in result.summary
    assert code == 2
    assert "issue [prometheus_not_configured]" in out
