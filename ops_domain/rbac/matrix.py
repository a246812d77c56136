"""The declared role -> permission matrix: the single source the database is reseeded from."""

from __future__ import annotations

ROLES: dict[str, str] = {
    "super_admin": "Passes every role check",
    "admin": "Platform administrator and checker",
    "finance": "Finance maker: settlements, journals, period close",
    "treasury": "Treasury maker: payouts and cash movements",
    "customer_service": "Customer service: cases and refund requests",
    "risk": "Risk checker: approvals, disputes, emergency actions",
    "operation": "Operations maker: daily jobs and work queues",
    "sales": "Sales: merchant views",
}
MAKER_ROLES = frozenset({"finance", "operation", "sales", "treasury"})
CHECKER_ROLES = frozenset({"admin", "super_admin", "risk"})
SUPERUSER_ROLE = "super_admin"

# permission -> roles granted it (super_admin is granted everything below as well)
PERMISSION_ROLES: dict[str, frozenset[str]] = {
    "settlements.run": frozenset({"operation", "finance", "admin"}),
    "settlements.approve": frozenset({"admin", "risk"}),
    "payouts.decide": frozenset({"admin", "risk"}),
    "payouts.resubmit": frozenset({"treasury", "operation", "finance", "admin"}),
    "refunds.request": frozenset({"customer_service", "operation", "finance", "admin"}),
    "refunds.decide": frozenset({"admin", "risk"}),
    "refunds.execute": frozenset({"treasury", "finance", "admin"}),
    "disputes.escalate": frozenset({"operation", "risk", "admin"}),
    "chargebacks.manage": frozenset({"risk", "operation", "admin"}),
    "cases.manage": frozenset({"customer_service", "operation", "risk", "admin"}),
    "cases.escalate": frozenset({"operation", "risk", "admin"}),
    "work_queue.escalate": frozenset({"operation", "risk", "admin"}),
    "alerts.manage": frozenset({"operation", "risk", "admin"}),
    "journals.create": frozenset({"finance", "treasury", "operation", "admin"}),
    "journals.approve": frozenset({"admin", "risk"}),
    "periods.close": frozenset({"finance", "admin"}),
    "periods.reopen": frozenset({"admin"}),
    "reconciliation.run": frozenset({"operation", "finance", "admin"}),
    "reconciliation.propose_resolution": frozenset({"operation", "finance", "admin"}),
    "reconciliation.approve_resolution": frozenset({"admin", "risk"}),
    "release.gate": frozenset({"operation", "risk", "finance", "admin"}),
    "waivers.request": frozenset({"operation", "risk", "finance", "admin"}),
    "waivers.approve": frozenset({"admin", "risk"}),
    "emergency.act": frozenset({"risk", "operation", "admin"}),
    "emergency.lift_freeze": frozenset({"admin", "risk"}),
    "rbac.manage": frozenset({"admin"}),
    "reports.view": frozenset(ROLES) - {SUPERUSER_ROLE},
}


def declared_grants() -> dict[str, frozenset[str]]:
    """role -> permissions, with super_admin holding every permission."""
    grants: dict[str, set[str]] = {role: set() for role in ROLES}
    for permission, roles in PERMISSION_ROLES.items():
        for role in roles | {SUPERUSER_ROLE}:
            grants[role].add(permission)
    return {role: frozenset(perms) for role, perms in grants.items()}


def roles_granted(permission: str) -> list[str]:
    """Roles that hold ``permission`` in the declared matrix, for error messages."""
    return sorted(PERMISSION_ROLES[permission] | {SUPERUSER_ROLE})
