"""Who is acting: the actor check every job and action runs before touching anything."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ops_domain.errors import (
    ActorNotAllowed,
    InactiveActor,
    MakerCheckerViolation,
    ServiceAccountRefused,
    UnknownActor,
)
from ops_domain.principal import SCHEDULER, current_principal
from ops_domain.rbac.matrix import CHECKER_ROLES, SUPERUSER_ROLE, roles_granted
from ops_domain.rbac.models import Role, RolePermission, User, UserRole


@dataclass(frozen=True)
class Actor:
    id: int
    username: str
    roles: frozenset[str]
    permissions: frozenset[str]
    is_service_account: bool = False

    def is_checker(self) -> bool:
        return bool(self.roles & CHECKER_ROLES)

    def is_superuser(self) -> bool:
        return SUPERUSER_ROLE in self.roles


def load_actor(session: Session, username: str) -> Actor:
    """The active user ``username`` with the roles and permissions the database grants."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UnknownActor(username)
    if not user.is_active:
        raise InactiveActor(username)
    rows = session.execute(
        select(Role.name, RolePermission.permission)
        .join(UserRole, UserRole.role_id == Role.id)
        .outerjoin(RolePermission, RolePermission.role_id == Role.id)
        .where(UserRole.user_id == user.id)
    ).all()
    roles = frozenset(name for name, _ in rows)
    permissions = frozenset(perm for _, perm in rows if perm is not None)
    return Actor(user.id, user.username, roles, permissions, user.is_service_account)


def require_actor(session: Session, username: str, permission: str, job: str) -> Actor:
    """Refuse, naming the roles that would be accepted, unless ``username`` may do ``job``.

    A service account acts only for the scheduler: a request whose authenticated principal is
    a person (an Airflow login, a CLI user) may not act as one.
    """
    actor = load_actor(session, username)
    principal = current_principal()
    if actor.is_service_account and principal is not None and principal.channel != SCHEDULER:
        raise ServiceAccountRefused(username, principal.describe())
    if not (actor.is_superuser() or permission in actor.permissions):
        raise ActorNotAllowed(username, job, roles_granted(permission))
    return actor


def require_checker(checker: Actor, maker_id: int | None, note: str | None, action: str) -> None:
    """Maker-checker: a checker role, never the maker, and a note explaining the decision."""
    if not checker.is_checker():
        raise MakerCheckerViolation(
            f"{action} needs a checker role ({', '.join(sorted(CHECKER_ROLES))});"
            f" {checker.username!r} has none"
        )
    if maker_id is not None and checker.id == maker_id:
        raise MakerCheckerViolation(f"{action}: the checker {checker.username!r} is the maker")
    require_note(note, action)


def require_different_person(checker: Actor, maker_id: int | None, action: str) -> None:
    if maker_id is not None and checker.id == maker_id:
        raise MakerCheckerViolation(f"{action}: {checker.username!r} is the maker")


def require_note(note: str | None, action: str) -> None:
    if not (note and note.strip()):
        raise MakerCheckerViolation(f"{action} needs a note")
