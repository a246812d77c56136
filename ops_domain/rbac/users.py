"""Users and their role memberships."""

from __future__ import annotations

import re

from sqlalchemy import Engine, delete, insert, select

from ops_domain.audit.log import record_audit
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput
from ops_domain.rbac.matrix import ROLES
from ops_domain.rbac.models import Role, User, UserRole

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,150}$")


def validate_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise InvalidInput(
            f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(sorted(ROLES))}"
        )
    if not roles:
        raise InvalidInput("a user needs at least one role")
    return sorted(set(roles))


def add_user(
    engine: Engine,
    username: str,
    roles: list[str],
    *,
    full_name: str = "",
    email: str = "",
    service_account: bool = False,
    actor_id: int | None = None,
) -> int:
    """Create ``username`` with ``roles``, or set the roles of an existing user (idempotent)."""
    if not USERNAME_PATTERN.match(username or ""):
        raise InvalidInput(
            f"username {username!r} must be 1-150 letters, digits or . _ @ - characters"
        )
    wanted = validate_roles(roles)
    with transaction(engine) as session:
        role_ids = dict(
            session.execute(select(Role.name, Role.id).where(Role.name.in_(wanted))).all()
        )
        missing = sorted(set(wanted) - set(role_ids))
        if missing:
            raise InvalidInput(f"role(s) {', '.join(missing)} not seeded yet: run seed_rbac")
        user = session.scalar(select(User).where(User.username == username))
        before = None
        if user is None:
            user = User(
                username=username,
                full_name=full_name,
                email=email,
                is_service_account=service_account,
            )
            session.add(user)
            session.flush()
        else:
            current = session.scalars(
                select(Role.name).join(UserRole).where(UserRole.user_id == user.id)
            )
            before = {"roles": sorted(current)}
            session.execute(delete(UserRole).where(UserRole.user_id == user.id))
        session.execute(
            insert(UserRole), [{"user_id": user.id, "role_id": role_ids[r]} for r in wanted]
        )
        record_audit(
            session,
            actor_id=actor_id,
            action="user.create" if before is None else "user.set_roles",
            target_type="user",
            target_id=user.id,
            before=before,
            after={"username": username, "roles": wanted},
        )
        return user.id
