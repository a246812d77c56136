"""The release check protocol: what a check judges, the result it returns, fail-closed.

A ground-floor module: the checks of every capability (readiness, metrics, data quality)
take an ``Evaluation`` and return a ``CheckResult``, importing only this, so no capability
imports the runbook that lists them back. A check raises when it cannot judge; the
runbook's registry runs it inside ``fail_closed``, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ops_domain.errors import InfrastructureError
from ops_domain.jsonable import jsonable

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ops_domain.config import Settings

log = logging.getLogger(__name__)

CheckStatus = Literal["pass", "fail", "error", "waived"]
PASSING_STATUSES = frozenset({"pass", "waived"})


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a release: the ops database judged, the settings, the release and
    its environment, and the instant every check judges at."""

    engine: Engine
    settings: Settings
    release_id: str
    environment: str
    now: datetime

    @property
    def ops_database_url(self) -> str:
        """The database the evaluation judges (the one the DAGs and the CLI act on)."""
        return self.engine.url.render_as_string(hide_password=False)


@dataclass
class CheckResult:
    name: str
    status: CheckStatus
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status in PASSING_STATUSES

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "name": self.name,
                "status": self.status,
                "summary": self.summary,
                "details": self.details,
            }
        )


def fail_closed(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    """Run ``check``; any exception becomes an ``error`` result, which the gate counts as failed.

    The message keeps only the exception's first line: secrets in connection strings or
    driver messages never reach the snapshot, the logs or XCom.
    """
    try:
        return check()
    except Exception as exc:
        log.warning("check %s errored: %s", name, type(exc).__name__)
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        details: dict[str, Any] = {"exception": type(exc).__name__}
        if isinstance(exc, InfrastructureError):
            details["unreachable"] = True  # the CLI exits 3: retrying may help
        return CheckResult(name, "error", f"{type(exc).__name__}: {first_line}"[:300], details)
