"""Runbook check 2: the role/permission matrix is reseeded, then verified to match exactly."""

from __future__ import annotations

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.rbac.seeding import RbacReport, seed_rbac

CHECK_NAME = "rbac"


def check_rbac(evaluation: Evaluation) -> CheckResult:
    """Reseed, then verify. Drift found before reseeding (a grant missing or extra, a role
    missing) fails and is listed, though reseeding repaired it, so the next run passes; a
    database that still differs after reseeding (a role the matrix does not declare) fails
    too. Users holding both a maker and a checker role pass with a warning in the details."""
    found = seed_rbac(evaluation.engine)
    verified = seed_rbac(evaluation.engine, check_only=True)
    warnings = [
        f"user {username} holds both a maker and a checker role"
        for username in verified.maker_checker_users
    ]
    details = {
        "drift_found": _drift(found),
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
            CHECK_NAME,
            "fail",
            "reseeding could not restore the matrix: " + "; ".join(problems),
            details,
        )
    repaired = [
        *(f"role {role} missing" for role in found.created_roles),
        *(f"grant {grant} missing" for grant in found.added_grants),
        *(f"grant {grant} extra" for grant in found.removed_grants),
    ]
    if repaired:
        return CheckResult(
            CHECK_NAME,
            "fail",
            f"database had drifted from the matrix (now reseeded): {', '.join(repaired)}"[:300],
            details,
        )
    summary = "matrix matches"
    if warnings:
        summary += f"; warning: {len(warnings)} maker+checker user(s)"
    return CheckResult(CHECK_NAME, "pass", summary, details)


def _drift(found: RbacReport) -> dict[str, list[str]]:
    return {
        "missing_roles": found.created_roles,
        "missing_grants": found.added_grants,
        "extra_grants": found.removed_grants,
    }
