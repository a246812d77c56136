"""The metrics HTTP endpoint: ``/metrics``, ``/healthz`` and ``/readyz``.

- ``/metrics``: the ``wallet_ops_*`` families; 503 when the database cannot be read (a stale or
  invented figure is worse than a missed scrape: Prometheus then marks the target down).
- ``/healthz``: the process answers (liveness). ``/readyz``: the database answers, else 503.
- When ``OPS_METRICS_TOKEN`` is set, ``/metrics`` needs it in ``X-Metrics-Token`` or as
  ``Authorization: Bearer`` (what Prometheus 2.x sends with a scrape ``authorization`` block;
  custom scrape headers only arrived in later Prometheus versions). Compared in constant time.
  Probes stay open: they reveal nothing but up/down.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import Engine, create_engine, text

from ops_domain.db import translate_db_errors
from ops_domain.errors import DatabaseUnavailable, InvalidInput
from ops_domain.metrics.collector import DEFAULT_RULES, MetricRules, OpsMetricsCollector

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Metrics-Token"  # noqa: S105 (a header name, not a secret)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464


def metrics_engine(url: str) -> Engine:
    """A small pool with short timeouts, opened lazily: the exporter starts (and says not
    ready) even while the database is down."""
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=2,
        max_overflow=2,
        connect_args={
            "connect_timeout": 3,
            "application_name": "ops_metrics",
            "options": "-c statement_timeout=5000",
        },
    )


def database_ready(engine: Engine) -> bool:
    try:
        with translate_db_errors(engine.url), engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DatabaseUnavailable:
        return False
    return True


def token_accepted(expected: str | None, headers: dict[str, str]) -> bool:
    """No token configured: open. Otherwise the header or bearer token must match exactly."""
    if not expected:
        return True
    given = headers.get(TOKEN_HEADER.lower())
    if given is None:
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        given = credentials.strip() if scheme.lower() == "bearer" else ""
    return hmac.compare_digest(given.encode(), expected.encode())


def _require_protection(token: str | None, host: str, *, local_mode: bool) -> None:
    """Business figures are served to whoever holds the token; only an explicit local mode,
    bound to loopback, serves them openly (a developer's machine)."""
    if local_mode:
        if not _is_loopback(host):
            raise InvalidInput(
                f"the metrics exporter's local mode serves only on a loopback address, not {host}"
            )
        return
    if not token:
        raise InvalidInput(
            "OPS_METRICS_TOKEN is not set: the metrics exporter does not serve business figures"
            " to anyone who asks (set it, or OPS_METRICS_LOCAL_MODE=1 for a loopback-only"
            " local run)"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MetricsServer:
    """The exporter bound to ``host:port``; ``serve_forever`` for the CLI, ``start``/``stop``
    to run it on a background thread."""

    def __init__(
        self,
        engine: Engine,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        token: str | None = None,
        local_mode: bool = False,
        cache_seconds: float = 5.0,
        rules: MetricRules = DEFAULT_RULES,
    ) -> None:
        _require_protection(token, host, local_mode=local_mode)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(OpsMetricsCollector(engine, cache_seconds=cache_seconds, rules=rules))
        handler = type(
            "BoundMetricsHandler",
            (MetricsHandler,),
            {"registry": registry, "engine": engine, "token": token},
        )
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/metrics"

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def start(self) -> MetricsServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def close(self) -> None:
        self.httpd.server_close()


class MetricsHandler(BaseHTTPRequestHandler):
    registry: ClassVar[CollectorRegistry]
    engine: ClassVar[Engine]
    token: ClassVar[str | None]

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._reply(HTTPStatus.OK, b"ok\n")
        elif path == "/readyz":
            if database_ready(self.engine):
                self._reply(HTTPStatus.OK, b"ready\n")
            else:
                self._reply(HTTPStatus.SERVICE_UNAVAILABLE, b"database unavailable\n")
        elif path == "/metrics":
            self._metrics()
        else:
            self._reply(HTTPStatus.NOT_FOUND, b"not found\n")

    def _metrics(self) -> None:
        headers = {key.lower(): value for key, value in self.headers.items()}
        if not token_accepted(self.token, headers):
            self._reply(
                HTTPStatus.UNAUTHORIZED,
                b"metrics token required\n",
                extra={"WWW-Authenticate": "Bearer"},
            )
            return
        try:
            body = generate_latest(self.registry)
        except DatabaseUnavailable:
            self._reply(HTTPStatus.SERVICE_UNAVAILABLE, b"database unavailable\n")
            return
        except Exception:  # e.g. an unmigrated database: answer, never hang up silently
            log.exception("metrics collection failed")
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, b"metrics collection failed\n")
            return
        self._reply(HTTPStatus.OK, body, content_type=CONTENT_TYPE_LATEST)

    def _reply(
        self,
        status: HTTPStatus,
        body: bytes,
        *,
        content_type: str = "text/plain; charset=utf-8",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("metrics %s " + format, self.client_address[0], *args)
