"""Typed errors. Each carries what a person needs to fix the input, and the CLI exit code."""

from __future__ import annotations

from typing import Any


class OpsError(Exception):
    """Base of every error the platform raises on purpose."""

    exit_code = 2


class DomainError(OpsError):
    """A business rule refused the request; nothing was changed."""

    exit_code = 2


class InvalidInput(DomainError):
    """A malformed argument: bad date, unknown currency, negative threshold..."""


class NotFound(DomainError):
    """The named record does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class UnknownActor(DomainError):
    def __init__(self, username: str) -> None:
        super().__init__(f"actor {username!r} does not exist")
        self.username = username


class InactiveActor(DomainError):
    def __init__(self, username: str) -> None:
        super().__init__(f"actor {username!r} is not active")
        self.username = username


class ActorNotAllowed(DomainError):
    def __init__(self, username: str, job: str, accepted_roles: list[str]) -> None:
        roles = ", ".join(accepted_roles)
        super().__init__(f"actor {username!r} may not run {job}: it needs one of the roles {roles}")
        self.username = username
        self.job = job
        self.accepted_roles = accepted_roles


class ServiceAccountRefused(DomainError):
    def __init__(self, username: str, principal: str) -> None:
        super().__init__(
            f"{username!r} is a service account: only scheduled runs act as it, not {principal}"
        )
        self.username = username


class IllegalTransition(DomainError):
    def __init__(self, machine: str, from_state: str, to_state: str) -> None:
        super().__init__(f"{machine}: illegal transition {from_state} -> {to_state}")
        self.machine = machine
        self.from_state = from_state
        self.to_state = to_state


class MakerCheckerViolation(DomainError):
    """The checker is the maker, lacks a checker role, or gave no note."""


class PeriodClosed(DomainError):
    """A journal step refused by the period-close control; ``evidence`` is the audit row
    recording the refusal (the rollback watch counts them)."""

    def __init__(
        self,
        currency: str,
        entry_date: object,
        period: str,
        *,
        next_step: str = "",
        evidence: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            f"{currency} entry dated {entry_date} falls in closed period {period}"
            + (f": {next_step}" if next_step else "")
        )
        self.currency = currency
        self.entry_date = entry_date
        self.period = period
        self.evidence = evidence


class PeriodCloseBlocked(DomainError):
    """Closing a period was refused; ``blockers`` lists every reason, one line each, and
    ``result`` is the refused job's result (job shape, blockers as items), if a job refused."""

    def __init__(self, currency: str, period: str, blockers: list[str], result: Any = None) -> None:
        listing = "; ".join(blockers)
        super().__init__(
            f"cannot close {currency} period {period}: {len(blockers)} blocker(s): {listing}"
        )
        self.currency = currency
        self.period = period
        self.blockers = blockers
        self.result = result


class PayoutFrozen(DomainError):
    """A payout freeze applies to this scope."""


class AlreadyFrozen(DomainError):
    """A second freeze of a scope an active freeze already covers; ``freeze`` is that one."""

    def __init__(self, message: str, freeze: Any) -> None:
        super().__init__(message)
        self.freeze = freeze


class DemoDataPresent(DomainError):
    """Demo data goes only into an empty business database (or one reset on purpose)."""

    def __init__(self, tables: list[str]) -> None:
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        super().__init__(
            f"the business database is not empty (rows in {shown}):"
            " nothing was changed; pass --reset to wipe it and seed again"
        )
        self.tables = tables


class ResetRefused(DomainError):
    """Wiping a database is allowed only on the embedded default or with OPS_ALLOW_RESET=1."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"refusing to reset {where}: it is not the embedded development database;"
            " set OPS_ALLOW_RESET=1 if wiping it is really intended"
        )
        self.where = where


class InfrastructureError(OpsError):
    """The platform could not reach something it depends on; retrying may help."""

    exit_code = 3


class DatabaseUnavailable(InfrastructureError):
    pass


class LockWaitTimeout(InfrastructureError):
    """A job waited longer than its lock timeout for a lock another transaction holds."""


class ReadinessNotEvaluated(OpsError):
    """The release gate could not evaluate (database lost, evidence not stored): never ready."""

    exit_code = 2


class KeycloakUnavailable(InfrastructureError):
    """The Keycloak admin API could not be read (unreachable, refused, missing rights)."""
