"""What a DAG run's first task fixes for the whole run, typed, and its explicit XCom form.

``authorise_run`` builds a ``RunRequest`` once (who acts, the business date, the moment the
run stands for, dry run or not, whether a person triggered it); it travels between tasks as
the plain JSON of ``to_xcom`` and every task reads it back with ``from_xcom``, so the dates
are formatted in one place and parsed in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class RunRequest:
    actor_username: str
    business_date: date
    now: datetime
    dry_run: bool
    manual: bool

    def to_xcom(self) -> dict[str, Any]:
        return {
            "actor_username": self.actor_username,
            "business_date": self.business_date.isoformat(),
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "manual": self.manual,
        }

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> RunRequest:
        return cls(
            actor_username=value["actor_username"],
            business_date=date.fromisoformat(value["business_date"]),
            now=datetime.fromisoformat(value["now"]),
            dry_run=bool(value["dry_run"]),
            manual=bool(value["manual"]),
        )


@dataclass(frozen=True)
class GateRequest:
    """A release-gate run: the run's request and the release it judges."""

    run: RunRequest
    release_id: str
    environment: str

    def to_xcom(self) -> dict[str, Any]:
        return {
            **self.run.to_xcom(),
            "release_id": self.release_id,
            "environment": self.environment,
        }

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> GateRequest:
        return cls(RunRequest.from_xcom(value), value["release_id"], value["environment"])


@dataclass(frozen=True)
class PeriodRequest:
    """One (currency, accounting period) a governance run acts on, planned once."""

    currency: str
    period_start: date
    period_end: date

    def describe(self) -> str:
        return f"{self.currency} {self.period_start}..{self.period_end}"

    def to_xcom(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
        }

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> PeriodRequest:
        return cls(
            value["currency"],
            date.fromisoformat(value["period_start"]),
            date.fromisoformat(value["period_end"]),
        )


@dataclass(frozen=True)
class ReleaseRequest:
    """The release a watch run looks at, named by a person or found under watch."""

    release_id: str
    environment: str

    def to_xcom(self) -> dict[str, Any]:
        return {"release_id": self.release_id, "environment": self.environment}

    @classmethod
    def from_xcom(cls, value: dict[str, Any]) -> ReleaseRequest:
        return cls(value["release_id"], value["environment"])
