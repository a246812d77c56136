"""Runbook check 2: the role/permission matrix is reseeded, then verified to match exactly."""

from __future__ import annotations

from sqlalchemy import Engine

from ops_domain.checks import CheckResult, fail_closed
from ops_domain.rbac.seeding import seed_rbac

CHECK_NAME = "rbac"


def check_rbac(engine: Engine) -> CheckResult:
    """Reseed, then verify: any grant missing or extra, or a role the matrix does not declare,
    fails. Users holding both a maker and a checker role pass with a warning in the details."""
    return fail_closed(CHECK_NAME, lambda: _reseed_and_verify(engine))


def _reseed_and_verify(engine: Engine) -> CheckResult:
    reseeded = seed_rbac(engine)
    verified = seed_rbac(engine, check_only=True)
    warnings = [
        f"user {username} holds both a maker and a checker role"
        for username in verified.maker_checker_users
    ]
    details = {
        "reseeded": {
            "created_roles": reseeded.created_roles,
            "added_grants": reseeded.added_grants,
            "removed_grants": reseeded.removed_grants,
        },
        "missing_grants": verified.added_grants,
        "extra_grants": verified.removed_grants,
        "undeclared_roles": verified.unknown_roles,
        "warnings": warnings,
    }
    if verified.drift:
        problems = [
            f"{len(verified.added_grants)} grant(s) missing",
            f"{len(verified.removed_grants)} extra grant(s)",
            f"undeclared role(s): {', '.join(verified.unknown_roles) or 'none'}",
        ]
        return CheckResult(
            CHECK_NAME, "fail", "database differs from the matrix: " + "; ".join(problems), details
        )
    changed = len(reseeded.added_grants) + len(reseeded.removed_grants)
    summary = f"matrix matches ({changed} grant(s) fixed by reseeding)"
    if warnings:
        summary += f"; warning: {len(warnings)} maker+checker user(s)"
    return CheckResult(CHECK_NAME, "pass", summary, details)
