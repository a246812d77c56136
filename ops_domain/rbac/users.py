"""Users and their role memberships: who may grant roles, and how the first admin appears."""

from __future__ import annotations

import re

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session

from ops_domain.audit.actions import USER_BOOTSTRAP, USER_CREATE, USER_DEACTIVATE, USER_SET_ROLES
from ops_domain.audit.log import record_audit
from ops_domain.db import transaction
from ops_domain.errors import ActorNotAllowed, InvalidInput, MakerCheckerViolation, NotFound
from ops_domain.rbac.actors import Actor, require_actor
from ops_domain.rbac.matrix import (
    CHECKER_ROLES,
    MAKER_ROLES,
    ROLES,
    SUPERUSER_ROLE,
    roles_granted,
)
from ops_domain.rbac.models import Role, RolePermission, User, UserRole

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,150}$")
MANAGE_USERS = "rbac.manage"
# Serialises bootstraps so two first-admin requests cannot both see "no administrator yet".
_BOOTSTRAP_LOCK = 7_340_001


def validate_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidInput(
            f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(sorted(ROLES))}"
        )
    if not roles:
        raise InvalidInput("a user needs at least one role")
    return sorted(set(roles))


def maker_checker_warning(username: str, roles: list[str]) -> str | None:
    """Holding a maker and a checker role is allowed but lets one person make and check."""
    makers, checkers = sorted(set(roles) & MAKER_ROLES), sorted(set(roles) & CHECKER_ROLES)
    if not (makers and checkers):
        return None
    return (
        f"{username} holds maker role(s) {', '.join(makers)} and checker role(s)"
        f" {', '.join(checkers)}: one person can make and check"
    )


def add_user(
    engine: Engine,
    username: str,
    roles: list[str],
    *,
    actor_username: str | None = None,
    full_name: str = "",
    email: str = "",
    service_account: bool = False,
) -> int:
    """Create ``username`` with ``roles``, or set the roles of an existing user.

    With ``actor_username`` (every CLI call) the actor must hold rbac.manage, may not change
    their own roles, and only a super_admin grants or removes super_admin; the audit row names
    the actor. Without one it is provisioning by code (test fixtures, the bench), audited with
    no actor; the CLI's only actor-less path is ``bootstrap_admin``.
    """
    wanted = _validated(username, roles)
    with transaction(engine) as session:
        actor = None
        if actor_username is not None:
            actor = require_actor(session, actor_username, MANAGE_USERS, "users add")
            if actor.username == username:
                raise MakerCheckerViolation(
                    f"users add: {username!r} cannot change their own roles"
                )
            _require_superuser_for(actor, wanted + _roles_of(session, username), "users add")
        return store_user(
            session,
            username,
            wanted,
            actor_id=actor.id if actor else None,
            full_name=full_name,
            email=email,
            service_account=service_account,
        )


def bootstrap_admin(
    engine: Engine, username: str, roles: list[str], *, full_name: str = "", email: str = ""
) -> int:
    """The first administrator of a fresh install, created with no actor (``user.bootstrap``).

    Allowed only while no active user holds rbac.manage, and only with administrator roles.
    Repeating it for an administrator who already has exactly these roles changes nothing, so a
    deployment's setup step can be rerun.
    """
    wanted = _validated(username, roles)
    administrator_roles = roles_granted(MANAGE_USERS)
    if not set(wanted) <= set(administrator_roles):
        raise InvalidInput(
            f"without --actor-username, users add only creates the first administrator"
            f" (roles {', '.join(administrator_roles)}); {', '.join(wanted)} needs an actor"
        )
    with transaction(engine) as session:
        session.execute(select(func.pg_advisory_xact_lock(_BOOTSTRAP_LOCK)))
        administrators = _active_administrators(session)
        if administrators:
            user_id = session.scalar(select(User.id).where(User.username == username))
            if username in administrators and _roles_of(session, username) == wanted:
                return user_id  # type: ignore[return-value]
            raise InvalidInput(
                f"users add needs --actor-username holding rbac.manage"
                f" ({', '.join(administrator_roles)}): an active administrator already exists"
            )
        return store_user(
            session,
            username,
            wanted,
            actor_id=None,
            full_name=full_name,
            email=email,
            service_account=False,
            action=USER_BOOTSTRAP,
        )


