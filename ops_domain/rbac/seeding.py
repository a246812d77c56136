"""Reseed the declared matrix into the database, or report how the database drifted from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session

from ops_domain.db import transaction
from ops_domain.rbac.matrix import CHECKER_ROLES, MAKER_ROLES, ROLES, declared_grants
from ops_domain.rbac.models import Role, RolePermission, User, UserRole


@dataclass
class RbacReport:
    """What reseeding changed (or, when checking, would change)."""

    created_roles: list[str] = field(default_factory=list)
    added_grants: list[str] = field(default_factory=list)
    removed_grants: list[str] = field(default_factory=list)
    unknown_roles: list[str] = field(default_factory=list)
    maker_checker_users: list[str] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        return bool(
            self.created_roles or self.added_grants or self.removed_grants or self.unknown_roles
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "drift": self.drift,
            "created_roles": self.created_roles,
            "added_grants": self.added_grants,
            "removed_grants": self.removed_grants,
            "unknown_roles": self.unknown_roles,
            "maker_checker_users": self.maker_checker_users,
        }


def seed_rbac(engine: Engine, *, check_only: bool = False) -> RbacReport:
    """Make roles and grants equal the declared matrix; with ``check_only`` change nothing.

    Roles in the database that the matrix does not declare are reported, never deleted: users
    may still hold them, and removing access silently is an incident of its own.
    """
    with transaction(engine) as session:
        report = _compare(session)
        if not check_only:
            _apply(session, report)
        report.maker_checker_users = _maker_checker_users(session)
        if check_only:
            session.rollback()
    return report


def _compare(session: Session) -> RbacReport:
    report = RbacReport()
    existing_roles = set(session.scalars(select(Role.name)))
    report.created_roles = sorted(set(ROLES) - existing_roles)
    report.unknown_roles = sorted(existing_roles - set(ROLES))
    actual = {
        (role, perm)
        for role, perm in session.execute(
            select(Role.name, RolePermission.permission).join(
                RolePermission, RolePermission.role_id == Role.id
            )
        )
    }
    declared = {(role, perm) for role, perms in declared_grants().items() for perm in perms}
    report.added_grants = sorted(f"{role}:{perm}" for role, perm in declared - actual)
    report.removed_grants = sorted(
        f"{role}:{perm}" for role, perm in actual - declared if role in ROLES
    )
    return report


def _apply(session: Session, report: RbacReport) -> None:
    if report.created_roles:
        session.execute(
            insert(Role),
            [{"name": name, "description": ROLES[name]} for name in report.created_roles],
        )
    role_ids = dict(session.execute(select(Role.name, Role.id)).all())
    for grant in report.removed_grants:
        role, perm = grant.split(":", 1)
        session.execute(
            delete(RolePermission).where(
                RolePermission.role_id == role_ids[role], RolePermission.permission == perm
            )
        )
    if report.added_grants:
        rows = []
        for grant in report.added_grants:
            role, perm = grant.split(":", 1)
            rows.append({"role_id": role_ids[role], "permission": perm})
        session.execute(insert(RolePermission), rows)


def _maker_checker_users(session: Session) -> list[str]:
    """Users holding both a maker and a checker role: allowed, but worth a warning."""
    roles_of = (
        select(User.username, func.array_agg(Role.name))
        .join(UserRole, UserRole.user_id == User.id)
        .join(Role, Role.id == UserRole.role_id)
        .where(User.is_active)
        .group_by(User.username)
    )
    return sorted(
        username
        for username, roles in session.execute(roles_of).tuples()
        if set(roles) & MAKER_ROLES and set(roles) & CHECKER_ROLES
    )
