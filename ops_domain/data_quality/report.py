"""What a data-quality run found: per rule, and per check inside each rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from ops_domain.jsonable import jsonable

EXAMPLE_LIMIT = 5


@dataclass(frozen=True)
class CheckOutcome:
    """One expectation's verdict. ``error`` is set (and ``success`` false) when it could not
    be evaluated."""

    label: str
    expectation: str
    subject: str
    success: bool
    unexpected_count: int
    example_ids: tuple[Any, ...]
    error: str | None = None


@dataclass(frozen=True)
class RuleOutcome:
    name: str
    protects: str
    checks: tuple[CheckOutcome, ...]

    @property
    def errored(self) -> bool:
        return any(check.error for check in self.checks)

    @property
    def success(self) -> bool:
        return all(check.success for check in self.checks)

    @property
    def unexpected_count(self) -> int:
        return sum(check.unexpected_count for check in self.checks)

    @property
    def failed_checks(self) -> tuple[CheckOutcome, ...]:
        return tuple(check for check in self.checks if not check.success)

    @property
    def example_ids(self) -> tuple[str, ...]:
        """Up to five offending keys across the rule's checks, named by what they identify."""
        examples = (
            f"{check.subject}={example}"
            for check in self.failed_checks
            for example in check.example_ids
        )
        return tuple(islice(examples, EXAMPLE_LIMIT))

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "name": self.name,
                "protects": self.protects,
                "success": self.success,
                "unexpected_count": self.unexpected_count,
                "example_ids": self.example_ids,
                "checks": self.checks,
            }
        )


@dataclass(frozen=True)
class DataQualityReport:
    rules: tuple[RuleOutcome, ...]
    started_at: datetime
    duration_seconds: float

    @property
    def success(self) -> bool:
        return all(rule.success for rule in self.rules)

    @property
    def errored(self) -> bool:
        return any(rule.errored for rule in self.rules)

    @property
    def failed_rules(self) -> tuple[RuleOutcome, ...]:
        return tuple(rule for rule in self.rules if not rule.success)

    def rule(self, name: str) -> RuleOutcome:
        return next(rule for rule in self.rules if rule.name == name)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "success": self.success,
                "failed_rules": [rule.name for rule in self.failed_rules],
                "started_at": self.started_at,
                "duration_seconds": round(self.duration_seconds, 3),
                "rules": [rule.to_dict() for rule in self.rules],
            }
        )
