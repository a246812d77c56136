"""Identity and observability checks: ``check_keycloak_hardening``, ``serve_metrics``,
``check_metrics``."""

from __future__ import annotations

import argparse
import urllib.parse
from pathlib import Path

from ops_domain.cli.runtime import (
    EXIT_OK,
    Runtime,
    add_json_flag,
    check_exit,
    decimal_number_arg,
    emit,
    whole_number_arg,
)
from ops_domain.db import describe_url, resolve_database_url
from ops_domain.errors import InfrastructureError, InvalidInput
from ops_domain.metrics.check import NOT_CONFIGURED, UNREACHABLE, check_metrics
from ops_domain.metrics.collector import MetricRules
from ops_domain.metrics.exporter import DEFAULT_HOST, DEFAULT_PORT, MetricsServer, metrics_engine
from ops_domain.readiness.keycloak import check_keycloak_hardening

# no realm to check (export file missing or unreadable, nothing configured): bad input, exit 2
NO_REALM_SOURCE = frozenset({"realm_export_unreadable", "realm_not_readable"})


def register(subparsers: argparse._SubParsersAction) -> None:
    keycloak = subparsers.add_parser(
        "check_keycloak_hardening",
        help="check the Keycloak realm and OIDC settings (exit 1 on issues)",
    )
    keycloak.add_argument(
        "--realm-export", type=Path, help="read a realm export JSON instead of the admin API"
    )
    add_json_flag(keycloak)
    keycloak.set_defaults(handler=run_check_keycloak_hardening)

    serve = subparsers.add_parser("serve_metrics", help="serve the wallet_ops_* Prometheus metrics")
    serve.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})"
    )
    serve.add_argument(
        "--port",
        type=whole_number_arg,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT})",
    )
    serve.add_argument(
        "--cache-seconds",
        type=decimal_number_arg,
        default=5.0,
        help="reuse one query's figures this long",
    )
    serve.add_argument(
        "--journal-sla-hours",
        type=whole_number_arg,
        default=8,
        help="journal approval SLA (default 8)",
    )
    serve.add_argument(
        "--case-fallback-sla-hours",
        type=whole_number_arg,
        default=24,
        help="SLA of a case without a due time (default 24)",
    )
    serve.set_defaults(handler=run_serve_metrics)

    check = subparsers.add_parser(
        "check_metrics", help="check the metrics endpoint (and its Prometheus target)"
    )
    check.add_argument(
        "--url", required=True, type=http_url, help="the metrics URL, e.g. http://host:9464/metrics"
    )
    check.add_argument(
        "--prometheus-url",
        type=http_url,
        help="the Prometheus that must report the target up (default $OPS_PROMETHEUS_URL;"
        " none configured: the check fails, exit 2)",
    )
    add_json_flag(check)
    check.set_defaults(handler=run_check_metrics)


def run_check_keycloak_hardening(args: argparse.Namespace, runtime: Runtime) -> int:
    report = check_keycloak_hardening(runtime.settings.keycloak, args.realm_export)
    verdict = "hardened" if report.ok else "NOT hardened"
    headline = (
        f"keycloak ({report.source or 'no realm source'}): {verdict}, "
        f"{len(report.issues)} issue(s), {len(report.warnings)} warning(s)"
    )
    emit(report.to_dict(), as_json=args.json, text=report.lines(headline))
    return check_exit(passed=report.ok, bad_input=bool(report.issue_codes & NO_REALM_SOURCE))


def run_serve_metrics(args: argparse.Namespace, runtime: Runtime) -> int:
    url = resolve_database_url(runtime.settings)
    engine = metrics_engine(url)
    try:
        server = MetricsServer(
            engine,
            host=args.host,
            port=args.port,
            token=runtime.settings.metrics_token,
            local_mode=runtime.settings.metrics_local_mode,
            cache_seconds=args.cache_seconds,
            rules=MetricRules(
                case_fallback_sla_hours=args.case_fallback_sla_hours,
                journal_approval_sla_hours=args.journal_sla_hours,
            ),
        )
    except OSError as exc:
        engine.dispose()
        raise InfrastructureError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror}"
        ) from None
    print(f"serving {server.url} for {describe_url(url)}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        engine.dispose()
    return EXIT_OK


def http_url(raw: str) -> str:
    """An absolute http(s) URL; anything else is bad input (exit 2), not an unreachable target."""
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidInput(f"expected an http(s) URL, got {raw[:100]!r}")
    return raw


def run_check_metrics(args: argparse.Namespace, runtime: Runtime) -> int:
    configured = runtime.settings.prometheus_url
    prometheus_url = args.prometheus_url or (http_url(configured) if configured else None)
    report = check_metrics(args.url, prometheus_url, token=runtime.settings.metrics_token)
    verdict = "healthy" if report.ok else "NOT healthy"
    scraped = f", scraped by {prometheus_url}" if prometheus_url and report.ok else ""
    headline = f"metrics {args.url}: {verdict}, {len(report.families)} families{scraped}"
    emit(report.to_dict(), as_json=args.json, text=report.lines(headline))
    return check_exit(
        passed=report.ok,
        bad_input=NOT_CONFIGURED in report.issue_codes,
        unreachable=bool(report.issue_codes & UNREACHABLE),
    )
