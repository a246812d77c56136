"""Decisions: the checker's queue (pending refunds, draft settlements over the auto-post
limit, journal approvals, reconciliation-break resolutions, waiver requests, payouts to
approve, send, settle or fail), each decided here with a note by the login. The domain
decides whether the login may: a maker never approves their own request, the roles come from
the matrix, and a refusal is shown on the page in the domain's words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ops_domain.accounting.journals import approve_journal_approval, reject_journal_approval
from ops_domain.accounting.queries import list_journals
from ops_domain.disputes.queries import list_refunds
from ops_domain.disputes.refunds import approve_refund, reject_refund
from ops_domain.errors import DomainError, NotFound
from ops_domain.payouts.queries import list_payouts
from ops_domain.payouts.service import approve_payout, fail_payout, send_payout, settle_payout
from ops_domain.readiness.queries import list_waivers
from ops_domain.readiness.waivers import approve_waiver, reject_waiver
from ops_domain.reconciliation.breaks import approve_resolution, reject_resolution
from ops_domain.reconciliation.queries import list_breaks
from ops_domain.settlements.queries import list_settlements
from ops_domain.settlements.service import approve_settlement
from wallet_ops_airflow.operations_center.csrf import CheckedForm
from wallet_ops_airflow.operations_center.desk import Desk, DeskDep
from wallet_ops_airflow.operations_center.forms import words
from wallet_ops_airflow.operations_center.pages import done, render

QUEUE_LENGTH = 50

router = APIRouter()


@dataclass(frozen=True)
class Verb:
    """One decision a checker can take on a queue item: the domain service that takes it,
    and the form fields it needs besides the note."""

    service: Callable[..., Any]
    label: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Queue:
    """One kind of item waiting for a checker: how to list it and how to decide it."""

    title: str
    key: str  # the keyword the services take the item's id as
    verbs: dict[str, Verb]
    with_settings: bool = False


APPROVE = "approve"
REJECT = "reject"

QUEUES: dict[str, Queue] = {
    "refunds": Queue(
        "Pending refunds",
        "refund_id",
        {APPROVE: Verb(approve_refund, "Approve"), REJECT: Verb(reject_refund, "Reject")},
    ),
    "settlements": Queue(
        "Draft settlements over the auto-post limit",
        "settlement_id",
        {APPROVE: Verb(approve_settlement, "Approve and post")},
    ),
    "journals": Queue(
        "Journal approvals",
        "approval_id",
        {
            APPROVE: Verb(approve_journal_approval, "Approve"),
            REJECT: Verb(reject_journal_approval, "Reject"),
        },
    ),
    "breaks": Queue(
        "Reconciliation-break resolutions",
        "break_id",
        {APPROVE: Verb(approve_resolution, "Approve"), REJECT: Verb(reject_resolution, "Reject")},
    ),
    "waivers": Queue(
        "Waiver requests",
        "waiver_id",
        {APPROVE: Verb(approve_waiver, "Approve"), REJECT: Verb(reject_waiver, "Reject")},
    ),
    "payouts": Queue(
        "Payout decisions",
        "payout_id",
        {
            APPROVE: Verb(approve_payout, "First approval"),
            "send": Verb(send_payout, "Send"),
            "settle": Verb(settle_payout, "Settled"),
            "fail": Verb(fail_payout, "Failed", ("reason",)),
        },
        with_settings=True,
    ),
}


def decisions_context(desk: Desk) -> dict[str, Any]:
    """The queue as this login may read it, oldest concerns first where the list orders so."""
    return {
        "queues": QUEUES,
        "refunds": desk.read(
            list_refunds, "refunds", status="pending", now=desk.now, limit=QUEUE_LENGTH
        ),
        "settlements": desk.read(
            list_settlements, "settlements", status="draft", limit=QUEUE_LENGTH
        ),
        "journals": desk.read(list_journals, "journals", pending_approval=True, limit=QUEUE_LENGTH),
        "breaks": desk.read(list_breaks, "recon-breaks", status="in_review", limit=QUEUE_LENGTH),
        "waivers": desk.read(list_waivers, "waivers", status="pending", limit=QUEUE_LENGTH),
        "payouts": [
            *desk.read(list_payouts, "payouts", status="pending", limit=QUEUE_LENGTH),
            *desk.read(list_payouts, "payouts", status="sent", limit=QUEUE_LENGTH),
        ],
    }


@router.get("/decisions", response_class=HTMLResponse)
def decisions_page(request: Request, at: DeskDep) -> HTMLResponse:
    return render(request, at, "decisions", decisions_context(at))


@router.post("/decisions/{queue}/{item_id}/{verb}")
def decide(
    request: Request, *, queue: str, item_id: int, verb: str, form: CheckedForm, at: DeskDep
) -> Response:
    """Take ``verb`` on one item of ``queue`` as the login, with the form's note."""
    try:
        chosen = QUEUES.get(queue)
        action = chosen.verbs.get(verb) if chosen else None
        if chosen is None or action is None:
            raise NotFound("decision", f"{queue}/{verb}")
        arguments = {field: words(form, field) for field in action.fields}
        if chosen.with_settings:
            arguments["settings"] = at.settings
        at.act(action.service, **{chosen.key: item_id}, note=words(form, "note"), **arguments)
    except DomainError as exc:
        return render(request, at, "decisions", decisions_context(at), refusal=exc)
    return done(
        request,
        "decisions",
        {},
        f"{chosen.title.lower()}: #{item_id} {action.label.lower()} by {at.username}",
    )
