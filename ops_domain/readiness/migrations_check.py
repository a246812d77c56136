"""Runbook check 1: the target database is at the code's Alembic head."""

from __future__ import annotations

from ops_domain.checks import CheckResult, Evaluation

CHECK_NAME = "migrations"


def check_migrations(evaluation: Evaluation) -> CheckResult:
    """Pass only when the database's revision equals the head."""
    # Alembic costs half a second to import: the release DAG reads this module when parsed.
    from ops_domain.schema import current_revision, head_revision

    current = current_revision(evaluation.engine)
    head = head_revision()
    details = {"current": current, "head": head}
    if current == head:
        return CheckResult(CHECK_NAME, "pass", f"database at head {head}", details)
    return CheckResult(
        CHECK_NAME,
        "fail",
        f"database at {current or 'no revision'}, code head is {head}: run migrate",
        details,
    )
