"""Runbook check 4: the readiness counters, with the release's approved exceptions applied.

A counter is the number of items still blocking a release: pending refunds, failed payouts,
open or in-review reconciliation breaks, open or in-review high/critical alerts. An approved,
unexpired waiver for the release in the environment being gated removes exactly the items it
names (item waiver), or lets the counter pass while no more than its count remain and every
one of them was blocking when it was approved (count waiver: it covers those items, never
later ones; with several, one waiver must cover all that remain, never their sum). Pending,
rejected and expired waivers never apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.db import transaction
from ops_domain.readiness.models import READINESS_COUNTERS

CHECK_NAME = "readiness_snapshot"
# Each counter's items: predicates written like the partial indexes' so the planner uses them.
# The snapshot counts each counter (an index-only scan) and looks up by primary key only the ids
# that approved item waivers name: it never lists the blocking items themselves.
COUNTED_ITEMS: dict[str, str] = {
    "pending_refunds": "SELECT id FROM refund_requests WHERE status = 'pending'",
    "failed_payouts": "SELECT id FROM payouts WHERE status = 'failed'",
    "open_recon_breaks": (
        "SELECT id FROM reconciliation_breaks WHERE status IN ('open', 'in_review')"
    ),
    "open_high_alerts": (
        "SELECT id FROM alerts"
        " WHERE status IN ('open', 'in_review') AND severity IN ('high', 'critical')"
    ),
}
assert set(COUNTED_ITEMS) == set(READINESS_COUNTERS)

SNAPSHOT_SQL = text(
    f"""
    WITH applicable AS (
        SELECT w.id, w.counter, w.item_ids, w.max_count, w.covered_item_ids, w.reason,
               w.expires_at, approver.username AS approved_by
          FROM readiness_waivers w
          JOIN users approver ON approver.id = w.approved_by
         WHERE w.status = 'approved' AND w.release_id = :release_id
           AND w.environment = :environment AND w.expires_at > :now
    ),
    named AS (
        SELECT a.counter, array_agg(DISTINCT item.id) AS item_ids
          FROM applicable a CROSS JOIN unnest(a.item_ids) AS item(id)
         GROUP BY a.counter
    ),
    coverage AS (
        {
        " UNION ALL ".join(
            f"SELECT a.id, (SELECT count(*) FROM ({sql}) AS items"
            f" WHERE items.id = ANY (a.covered_item_ids)"
            f" AND NOT items.id = ANY (coalesce(n.item_ids, '{{}}'))) AS covered_remaining"
            f" FROM applicable a LEFT JOIN named n ON n.counter = a.counter"
            f" WHERE a.counter = '{name}' AND a.max_count IS NOT NULL"
            for name, sql in COUNTED_ITEMS.items()
        )
    }
    ),
    counted AS (
        {
        " UNION ALL ".join(
            f"SELECT '{name}'::text AS counter,"
            f" (SELECT count(*) FROM ({sql}) AS items) AS total,"
            f" ARRAY(SELECT items.id FROM ({sql}) AS items"
            f" WHERE items.id = ANY (CAST((SELECT n.item_ids FROM named n"
            f" WHERE n.counter = '{name}') AS bigint[])) ORDER BY items.id) AS waived_items"
            for name, sql in COUNTED_ITEMS.items()
        )
    }
    )
    SELECT k.counter, c.total, c.waived_items,
           c.total - cardinality(c.waived_items) AS remaining,
           (SELECT coalesce(json_agg(json_build_object(
                       'id', a.id, 'item_ids', a.item_ids, 'max_count', a.max_count,
                       'covered_remaining', v.covered_remaining,
                       'reason', a.reason, 'expires_at', a.expires_at,
                       'approved_by', a.approved_by) ORDER BY a.id), '[]')
              FROM applicable a LEFT JOIN coverage v ON v.id = a.id
             WHERE a.counter = k.counter) AS waivers
      FROM unnest(CAST(:counters AS text[])) AS k(counter)
      JOIN counted c ON c.counter = k.counter
    """
)


@dataclass(frozen=True)
class GateEvidence:
    """What a verdict rests on: the counters blocking after waivers, the counters before
    them, the waivers applied, and which counters failed or were waived. The snapshot check
    writes it into its details (``as_check``); the gate reads it back from there
    (``of``), whether the check ran in this process or in another task."""

    blocking: dict[str, int] = field(default_factory=dict)
    counted: dict[str, int] = field(default_factory=dict)
    waivers: list[dict[str, Any]] = field(default_factory=list)
    failed_counters: list[str] = field(default_factory=list)
    waived_counters: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, checks: Sequence[CheckResult]) -> GateEvidence:
        """The evidence the snapshot check among ``checks`` measured; none without one (a
        snapshot check that errored measured nothing)."""
        snapshot = next(
            (c for c in checks if c.name == CHECK_NAME and "blocking" in c.details), None
        )
        if snapshot is None:
            return cls()
        details = snapshot.details
        return cls(
            blocking=dict(details["blocking"]),
            counted=dict(details["counted"]),
            waivers=list(details["waivers"]),
            failed_counters=list(details["failed_counters"]),
            waived_counters=list(details["waived_counters"]),
        )

    def stored_counters(self) -> dict[str, Any]:
        """The counters as a release snapshot stores them: blocking, and ``counted``."""
        return {**self.blocking, "counted": self.counted} if self.blocking else {}

    def as_details(self) -> dict[str, Any]:
        return {
            "counted": self.counted,
            "blocking": self.blocking,
            "failed_counters": self.failed_counters,
            "waived_counters": self.waived_counters,
            "waivers": self.waivers,
        }


@dataclass
class CounterState:
    """One counter: every counted item, those waived by name, and what an allowance covers."""

    name: str
    total: int
    waived_items: list[int]
    remaining: int
    waivers: list[dict[str, Any]]

    def _covering(self) -> list[dict[str, Any]]:
        """Count waivers that cover every remaining item (each was blocking at approval)."""
        return [
            w
            for w in self.waivers
            if w["max_count"] is not None
            and w["covered_remaining"] == self.remaining <= w["max_count"]
        ]

    @property
    def allowance(self) -> int:
        return max((w["max_count"] for w in self._covering()), default=0)

    @property
    def blocking(self) -> int:
        """Items still blocking the release after every applicable waiver."""
        return 0 if self.remaining <= self.allowance else self.remaining

    def applied_waivers(self) -> list[dict[str, Any]]:
        """The waivers that lifted something: named items still counted, or the allowance
        (one covering count waiver, the largest)."""
        waived = set(self.waived_items)
        allowing = next((w for w in self._covering() if w["max_count"] == self.allowance), None)
        applied = []
        for waiver in self.waivers:
            if waiver["item_ids"] is not None:
                lifted = sorted(waived & set(waiver["item_ids"]))
                if lifted:
                    applied.append({"counter": self.name, **waiver, "items_waived": lifted})
            elif waiver is allowing and self.remaining > 0:
                applied.append({"counter": self.name, **waiver, "count_waived": self.remaining})
        return applied

    def as_check(self) -> CheckResult:
        details = {
            "total": self.total,
            "waived_items": self.waived_items,
            "remaining": self.remaining,
            "allowance": self.allowance,
            "blocking": self.blocking,
        }
        if self.total == 0:
            return CheckResult(self.name, "pass", f"{self.name} = 0", details)
        if self.blocking == 0:
            return CheckResult(
                self.name, "waived", f"{self.name} = {self.total}, all waived", details
            )
        return CheckResult(
            self.name, "fail", f"{self.name} = {self.blocking} blocking the release", details
        )


@dataclass
class ReadinessSnapshot:
    """The four counters at one instant, and what the release's waivers lifted."""

    release_id: str
    environment: str
    taken_at: datetime
    counters: dict[str, CounterState] = field(default_factory=dict)

    def counter_checks(self) -> list[CheckResult]:
        return [self.counters[name].as_check() for name in READINESS_COUNTERS]

    def blocking_counts(self) -> dict[str, int]:
        """The counters as the gate sees them: items blocking after approved exceptions."""
        return {name: self.counters[name].blocking for name in READINESS_COUNTERS}

    def counted(self) -> dict[str, int]:
        """The counters before any waiver: every item out there."""
        return {name: self.counters[name].total for name in READINESS_COUNTERS}

    def applied_waivers(self) -> list[dict[str, Any]]:
        return [w for name in READINESS_COUNTERS for w in self.counters[name].applied_waivers()]

    def counters_with(self, status: str) -> list[str]:
        """The counters whose check has ``status``: ``fail`` (blocking) or ``waived``."""
        return [c.name for c in self.counter_checks() if c.status == status]

    def evidence(self) -> GateEvidence:
        return GateEvidence(
            blocking=self.blocking_counts(),
            counted=self.counted(),
            waivers=self.applied_waivers(),
            failed_counters=self.counters_with("fail"),
            waived_counters=self.counters_with("waived"),
        )

    def as_check(self) -> CheckResult:
        """One check over the four counters: fail if any blocks, waived if waivers cleared."""
        checks = self.counter_checks()
        failed, waived = self.counters_with("fail"), self.counters_with("waived")
        details = self.evidence().as_details()
        if failed:
            summary = ", ".join(c.summary for c in checks if c.status == "fail")
            return CheckResult(CHECK_NAME, "fail", summary, details)
        if waived:
            return CheckResult(
                CHECK_NAME,
                "waived",
                f"all counters clear after waivers on {', '.join(waived)}",
                details,
            )
        return CheckResult(CHECK_NAME, "pass", "all four counters are 0", details)


