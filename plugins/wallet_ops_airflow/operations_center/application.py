"""The Operations Center's FastAPI app: its pages, static files, and what a request that is
not logged in, or that a rule refused, gets back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from ops_domain.config import Settings
from ops_domain.errors import DomainError, OpsError
from wallet_ops_airflow.operations_center import charts, decisions, payouts, readiness, rollback
from wallet_ops_airflow.operations_center.airflow_api import AirflowApi, own_base_url
from wallet_ops_airflow.operations_center.login import NotLoggedIn, login_url
from wallet_ops_airflow.operations_center.pages import PAGES, TEMPLATES, refusal_status, root

STATIC = Path(__file__).with_name("static")


class OpsEngine:
    """The ops engine, made on first use (the api-server starts without touching the ops
    database) from the ``ops_db`` connection, as the DAGs make theirs."""

    def __init__(self, make: Callable[[], Engine]) -> None:
        self._make = make
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = self._make()
            return self._engine


def hooked_engine() -> Engine:
    from wallet_ops_airflow.hook import OpsDatabaseHook

    return OpsDatabaseHook().get_engine()


def unavailable(request: Request, reason: str, status: int) -> HTMLResponse:
    """A page that cannot be shown, and why, in the domain's words."""
    return TEMPLATES.TemplateResponse(
        request,
        "refused.html",
        {"refusal": reason, "root": root(request), "pages": PAGES},
        status_code=status,
    )


def create_app(
    engine: Callable[[], Engine] | None = None,
    settings: Settings | None = None,
    airflow_api: AirflowApi | None = None,
) -> FastAPI:
    app = FastAPI(title="Operations Center", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine or OpsEngine(hooked_engine)
    app.state.settings = settings or Settings.from_env()
    app.state.airflow_api = airflow_api or AirflowApi(own_base_url())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(readiness.router)
    app.include_router(decisions.router)
    app.include_router(payouts.router)
    app.include_router(rollback.router)
    app.include_router(charts.router)

    @app.get("/")
    def home(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{root(request)}/{PAGES[0].slug}", 303)

    @app.exception_handler(NotLoggedIn)
    def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if request.method == "GET":
            return RedirectResponse(login_url(request), 303)
        return PlainTextResponse(f"not logged in: {exc}", 401)

    @app.exception_handler(DomainError)
    def refused(request: Request, exc: DomainError) -> HTMLResponse:
        return unavailable(request, str(exc), refusal_status(exc))

    @app.exception_handler(OpsError)
    def out_of_service(request: Request, exc: OpsError) -> HTMLResponse:
        """The ops database (or what a page reads through it) is down: say so, as a 503."""
        return unavailable(request, str(exc), 503)

    return app
