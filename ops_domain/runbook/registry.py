"""The release checks of the runbook: each one's name, group and how it runs, in run order.

The one list that the CLI report (runs them in this order), the release DAG (one task group
per group, one task per check) and the verdict (``record_release_verdict``: a release is
released only over all of them) read. Adding a check: its module (a function of an
``Evaluation`` returning a ``CheckResult`` under its ``CHECK_NAME``), its entry here, and its
tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ops_domain.checks import CheckResult, Evaluation, fail_closed
from ops_domain.data_quality import service as data_quality
from ops_domain.metrics import check as metrics
from ops_domain.readiness import isolation, keycloak, migrations_check, rbac_check, smoke, snapshot


def _no_lines(result: CheckResult) -> list[str]:
    return []


@dataclass(frozen=True)
class ReleaseCheck:
    name: str
    group: str  # the release DAG's task group
    check: Callable[[Evaluation], CheckResult]
    # what a failing gate task names beyond the summary (data quality: each expectation)
    failure_lines: Callable[[CheckResult], list[str]] = _no_lines

    def run(self, evaluation: Evaluation) -> CheckResult:
        """The check, fail-closed (an exception is an ``error``). A result under another name
        is an ``error`` too, never renamed: the registry and the module disagree."""
        result = fail_closed(self.name, lambda: self.check(evaluation))
        if result.name != self.name:
            return CheckResult(
                self.name, "error", f"the check reported itself as {result.name!r}", {}
            )
        return result


RELEASE_CHECKS = (
    ReleaseCheck(migrations_check.CHECK_NAME, "database", migrations_check.check_migrations),
    ReleaseCheck(rbac_check.CHECK_NAME, "database", rbac_check.check_rbac),
    ReleaseCheck(isolation.CHECK_NAME, "database", isolation.isolation_check),
    ReleaseCheck(snapshot.CHECK_NAME, "business_state", snapshot.snapshot_check),
    ReleaseCheck(keycloak.CHECK_NAME, "platform", keycloak.keycloak_check),
    ReleaseCheck(metrics.CHECK_NAME, "platform", metrics.metrics_check),
    ReleaseCheck(smoke.CHECK_NAME, "end_to_end", smoke.smoke_check),
    ReleaseCheck(
        data_quality.CHECK_NAME,
        "business_state",
        data_quality.data_quality_check,
        data_quality.failed_expectations,
    ),
)
CHECK_NAMES = tuple(check.name for check in RELEASE_CHECKS)
RELEASE_CHECKS_BY_NAME = {check.name: check for check in RELEASE_CHECKS}


def check_groups() -> dict[str, tuple[ReleaseCheck, ...]]:
    """Group -> its checks, groups in the order their first check runs."""
    groups: dict[str, tuple[ReleaseCheck, ...]] = {}
    for check in RELEASE_CHECKS:
        groups[check.group] = (*groups.get(check.group, ()), check)
    return groups
