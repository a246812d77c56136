"""Rollback watch and incidents: each release still under watch with its state and its four
triggers (value now, baseline at the release, threshold), the open high and critical alerts,
the open critical cases, and the emergency actions as forms that trigger their
``emergency_*`` DAG as the login (Airflow's REST API, the DAG's own Params)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ops_domain.cases.queries import list_cases
from ops_domain.errors import NotFound
from ops_domain.readiness.queries import list_counted_items
from ops_domain.rollback.queries import list_watched_releases
from wallet_ops_airflow.emergency import EMERGENCY_ACTIONS
from wallet_ops_airflow.operations_center.airflow_api import TriggerRefused
from wallet_ops_airflow.operations_center.csrf import CheckedForm
from wallet_ops_airflow.operations_center.desk import Desk, DeskDep
from wallet_ops_airflow.operations_center.pages import done, render
from wallet_ops_airflow.operations_center.run_forms import conf_of, fields_of

LISTED = 50
ALERT_COUNTER = "open_high_alerts"  # the alerts that block a release, as the gate counts them
WATCHED_SHOWN = 5

router = APIRouter()


def rollback_context(desk: Desk) -> dict[str, Any]:
    blocking = desk.read(list_counted_items, "blocking items", limit=LISTED)
    return {
        "watched": desk.read(
            list_watched_releases,
            "watched releases",
            now=desk.now,
            policy=desk.settings.rollback,
            limit=WATCHED_SHOWN,
        ),
        "alerts": [item for item in blocking if item["counter"] == ALERT_COUNTER],
        "incidents": desk.read(
            list_cases, "cases", status="open", priority="critical", limit=LISTED
        ),
        "actions": {
            dag_id: {"summary": action.summary, "fields": fields_of(action.form(desk.settings))}
            for dag_id, action in EMERGENCY_ACTIONS.items()
        },
    }


@router.get("/rollback", response_class=HTMLResponse)
def rollback_page(request: Request, at: DeskDep) -> HTMLResponse:
    return render(request, at, "rollback", rollback_context(at))


@router.post("/rollback/actions/{dag_id}")
def emergency_action(request: Request, dag_id: str, form: CheckedForm, at: DeskDep) -> Response:
    """Trigger the emergency DAG ``dag_id`` with the form as its conf, as the login."""
    action = EMERGENCY_ACTIONS.get(dag_id)
    if action is None:
        return render(
            request, at, "rollback", rollback_context(at), refusal=NotFound("action", dag_id)
        )
    try:
        conf = conf_of(action.form(at.settings), form)
        run_id = request.app.state.airflow_api.trigger(at.login, dag_id, conf)
    except TriggerRefused as exc:
        return render(request, at, "rollback", rollback_context(at), refusal=exc)
    return done(
        request,
        "rollback",
        {},
        f"{dag_id} run {run_id} started as {at.username}: its outcome is in the run's log",
    )
