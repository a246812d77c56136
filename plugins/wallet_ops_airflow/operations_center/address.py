"""Where the Operations Center lives in the api-server (no Airflow import: the local
platform's scripts print these addresses)."""

from __future__ import annotations

from urllib.parse import urlencode

URL_PREFIX = "/ops"
READINESS = "readiness"


def readiness_url(base_url: str, release_id: str, environment: str) -> str:
    """The Release readiness page of ``release_id`` in ``environment`` on ``base_url``."""
    query = urlencode({"release_id": release_id, "environment": environment})
    return f"{base_url.rstrip('/')}{URL_PREFIX}/{READINESS}?{query}"