def deactivate_user(engine: Engine, username: str, *, actor_username: str) -> bool:
    """Deactivate ``username`` (audited ``user.deactivate``); False when it already was.

    The actor holds rbac.manage, is not the user (so an administrator always remains), and
    only a super_admin deactivates a super_admin.
    """
    with transaction(engine) as session:
        actor = require_actor(session, actor_username, MANAGE_USERS, "users deactivate")
        user = session.scalar(select(User).where(User.username == username).with_for_update())
        if user is None:
            raise NotFound("user", username)
        if user.id == actor.id:
            raise MakerCheckerViolation(
                f"users deactivate: {username!r} cannot deactivate themselves"
            )
        _require_superuser_for(actor, _roles_of(session, username), "users deactivate")
        if not user.is_active:
            return False
        user.is_active = False
        record_audit(
            session,
            actor_id=actor.id,
            action=USER_DEACTIVATE,
            target_type="user",
            target_id=user.id,
            before={"username": username, "active": True},
            after={"username": username, "active": False},
        )
        return True


def _validated(username: str, roles: list[str]) -> list[str]:
    if not USERNAME_PATTERN.match(username or ""):
        raise InvalidInput(
            f"username {username!r} must be 1-150 letters, digits or . _ @ - characters"
        )
    return validate_roles(roles)


def _require_superuser_for(actor: Actor, roles: list[str], action: str) -> None:
    if SUPERUSER_ROLE in roles and not actor.is_superuser():
        raise ActorNotAllowed(actor.username, f"{action} on a super_admin", [SUPERUSER_ROLE])


def _roles_of(session: Session, username: str) -> list[str]:
    return sorted(
        session.scalars(
            select(Role.name)
            .join(UserRole, UserRole.role_id == Role.id)
            .join(User, User.id == UserRole.user_id)
            .where(User.username == username)
        )
    )


def _active_administrators(session: Session) -> set[str]:
    """Active users holding rbac.manage through a role grant or super_admin."""
    holds = (RolePermission.permission == MANAGE_USERS) | (Role.name == SUPERUSER_ROLE)
    return set(
        session.scalars(
            select(User.username)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .outerjoin(RolePermission, RolePermission.role_id == Role.id)
            .where(User.is_active, holds)
        )
    )


def store_user(
    session: Session,
    username: str,
    wanted: list[str],
    *,
    actor_id: int | None,
    full_name: str,
    email: str,
    service_account: bool,
    action: str | None = None,
    details: dict[str, str] | None = None,
) -> int:
    """Create ``username`` with exactly the roles ``wanted`` (validated), or set an existing
    user's roles to them, in the caller's transaction; audited as ``action``."""
    role_ids = dict(session.execute(select(Role.name, Role.id).where(Role.name.in_(wanted))).all())
    missing = sorted(set(wanted) - set(role_ids))
    if missing:
        raise InvalidInput(f"role(s) {', '.join(missing)} not seeded yet: run seed_rbac")
    user = session.scalar(select(User).where(User.username == username).with_for_update())
    before = None
    if user is None:
        user = User(
            username=username, full_name=full_name, email=email, is_service_account=service_account
        )
        session.add(user)
        session.flush()
    else:
        before = {"roles": _roles_of(session, username)}
        session.execute(delete(UserRole).where(UserRole.user_id == user.id))
    session.execute(
        insert(UserRole), [{"user_id": user.id, "role_id": role_ids[r]} for r in wanted]
    )
    record_audit(
        session,
        actor_id=actor_id,
        action=action or (USER_CREATE if before is None else USER_SET_ROLES),
        target_type="user",
        target_id=user.id,
        before=before,
        after={"username": username, "roles": wanted},
        details=details,
    )
    return user.id
