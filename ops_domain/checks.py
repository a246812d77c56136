"""The result every release-readiness check returns, and the fail-closed wrapper.

A ground-floor module: the checks of every capability (readiness, metrics, data quality)
return a ``CheckResult`` and import only this, so no capability imports the release gate
back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ops_domain.errors import InfrastructureError
from ops_domain.jsonable import jsonable

log = logging.getLogger(__name__)

CheckStatus = Literal["pass", "fail", "error", "waived"]
PASSING_STATUSES = frozenset({"pass", "waived"})


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
