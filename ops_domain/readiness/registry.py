"""The release checks of the runbook: each one's name and its group, in the order they run.

The one list the CLI report (``report.readiness_checks`` runs them in this order, one runner
per name), the release DAG (one task group per group, one task per check) and the gate
(``gate.RUNBOOK_CHECKS``: a release is released only over all of them) read. Adding a check:
its module, its entry here, its runner in ``report.py``, and its tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReleaseCheck:
    name: str
    group: str  # the release DAG's task group


READINESS_CHECKS = (
    ReleaseCheck("migrations", "database"),
    ReleaseCheck("rbac", "database"),
    ReleaseCheck("db_isolation", "database"),
    ReleaseCheck("readiness_snapshot", "business_state"),
    ReleaseCheck("keycloak_hardening", "platform"),
    ReleaseCheck("metrics", "platform"),
    ReleaseCheck("smoke_tests", "end_to_end"),
    ReleaseCheck("data_quality", "business_state"),
)
CHECK_NAMES = tuple(check.name for check in READINESS_CHECKS)


def check_groups() -> dict[str, tuple[str, ...]]:
    """Group -> its checks' names, groups in the order their first check runs."""
    groups: dict[str, tuple[str, ...]] = {}
    for check in READINESS_CHECKS:
        groups[check.group] = (*groups.get(check.group, ()), check.name)
    return groups
