"""A Prometheus stand-in for tests that are not about Prometheus itself: it really scrapes the
exporter (with the token) whenever it is asked about its target, and answers the two API calls
the metrics check makes from what that scrape returned. ``tests/test_metrics_prometheus.py``
runs the real Prometheus."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from prometheus_client.parser import text_string_to_metric_families

from ops_domain.metrics.exporter import TOKEN_HEADER

LABELS = {"job": "wallet_ops", "instance": "exporter"}


class _Api(BaseHTTPRequestHandler):
    target: ClassVar[str]
    token: ClassVar[str | None]
    families: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if self.path.startswith("/api/v1/targets"):
            health, error = self._scrape()
            target = {"scrapeUrl": self.target, "health": health, "lastError": error}
            self._answer({"activeTargets": [{**target, "labels": LABELS}]})
        elif self.path.startswith("/api/v1/query"):
            self._answer({"result": [{"metric": {"__name__": name}} for name in self.families]})
        else:
            self.send_error(404)

    def _scrape(self) -> tuple[str, str]:
        headers = {TOKEN_HEADER: self.token} if self.token else {}
        request = urllib.request.Request(self.target, headers=headers)  # noqa: S310 (test URL)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                text = response.read().decode()
        except (OSError, urllib.error.HTTPError) as exc:
            return "down", str(exc)
        type(self).families = sorted(f.name for f in text_string_to_metric_families(text))
        return "up", ""

    def _answer(self, data: dict[str, Any]) -> None:
        body = json.dumps({"status": "success", "data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def scraping_prometheus(metrics_url: str, token: str | None) -> Iterator[str]:
    """The stand-in's base URL while it runs; stopped on exit, also when the test fails."""
    handler = type("Api", (_Api,), {"target": metrics_url, "token": token, "families": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
