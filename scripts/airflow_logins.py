"""Local Airflow logins for the demo cast (simple auth manager), so maker-checker can be shown
with two browser sessions.

Every person of the demo cast gets a login of the same username (runs act as the login that
triggered them, mapped to the ops user of that name); the service account gets none (only
scheduled runs act as it). ``admin`` is Airflow's own administrator and maps to no ops user.
Passwords are generated once into the simple auth manager's password file under ``var/``
(owner-only) and reused afterwards.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from ops_domain.demo.cast import DEMO_USERS

PASSWORDS_FILE = "simple_auth_manager_passwords.json.generated"
AIRFLOW_ADMIN = "admin"
# Airflow role per ops role: USER may trigger and clear DAG runs; OP also manages pools,
# connections and variables, which only the ops administrators need.
AIRFLOW_ROLE_OF = {"admin": "OP", "super_admin": "OP"}
DEFAULT_AIRFLOW_ROLE = "USER"


@dataclass(frozen=True)
class Logins:
    """The cast's logins: username -> Airflow role, and username -> password."""

    roles: dict[str, str]
    passwords: dict[str, str]
    generated: tuple[str, ...]  # logins whose password was created just now

    def users_setting(self) -> str:
        """``[core] simple_auth_manager_users``: ``name:role`` pairs."""
        return ",".join(f"{name}:{role.lower()}" for name, role in self.roles.items())


def cast_roles() -> dict[str, str]:
    """Airflow role of every login: the demo's people, then Airflow's own ``admin``."""
    roles = {
        user.username: max(
            (AIRFLOW_ROLE_OF.get(role, DEFAULT_AIRFLOW_ROLE) for role in user.roles),
            key=("USER", "OP").index,
        )
        for user in DEMO_USERS
        if not user.service_account
    }
    return {**roles, AIRFLOW_ADMIN: "ADMIN"}


def cast_logins(home: Path) -> Logins:
    """Every login with its password: read from ``home``'s password file, the missing ones
    generated and stored (mode 0600)."""
    path = home / PASSWORDS_FILE
    stored = json.loads(path.read_text()) if path.exists() else {}
    roles = cast_roles()
    missing = tuple(name for name in roles if name not in stored)
    if missing:
        stored |= {name: secrets.token_urlsafe(12) for name in missing}
        home.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps(stored, indent=1) + "\n")
    return Logins(roles, {name: stored[name] for name in roles}, missing)
