"""Release readiness: per release and environment, the stored verdicts (each linked to the DAG
run that produced it), the last verdict's checks, the counters now with the items blocking
them and the waivers; a maker asks for a waiver of a blocking item here, and the gate is
triggered here as the login."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ops_domain.errors import DomainError
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT, ENVIRONMENTS
from ops_domain.readiness.models import READINESS_COUNTERS
from ops_domain.readiness.queries import (
    list_counted_items,
    list_counters,
    list_releases,
    list_snapshots,
    list_waivers,
)
from ops_domain.readiness.waivers import request_waiver
from wallet_ops_airflow.operations_center.airflow_api import TriggerRefused
from wallet_ops_airflow.operations_center.csrf import CheckedForm
from wallet_ops_airflow.operations_center.desk import Desk, DeskDep
from wallet_ops_airflow.operations_center.forms import whole_number, words
from wallet_ops_airflow.operations_center.pages import done, render

GATE_DAG = "release_readiness"
HISTORY = 20
ITEMS_PER_COUNTER = 25
WAIVER_DAYS = (1, 3, 7, 14)
# Where each blocking item is listed with what can be done about it.
ITEM_PAGES = {
    "pending_refunds": "decisions",
    "failed_payouts": "payouts?status=failed",
    "open_recon_breaks": "decisions",
    "open_high_alerts": "rollback",
}

router = APIRouter()


def chosen_release(desk: Desk, release_id: str | None, environment: str | None) -> dict[str, str]:
    """The release the page is about: the one asked for, else the latest one seen."""
    if release_id:
        return {"release_id": release_id, "environment": environment or DEFAULT_ENVIRONMENT}
    latest = desk.read(list_releases, "releases", limit=1)
    if latest:
        return {"release_id": latest[0]["release_id"], "environment": latest[0]["environment"]}
    return {"release_id": "", "environment": environment or DEFAULT_ENVIRONMENT}


def readiness_context(
    desk: Desk, release_id: str | None, environment: str | None
) -> dict[str, Any]:
    chosen = chosen_release(desk, release_id, environment)
    context: dict[str, Any] = {
        **chosen,
        "releases": desk.read(list_releases, "releases"),
        "environments": ENVIRONMENTS,
        "waiver_days": WAIVER_DAYS,
        "item_pages": ITEM_PAGES,
        "gate_dag": GATE_DAG,
    }
    if not chosen["release_id"]:
        return context
    snapshots = desk.read(list_snapshots, "release snapshots", **chosen, limit=HISTORY)
    counters = desk.read(list_counters, "readiness counters", **chosen, now=desk.now)
    items = desk.read(list_counted_items, "blocking items", limit=ITEMS_PER_COUNTER)
    waived = {(c["counter"], item) for c in counters for item in c["waived_items"]}
    return {
        **context,
        "snapshots": snapshots,
        "latest": snapshots[0] if snapshots else None,
        "counters": counters,
        "items": {
            name: [
                {**item, "waived": (name, item["id"]) in waived}
                for item in items
                if item["counter"] == name
            ]
            for name in READINESS_COUNTERS
        },
        "waivers": desk.read(list_waivers, "waivers", **chosen, limit=HISTORY),
    }


@router.get("/readiness", response_class=HTMLResponse)
def readiness_page(
    request: Request,
    at: DeskDep,
    release_id: str | None = None,
    environment: str | None = None,
) -> HTMLResponse:
    return render(request, at, "readiness", readiness_context(at, release_id, environment))


@router.post("/readiness/trigger")
def trigger_gate(request: Request, form: CheckedForm, at: DeskDep) -> Response:
    """Start ``release_readiness`` for the form's release as the login (Airflow's REST API)."""
    release_id, environment = words(form, "release_id"), words(form, "environment")
    try:
        run_id = request.app.state.airflow_api.trigger(
            at.login, GATE_DAG, {"release_id": release_id, "environment": environment}
        )
    except TriggerRefused as exc:
        context = readiness_context(at, release_id, environment)
        return render(request, at, "readiness", context, refusal=exc)
    return done(
        request,
        "readiness",
        {"release_id": release_id, "environment": environment},
        f"{GATE_DAG} run {run_id} started as {at.username}: reload when it has finished",
    )


@router.post("/readiness/waivers")
def ask_for_waiver(request: Request, form: CheckedForm, at: DeskDep) -> Response:
    """A maker asks for a waiver of one blocking item for the release; a checker decides on
    the Decisions page."""
    release_id, environment = words(form, "release_id"), words(form, "environment")
    try:
        days = whole_number(form, "days")
        waiver = at.act(
            request_waiver,
            counter=words(form, "counter"),
            item_ids=[whole_number(form, "item_id")],
            reason=words(form, "reason"),
            expires_at=at.now + timedelta(days=days),
            release_id=release_id,
            environment=environment,
            now=at.now,
            max_days=at.settings.waiver_max_days,
        )
    except DomainError as exc:
        context = readiness_context(at, release_id or None, environment or None)
        return render(request, at, "readiness", context, refusal=exc)
    return done(
        request,
        "readiness",
        {"release_id": release_id, "environment": environment},
        f"waiver #{waiver.id} requested by {at.username}: a checker decides on Decisions",
    )
