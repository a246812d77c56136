"""What a rollback trigger reports: its status, the evidence it saw and the figures it decided
on; and the one way a trigger reads its evidence (how many, first seen, the first items).

Every trigger compares the present with the release's gate snapshot and what happened since
the release (``watching_since``: its release by the gate, or its reinstatement by a checker
after a false alarm): it reads the audit trail or the current rows, never a cached figure, so
a payout that failed and was resubmitted since, or a refusal whose request was later retried,
still counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.config import RollbackPolicy
from ops_domain.jsonable import jsonable

if TYPE_CHECKING:  # a type only: the DAG parse imports this module through the registry
    from ops_domain.rollback.releases import WatchedRelease

EVIDENCE_LIMIT = 100

_EVIDENCE = """
    WITH evidence AS ({sql})
    SELECT id, reference, seen_at, detail,
           count(*) OVER () AS total, min(seen_at) OVER () AS first_seen
      FROM evidence
     ORDER BY seen_at, id
     LIMIT :limit
"""


@dataclass(frozen=True)
class Evidence:
    """What a trigger saw: how many, when first, and the first ``EVIDENCE_LIMIT`` items."""

    count: int
    first_seen: datetime | None
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class TriggerReading:
    """A trigger's answer; its ``name`` is the one it is registered under (``named``)."""

    status: str
    summary: str
    evidence: Evidence
    figures: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    def named(self, name: str) -> TriggerReading:
        return replace(self, name=name)

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "name": self.name,
                "status": self.status,
                "summary": self.summary,
                "count": self.evidence.count,
                "first_seen": self.evidence.first_seen,
                "evidence": self.evidence.items,
                "figures": self.figures,
            }
        )


def gauge(value: Any, baseline: Any, fires_when: str) -> dict[str, Any]:
    """The three figures a person compares for every trigger: where it stands now, where it
    stood at the release, and when it fires."""
    return {"value": value, "baseline": baseline, "threshold": fires_when}


def read_evidence(session: Session, sql: str, params: dict[str, Any]) -> Evidence:
    rows = session.execute(
        text(_EVIDENCE.format(sql=sql)), {**params, "limit": EVIDENCE_LIMIT}
    ).mappings()
    items = [dict(row) for row in rows]
    if not items:
        return Evidence(0, None, [])
    return Evidence(
        items[0]["total"],
        items[0]["first_seen"],
        [{k: v for k, v in item.items() if k not in {"total", "first_seen"}} for item in items],
    )


def status_of(firing: bool) -> str:
    return "firing" if firing else "ok"


Trigger = Callable[[Session, "WatchedRelease", RollbackPolicy, datetime], TriggerReading]
