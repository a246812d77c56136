"""The Operations Center's address on the local platform, for what the scripts print.

The scripts run outside Airflow, which is what puts ``plugins/`` on the import path; the
address module imports nothing of Airflow, so it is read from there directly.
"""

from __future__ import annotations

import sys

from ops_domain.config import PROJECT_ROOT
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT

PLUGINS = str(PROJECT_ROOT / "plugins")
if PLUGINS not in sys.path:
    sys.path.append(PLUGINS)

from wallet_ops_airflow.operations_center.address import (  # noqa: E402
    URL_PREFIX,
    readiness_url,
)


def demo_release_url(base_url: str, release_id: str) -> str:
    """The demo release's page: where its gate's verdicts, counters and waivers are."""
    return readiness_url(base_url, release_id, DEFAULT_ENVIRONMENT)


def home_url(base_url: str) -> str:
    """The Operations Center's first page (the latest release gated)."""
    return f"{base_url.rstrip('/')}{URL_PREFIX}/"
