"""What was seeded, in the terms the demo story needs: rows per table, the readiness counters
the release gate will see, and the unsettled money the settlement job will pick up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ops_domain.clock import day_window
from ops_domain.config import Settings
from ops_domain.demo.plan import DemoPlan
from ops_domain.demo.reset import business_tables
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT
from ops_domain.readiness.snapshot import take_snapshot
from ops_domain.settlements.policy import auto_post_limit_params, auto_post_limit_sql

_UNSETTLED = text(
    """
    SELECT e.currency, count(*) AS events,
           count(*) FILTER (WHERE e.occurred_at >= :start AND e.occurred_at < :end) AS in_window,
           coalesce(sum(e.net_amount) FILTER (WHERE e.direction = 'credit'), 0) AS credits,
           coalesce(sum(e.net_amount) FILTER (WHERE e.direction = 'debit'), 0) AS debits
      FROM cashflow_events AS e
     WHERE e.settlement_id IS NULL
     GROUP BY e.currency ORDER BY e.currency
    """
)

# What automate_settlements will find in the window, per (merchant, currency) group.
_WINDOW_GROUPS = text(
    f"""
    WITH groups AS (
        SELECT m.status, e.merchant_id, {auto_post_limit_sql("e.currency")} AS post_limit,
               sum(CASE WHEN e.direction = 'credit' THEN e.net_amount ELSE -e.net_amount END)
                   AS net,
               EXISTS (SELECT 1 FROM payout_freezes AS f
                        WHERE f.lifted_at IS NULL
                          AND (f.scope = 'global' OR f.merchant_id = e.merchant_id)) AS frozen
          FROM cashflow_events AS e JOIN merchants AS m ON m.id = e.merchant_id
         WHERE e.settlement_id IS NULL AND e.occurred_at >= :start AND e.occurred_at < :end
         GROUP BY m.status, e.merchant_id, e.currency)
    SELECT count(*) FILTER (WHERE status = 'active') AS settleable,
           count(*) FILTER (WHERE status = 'active' AND net > post_limit) AS over_auto_post_limit,
           count(*) FILTER (WHERE status = 'active' AND net < 0) AS negative_net,
           count(*) FILTER (WHERE status = 'active' AND net > 0 AND net <= post_limit AND frozen)
               AS payout_frozen,
           count(*) FILTER (WHERE status <> 'active') AS merchant_not_active
      FROM groups
    """
)


@dataclass
class DemoSummary:
    scale: str
    seed: int
    business_date: date
    as_of: datetime
    window: tuple[date, date]
    schema_before: str | None
    seconds: float
    tables: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    unsettled: list[dict[str, Any]] = field(default_factory=list)
    window_groups: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "seed": self.seed,
            "business_date": self.business_date,
            "as_of": self.as_of,
            "window": {"start": self.window[0], "end": self.window[1]},
            "schema_before": self.schema_before,
            "seconds": round(self.seconds, 1),
            "tables": self.tables,
            "readiness_counters": self.counters,
            "unsettled_events": self.unsettled,
            "window_groups": self.window_groups,
        }

    def lines(self) -> list[str]:
        start, end = self.window
        lines = [
            f"demo data seeded: scale {self.scale}, seed {self.seed}, business date"
            f" {self.business_date} ({self.seconds:.1f} s)",
            f"run the jobs as of {self.as_of.isoformat()}; unsettled window {start} .. {end}",
            "readiness counters (the gate fails until these are 0 or waived):",
            *(f"  {name}: {value}" for name, value in self.counters.items()),
            "unsettled events per currency (net of fees):",
            *(
                f"  {row['currency']}: {row['events']} events ({row['in_window']} in the"
                f" window), credits {row['credits']} - debits {row['debits']} = {row['net']}"
                for row in self.unsettled
            ),
            "settlement groups in the window:",
            *(f"  {name}: {value}" for name, value in self.window_groups.items()),
            "rows per table:",
            *(f"  {name}: {count}" for name, count in self.tables.items() if count),
        ]
        empty = [name for name, count in self.tables.items() if not count]
        if empty:
            lines.append(f"  (empty: {', '.join(empty)})")
        return lines


def describe(
    session: Session, summary: DemoSummary, plan: DemoPlan, settings: Settings
) -> DemoSummary:
    start, end = day_window(*plan.window)
    summary.tables = {
        table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in sorted(business_tables())
    }
    summary.counters = take_snapshot(
        session, release_id="", environment=DEFAULT_ENVIRONMENT, now=plan.as_of
    ).counted()
    summary.unsettled = [
        {**row._asdict(), "net": row.credits - row.debits}
        for row in session.execute(_UNSETTLED, {"start": start, "end": end})
    ]
    summary.window_groups = dict(
        session.execute(
            _WINDOW_GROUPS, {"start": start, "end": end, **auto_post_limit_params(settings)}
        )
        .one()
        ._asdict()
    )
    return summary
