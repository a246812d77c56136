"""The people the scenarios act as, by the roles the runbook gives them."""

from __future__ import annotations

from ops_domain.smoke.builders import Builders

ROLES = {
    "svc_airflow": "operation",
    "ops_runner": "operation",
    "accountant": "finance",
    "risk_checker": "risk",
    "platform_admin": "admin",
}


def add_staff(data: Builders, *usernames: str) -> dict[str, int]:
    """The named staff, each with their role: their user ids by username."""
    return {username: data.user(username, ROLES[username]) for username in usernames}
