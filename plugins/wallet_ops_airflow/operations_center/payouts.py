"""Payouts and freezes: the active freezes, setting one (a login allowed to freeze) and lifting
it (a checker who did not set it), and the payouts by status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ops_domain.errors import DomainError
from ops_domain.payouts.freezes import freeze_payouts, lift_payout_freeze
from ops_domain.payouts.models import PAYOUT_STATES
from ops_domain.payouts.queries import list_freezes, list_payout_totals, list_payouts
from wallet_ops_airflow.operations_center.csrf import CheckedForm
from wallet_ops_airflow.operations_center.desk import Desk, DeskDep
from wallet_ops_airflow.operations_center.forms import words
from wallet_ops_airflow.operations_center.pages import done, render

LISTED = 50
LIFTED_SHOWN = 10

router = APIRouter()


def payouts_context(desk: Desk, status: str | None) -> dict[str, Any]:
    return {
        "active_freezes": desk.read(list_freezes, "freezes", active=True, limit=LISTED),
        "lifted_freezes": desk.read(list_freezes, "freezes", active=False, limit=LIFTED_SHOWN),
        "totals": desk.read(list_payout_totals, "payout totals"),
        "statuses": sorted(PAYOUT_STATES.states),
        "status": status,
        "payouts": desk.read(list_payouts, "payouts", status=status, limit=LISTED),
    }


@router.get("/payouts", response_class=HTMLResponse)
def payouts_page(request: Request, at: DeskDep, status: str | None = None) -> HTMLResponse:
    return render(request, at, "payouts", payouts_context(at, status or None))


@router.post("/payouts/freezes")
def set_freeze(request: Request, form: CheckedForm, at: DeskDep) -> Response:
    """Freeze payouts globally, or for one merchant, as the login."""
    try:
        freeze = at.act(
            freeze_payouts,
            reason=words(form, "reason"),
            merchant_code=words(form, "merchant_code") or None,
        )
    except DomainError as exc:
        return render(request, at, "payouts", payouts_context(at, None), refusal=exc)
    return done(request, "payouts", {}, f"freeze #{freeze.id} set by {at.username}")


@router.post("/payouts/freezes/{freeze_id}/lift")
def lift_freeze(request: Request, freeze_id: int, form: CheckedForm, at: DeskDep) -> Response:
    """Lift a freeze as the login: the domain requires a checker other than its setter."""
    try:
        at.act(lift_payout_freeze, freeze_id=freeze_id, note=words(form, "note"), now=at.now)
    except DomainError as exc:
        return render(request, at, "payouts", payouts_context(at, None), refusal=exc)
    return done(request, "payouts", {}, f"freeze #{freeze_id} lifted by {at.username}")