def take_snapshot(
    session: Session, *, release_id: str, environment: str, now: datetime
) -> ReadinessSnapshot:
    """Count every counter and apply the release's waivers for ``environment`` in one
    statement (one instant)."""
    rows = session.execute(
        SNAPSHOT_SQL,
        {
            "release_id": release_id,
            "environment": environment,
            "now": now,
            "counters": list(READINESS_COUNTERS),
        },
    ).all()
    snapshot = ReadinessSnapshot(release_id, environment, now)
    for row in rows:
        snapshot.counters[row.counter] = CounterState(
            row.counter, row.total, list(row.waived_items), row.remaining, row.waivers
        )
    return snapshot


def counted_items(session: Session, counter: str, item_ids: list[int]) -> set[int]:
    """Which of ``item_ids`` currently count toward ``counter``."""
    found = session.execute(
        text(f"SELECT id FROM ({COUNTED_ITEMS[counter]}) AS items WHERE id = ANY (:ids)"),
        {"ids": item_ids},
    )
    return set(found.scalars())


def snapshot_check(evaluation: Evaluation) -> CheckResult:
    """Runbook check 4: the counters of the evaluated release, at the evaluation's instant."""
    with transaction(evaluation.engine) as session:
        snapshot = take_snapshot(
            session,
            release_id=evaluation.release_id,
            environment=evaluation.environment,
            now=evaluation.now,
        )
    return snapshot.as_check()
