"""The ``{ok, issues, warnings}`` report shared by the checks that inspect external systems."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One problem found, with a stable ``code`` machines match on and a message people read."""

    code: str
    message: str


@dataclass
class FindingsReport:
    """Issues fail the check; warnings are reported but never block a release."""

    issues: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def issue_codes(self) -> set[str]:
        return {finding.code for finding in self.issues}

    def issue(self, code: str, message: str) -> None:
        self.issues.append(Finding(code, message))

    def warn(self, code: str, message: str) -> None:
        self.warnings.append(Finding(code, message))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "issues": [vars(finding) for finding in self.issues],
            "warnings": [vars(finding) for finding in self.warnings],
        }

    def lines(self, headline: str) -> list[str]:
        """Human form: the headline, then one line per issue and warning."""
        return [
            headline,
            *(f"  issue [{f.code}]: {f.message}" for f in self.issues),
            *(f"  warning [{f.code}]: {f.message}" for f in self.warnings),
        ]
