"""What every page shares: its templates, the navigation, the notice after a write, and how a
refusal is shown (the domain's own sentence, with the HTTP status that fits it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from airflow.configuration import conf
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer

from ops_domain.errors import (
    ActorNotAllowed,
    DomainError,
    InactiveActor,
    InvalidInput,
    MakerCheckerViolation,
    NotFound,
    ServiceAccountRefused,
    UnknownActor,
)
from ops_domain.jsonable import jsonable
from wallet_ops_airflow.operations_center.csrf import csrf_token
from wallet_ops_airflow.operations_center.desk import Desk

TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
TEMPLATES.env.filters["jsonable"] = jsonable


@dataclass(frozen=True)
class Page:
    """One entry of the navigation: Airflow's menu and the pages' own tabs."""

    slug: str
    title: str


PAGES = (
    Page("readiness", "Release readiness"),
    Page("decisions", "Decisions"),
    Page("payouts", "Payouts and freezes"),
    Page("rollback", "Rollback watch and incidents"),
    Page("charts", "Charts"),
)

REFUSAL_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (UnknownActor, 403),
    (InactiveActor, 403),
    (ActorNotAllowed, 403),
    (ServiceAccountRefused, 403),
    (MakerCheckerViolation, 403),
    (NotFound, 404),
    (InvalidInput, 422),
)


def refusal_status(exc: Exception) -> int:
    """403 for who may not, 404 for what is not there, 422 for bad input, else 409 (the
    state of the record refuses it)."""
    return next((status for kind, status in REFUSAL_STATUS if isinstance(exc, kind)), 409)


@dataclass(frozen=True)
class Notice:
    """The one line a page shows about the last write: done, or refused and why."""

    kind: str  # "done" | "refused"
    text: str


@cache
def _notices() -> URLSafeSerializer:
    return URLSafeSerializer(conf.get("api_auth", "jwt_secret"), salt="operations-center notice")


def root(request: Request) -> str:
    """Where this app is mounted (``/ops`` in the api-server): links and forms start there."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def done(request: Request, path: str, query: Mapping[str, str], text: str) -> RedirectResponse:
    """After a write: back to its page ``path`` (a reload does not repeat the write), saying
    what was done. The notice is signed, so a link cannot make a page claim something
    happened."""
    params = urlencode({**query, "notice": _notices().dumps(text)})
    return RedirectResponse(f"{root(request)}/{path}?{params}", 303)


def notice_of(request: Request) -> Notice | None:
    signed = request.query_params.get("notice")
    if not signed:
        return None
    try:
        return Notice("done", str(_notices().loads(signed)))
    except BadSignature:
        return None


def render(
    request: Request,
    desk: Desk,
    page: str,
    context: Mapping[str, Any],
    *,
    refusal: Exception | None = None,
) -> HTMLResponse:
    """The page ``page`` (its template ``<page>.html``), with the login, the form token and
    the notice; a refusal is shown as the page's notice with its status."""
    notice = Notice("refused", str(refusal)) if refusal is not None else notice_of(request)
    return TEMPLATES.TemplateResponse(
        request,
        f"{page}.html",
        {
            **context,
            "pages": PAGES,
            "root": root(request),
            "current": page,
            "login": desk.username,
            "csrf_token": csrf_token(desk.login),
            "notice": notice,
            "now": desk.now,
        },
        status_code=refusal_status(refusal) if refusal is not None else 200,
    )
