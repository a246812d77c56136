"""Release check 6: the metrics endpoint is healthy and scraped (SPEC 5.6).

Passes when the endpoint answers 200 (with the token when one is configured), exposes every
required ``wallet_ops_*`` family, and, given a Prometheus URL, Prometheus has an active target
for that URL whose health is ``up`` and has stored the business gauges' series for it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.findings import FindingsReport
from ops_domain.metrics.collector import BUSINESS_GAUGES, REQUIRED_FAMILIES
from ops_domain.metrics.exporter import TOKEN_HEADER

CHECK_NAME = "metrics"
UNREACHABLE = frozenset({"endpoint_unreachable", "prometheus_unreachable"})
NOT_CONFIGURED = "prometheus_not_configured"


@dataclass
class MetricsReport(FindingsReport):
    url: str = ""
    families: list[str] = field(default_factory=list)
    target: dict[str, Any] | None = None
    stored_series: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "url": self.url,
            "families": self.families,
            "target": self.target,
            "stored_series": self.stored_series,
        }


def check_metrics(
    url: str, prometheus_url: str | None = None, token: str | None = None, timeout: float = 5.0
) -> MetricsReport:
    """Probe the endpoint, then ask Prometheus about its target and series: "healthy and
    scraped" (runbook line 6), so with no Prometheus configured the check cannot pass."""
    report = check_endpoint(url, token, timeout)
    if prometheus_url:
        _check_prometheus(report, url, prometheus_url.rstrip("/"), timeout)
    else:
        report.issue(
            NOT_CONFIGURED,
            "no Prometheus configured: set OPS_PROMETHEUS_URL (--prometheus-url) to the"
            " Prometheus that scrapes this endpoint; an unscraped endpoint is not monitored",
        )
    return report


def check_endpoint(url: str, token: str | None = None, timeout: float = 5.0) -> MetricsReport:
    """The endpoint half of the check: it answers, with every required family."""
    report = MetricsReport(url=url)
    _check_endpoint(report, url, token, timeout)
    return report


def _check_endpoint(report: MetricsReport, url: str, token: str | None, timeout: float) -> None:
    headers = {TOKEN_HEADER: token} if token else {}
    try:
        status, body = _get(url, headers, timeout)
    except OSError as exc:
        report.issue("endpoint_unreachable", f"metrics endpoint {url} unreachable: {_reason(exc)}")
        return
    if status != 200:
        report.issue("endpoint_unhealthy", f"metrics endpoint {url} answered HTTP {status}")
        return
    try:
        families = list(text_string_to_metric_families(body.decode("utf-8")))
    except ValueError as exc:
        report.issue("exposition_invalid", f"metrics endpoint {url} output is not parseable: {exc}")
        return
    # the parser drops a counter's ``_total`` suffix; put it back to match the family name
    report.families = sorted(
        f"{f.name}_total" if f.type == "counter" else f.name
        for f in families
        if f.name.startswith("wallet_ops_")
    )
    missing = [name for name in REQUIRED_FAMILIES if name not in report.families]
    if missing:
        report.issue("families_missing", f"required families not exposed: {', '.join(missing)}")


def _check_prometheus(report: MetricsReport, url: str, prometheus: str, timeout: float) -> None:
    try:
        targets = _api(f"{prometheus}/api/v1/targets?state=active", timeout)["activeTargets"]
        target = next((t for t in targets if _same_url(t.get("scrapeUrl", ""), url)), None)
        if target is None:
            report.issue(
                "target_missing", f"Prometheus at {prometheus} has no target scraping {url}"
            )
            return
        labels = target.get("labels") or {}
        report.target = {
            "health": target.get("health"),
            "last_error": target.get("lastError"),
            "last_scrape": target.get("lastScrape"),
            "labels": labels,
        }
        if target.get("health") != "up":
            report.issue(
                "target_down",
                f"Prometheus reports {url} as {target.get('health')}: {target.get('lastError')}",
            )
            return
        selector = ",".join(
            f"{name}={json.dumps(labels[name])}" for name in ("job", "instance") if name in labels
        )
        query = f'count by (__name__) ({{__name__=~"wallet_ops_.+",{selector}}})'
        result = _api(
            f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': query})}", timeout
        )["result"]
    except (OSError, ValueError, KeyError) as exc:
        report.issue(
            "prometheus_unreachable", f"Prometheus API at {prometheus} unusable: {_reason(exc)}"
        )
        return
    report.stored_series = sorted(item["metric"].get("__name__", "") for item in result)
    missing = [g.name for g in BUSINESS_GAUGES if g.name not in report.stored_series]
    if missing:
        report.issue("series_not_stored", f"Prometheus holds no series for {', '.join(missing)}")


def _get(url: str, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise OSError(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked above)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _api(url: str, timeout: float) -> dict[str, Any]:
    status, body = _get(url, {}, timeout)
    payload = json.loads(body)
    if status != 200 or payload.get("status") != "success":
        raise ValueError(f"HTTP {status}: {payload.get('error', 'unexpected answer')}")
    return payload["data"]


def _same_url(left: str, right: str) -> bool:
    def key(url: str) -> tuple[str, str, int | None, str]:
        parts = urllib.parse.urlsplit(url)
        default = {"http": 80, "https": 443}.get(parts.scheme)
        return (parts.scheme, (parts.hostname or "").lower(), parts.port or default, parts.path)

    try:
        return key(left) == key(right)
    except ValueError:
        return False


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(reason).__name__}: {reason}"[:200]


def metrics_check(evaluation: Evaluation) -> CheckResult:
    """The gate's form over the configured endpoint, Prometheus and token."""
    settings = evaluation.settings
    return check_metrics_result(
        settings.metrics_url, settings.prometheus_url, token=settings.metrics_token
    )


def check_metrics_result(
    url: str, prometheus_url: str | None = None, token: str | None = None
) -> CheckResult:
    """``error`` when the endpoint or Prometheus cannot be reached, ``fail`` on any other
    issue, ``pass`` otherwise."""
    report = check_metrics(url, prometheus_url, token)
    if report.ok:
        status, summary = "pass", f"{len(report.families)} wallet_ops families exposed"
        if prometheus_url:
            summary += f", target up, {len(report.stored_series)} series stored"
    else:
        status = "error" if report.issue_codes & (UNREACHABLE | {NOT_CONFIGURED}) else "fail"
        summary = "; ".join(f.message for f in report.issues)
    return CheckResult(CHECK_NAME, status, summary[:300], report.to_dict())
