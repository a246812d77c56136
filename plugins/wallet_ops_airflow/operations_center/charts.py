"""Charts, where people would rather look than read: the readiness counters across a release's
stored verdicts, settled volume and payouts by day, and the open breaks and alerts at the end
of each day. The figures come from the domain's by-day lists; the page only lays them out as
series for Chart.js (vendored, drawn in the browser)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ops_domain.alerts.queries import list_open_alerts_by_day
from ops_domain.jsonable import jsonable
from ops_domain.payouts.queries import list_payouts_by_day
from ops_domain.readiness.environments import ENVIRONMENTS
from ops_domain.readiness.models import READINESS_COUNTERS
from ops_domain.readiness.queries import list_releases, list_snapshots
from ops_domain.reconciliation.queries import list_open_breaks_by_day
from ops_domain.settlements.queries import list_settled_by_day
from wallet_ops_airflow.operations_center.desk import Desk, DeskDep
from wallet_ops_airflow.operations_center.pages import render
from wallet_ops_airflow.operations_center.readiness import chosen_release

WINDOWS = (7, 30, 90)
SNAPSHOTS_DRAWN = 100

router = APIRouter()


def pivot(
    rows: Iterable[Mapping[str, Any]], days: list[str], by: str, value: str
) -> dict[str, list[Any]]:
    """One series per value of ``by`` (a currency, a status), a point per day (0 if none)."""
    series: dict[str, dict[str, Any]] = defaultdict(dict)
    for row in rows:
        series[str(row[by])][str(row["day"])] = row[value]
    return {name: [points.get(day, 0) for day in days] for name, points in series.items()}


def readiness_series(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """Counted items per counter at each stored verdict, oldest first (raw and blocking)."""
    ordered = list(reversed(snapshots))
    return {
        "labels": [f"#{s['id']} {s['created_at']:%m-%d %H:%M}" for s in ordered],
        "counted": {
            name: [(s["counters"].get("counted") or {}).get(name, 0) for s in ordered]
            for name in READINESS_COUNTERS
        },
        "blocking": {
            name: [s["counters"].get(name, 0) for s in ordered] for name in READINESS_COUNTERS
        },
        "verdicts": [s["verdict"] for s in ordered],
    }


def charts_context(
    desk: Desk, release_id: str | None, environment: str | None, days: int
) -> dict[str, Any]:
    chosen = chosen_release(desk, release_id, environment)
    last_day = desk.now.date()
    window = {"first_day": last_day - timedelta(days=days - 1), "last_day": last_day}
    day_labels = [(window["first_day"] + timedelta(days=n)).isoformat() for n in range(days)]
    snapshots = (
        desk.read(list_snapshots, "release snapshots", **chosen, limit=SNAPSHOTS_DRAWN)
        if chosen["release_id"]
        else []
    )
    breaks = desk.read(list_open_breaks_by_day, "open breaks by day", **window)
    alerts = desk.read(list_open_alerts_by_day, "open alerts by day", **window)
    data = {
        "readiness": readiness_series(snapshots),
        "days": day_labels,
        "settled": pivot(
            desk.read(list_settled_by_day, "settled by day", **window),
            day_labels,
            "currency",
            "net_amount",
        ),
        "payouts": pivot(
            desk.read(list_payouts_by_day, "payouts by day", **window),
            day_labels,
            "status",
            "payouts",
        ),
        "open": {
            "breaks": [row["open_breaks"] for row in breaks],
            "alerts_high": [row["open_high"] for row in alerts],
            "alerts_all": [row["open_all"] for row in alerts],
        },
    }
    return {
        **chosen,
        "releases": desk.read(list_releases, "releases"),
        "environments": ENVIRONMENTS,
        "windows": WINDOWS,
        "days": days,
        "chart_data": jsonable(data),
    }


@router.get("/charts", response_class=HTMLResponse)
def charts_page(
    request: Request,
    at: DeskDep,
    release_id: str | None = None,
    environment: str | None = None,
    days: int = 30,
) -> HTMLResponse:
    days = days if days in WINDOWS else 30
    return render(request, at, "charts", charts_context(at, release_id, environment, days))
