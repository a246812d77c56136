"""Keeping the ops users in step with Keycloak, where people log in in production.

A DAG run acts as the ops user whose username is the Airflow login, which the Keycloak auth
manager takes from Keycloak. ``sync_users`` makes the ops users match the realm through
``KEYCLOAK_ROLE_GROUP_MAP`` (``keycloak_role:ops_role,...``):

- an enabled Keycloak user holding at least one mapped realm role (directly, through a group
  or a composite: the effective roles) is an active ops user with exactly the mapped roles:
  created when new, its roles set when they differ, reactivated when it had been deactivated;
- an active ops user who is not such a Keycloak user (left the realm, disabled, lost every
  mapped role) is deactivated;
- service accounts do not log in and are never touched; the actor running the sync is never
  changed by it (nobody changes their own roles), and only a super_admin actor grants or
  removes super_admin: such changes are listed as skipped, with the reason.

Everything is one transaction, audited like ``users add`` / ``users deactivate`` (plus
``user.reactivate``) with ``{"source": "keycloak"}``; a dry run reports the same plan and
writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from ops_domain.audit.actions import USER_DEACTIVATE, USER_REACTIVATE
from ops_domain.audit.log import record_audit
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput
from ops_domain.rbac.actors import Actor, require_actor
from ops_domain.rbac.matrix import SUPERUSER_ROLE
from ops_domain.rbac.models import Role, User, UserRole
from ops_domain.rbac.users import MANAGE_USERS, USERNAME_PATTERN, store_user
from ops_domain.readiness.keycloak import HardeningReport, parse_settings
from ops_domain.readiness.keycloak_realm import admin_session

SOURCE = {"source": "keycloak"}


@dataclass(frozen=True)
class DirectoryUser:
    """A Keycloak user who may log in to the platform, with the ops roles it maps to."""

    username: str
    roles: tuple[str, ...]
    full_name: str = ""
    email: str = ""


@dataclass(frozen=True)
class OpsUser:
    username: str
    active: bool
    service_account: bool
    roles: tuple[str, ...]


@dataclass(frozen=True)
class SyncChange:
    username: str
    change: str  # create | set_roles | reactivate | deactivate
    roles_before: tuple[str, ...]
    roles_after: tuple[str, ...]
    skipped: str | None = None


@dataclass(frozen=True)
class SyncReport:
    changes: tuple[SyncChange, ...]
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        applied = [c for c in self.changes if c.skipped is None]
        counts = dict.fromkeys(("create", "set_roles", "reactivate", "deactivate"), 0)
        for change in applied:
            counts[change.change] += 1
        return {
            "dry_run": self.dry_run,
            "counts": {**counts, "skipped": len(self.changes) - len(applied)},
            "changes": [asdict(change) for change in self.changes],
        }


def directory_from_keycloak(env: Mapping[str, str]) -> list[DirectoryUser]:
    """The realm's users who may log in, read through the admin API (``KEYCLOAK_ADMIN_*``)
    and mapped through ``KEYCLOAK_ROLE_GROUP_MAP``; a setting that is missing or malformed is
    bad input, an admin API that cannot be read is ``KeycloakUnavailable``."""
    report = HardeningReport()
    settings = parse_settings(env, report)
    problems = [f.message for f in report.issues if f.code.startswith("role_map")]
    if problems or not settings.role_map:
        raise InvalidInput("; ".join(problems) or "KEYCLOAK_ROLE_GROUP_MAP is not set")
    if settings.admin is None or settings.realm is None:
        raise InvalidInput(
            "users sync reads Keycloak's admin API: set KEYCLOAK_REALM, KEYCLOAK_ADMIN_URL (or"
            " KEYCLOAK_BASE_URL) and KEYCLOAK_ADMIN_CLIENT_SECRET or KEYCLOAK_ADMIN_USERNAME and"
            " KEYCLOAK_ADMIN_PASSWORD"
        )
    admin, call = admin_session(settings.admin, settings.realm)
    mapped = dict(settings.role_map)
    users = call("listing users", lambda: admin.get_users({}))
    directory = []
    for user in users:
        if not user.get("enabled", False):
            continue
        effective = call(
            f"reading the realm roles of {user['username']}",
            lambda user=user: admin.get_composite_realm_roles_of_user(user["id"]),
        )
        roles = sorted({mapped[r["name"]] for r in effective if r["name"] in mapped})
        if roles:
            name = " ".join(p for p in (user.get("firstName"), user.get("lastName")) if p)
            directory.append(
                DirectoryUser(user["username"], tuple(roles), name, user.get("email") or "")
            )
    return directory


def plan_sync(
    current: Iterable[OpsUser], directory: Iterable[DirectoryUser], actor: Actor
) -> list[SyncChange]:
    """What makes the ops users match ``directory``, in username order."""
    ops = {user.username: user for user in current}
    wanted = {user.username: user for user in directory}
    changes = []
    for username in sorted(ops.keys() | wanted.keys()):
        user, entry = ops.get(username), wanted.get(username)
        if user is not None and user.service_account:
            continue
        before = user.roles if user else ()
        after = entry.roles if entry else before
        if entry is None:
            change = "deactivate" if user and user.active else None
        elif user is None:
            change = "create"
        elif not user.active:
            change = "reactivate"
        else:
            change = "set_roles" if before != after else None
        if change is not None:
            changes.append(
                SyncChange(
                    username, change, before, after, _refusal(actor, username, before, after)
                )
            )
    return changes


def _refusal(actor: Actor, username: str, before: tuple, after: tuple) -> str | None:
    if username == actor.username:
        return f"{username} runs the sync: nobody changes their own account"
    if SUPERUSER_ROLE in (*before, *after) and not actor.is_superuser():
        return f"only a super_admin changes the super_admin {username}"
    if not USERNAME_PATTERN.match(username):
        return f"{username!r} is not a valid ops username"
    return None


def sync_users(
    engine: Engine,
    directory: list[DirectoryUser],
    *,
    actor_username: str,
    dry_run: bool = False,
) -> SyncReport:
    """Reconcile the ops users with ``directory`` as ``actor_username`` (rbac.manage)."""
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, MANAGE_USERS, "users sync")
        changes = plan_sync(_ops_users(session), directory, actor)
        if not dry_run:
            entries = {entry.username: entry for entry in directory}
            for change in changes:
                if change.skipped is None:
                    _apply(session, change, entries.get(change.username), actor)
    return SyncReport(tuple(changes), dry_run)


def _ops_users(session: Session) -> list[OpsUser]:
    rows = session.execute(
        select(User.username, User.is_active, User.is_service_account, Role.name)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .outerjoin(Role, Role.id == UserRole.role_id)
        .with_for_update(of=User)
    ).all()
    roles: dict[str, list[str]] = {}
    flags: dict[str, tuple[bool, bool]] = {}
    for username, active, service, role in rows:
        flags[username] = (active, service)
        roles.setdefault(username, []).extend([role] if role else [])
    return [
        OpsUser(name, active, service, tuple(sorted(roles[name])))
        for name, (active, service) in flags.items()
    ]


def _apply(session: Session, change: SyncChange, entry: DirectoryUser | None, actor: Actor) -> None:
    if change.change in ("deactivate", "reactivate"):
        active = change.change == "reactivate"
        user_id = session.execute(
            update(User)
            .where(User.username == change.username)
            .values(is_active=active)
            .returning(User.id)
        ).scalar_one()
        record_audit(
            session,
            actor_id=actor.id,
            action=USER_REACTIVATE if active else USER_DEACTIVATE,
            target_type="user",
            target_id=user_id,
            before={"username": change.username, "active": not active},
            after={"username": change.username, "active": active},
            details=SOURCE,
        )
    if entry is not None and (change.change != "reactivate" or entry.roles != change.roles_before):
        store_user(
            session,
            change.username,
            list(entry.roles),
            actor_id=actor.id,
            full_name=entry.full_name,
            email=entry.email,
            service_account=False,
            details=SOURCE,
        )
