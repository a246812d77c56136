"""The Operations Center app in-process: Airflow's simple auth manager, JWTs minted by it as
at login, and the app on the ops test database, with Airflow's REST API replaced by a
recording transport (the runtime suite triggers through the real one)."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ops_domain.config import Settings

AIRFLOW_URL = "http://airflow.test"


@dataclass
class RecordedAirflow:
    """Stands in for Airflow's REST API: records each trigger; answers 200 or a refusal."""

    refuse_with: tuple[int, str] | None = None
    triggers: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.triggers.append(
            {
                "path": request.url.path,
                "authorization": request.headers.get("authorization"),
                "body": json.loads(request.content),
            }
        )
        if self.refuse_with:
            status, detail = self.refuse_with
            return httpx.Response(status, json={"detail": detail})
        return httpx.Response(200, json={"dag_run_id": f"manual__{len(self.triggers)}"})


def mint_token(username: str, role: str = "user") -> str:
    """A JWT as Airflow's simple auth manager issues it at login."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=username, role=role))


@pytest.fixture(scope="module")
def auth_manager(airflow_db: dict[str, str]) -> Iterator[None]:
    from airflow.api_fastapi.app import init_auth_manager, purge_cached_app

    init_auth_manager()
    yield
    purge_cached_app()


@dataclass
class Center:
    """The app, the recorded REST API, and a browser-like client per login."""

    app: Any
    airflow: RecordedAirflow

    def client(self, username: str | None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if username is not None:
            client.cookies.set("_token", mint_token(username))
        return client


@pytest.fixture
def center(auth_manager: None, engine: Engine, settings: Settings) -> Center:
    from wallet_ops_airflow.operations_center.airflow_api import AirflowApi
    from wallet_ops_airflow.operations_center.application import create_app

    airflow = RecordedAirflow()
    api = AirflowApi(AIRFLOW_URL, transport=httpx.MockTransport(airflow.handle))
    return Center(create_app(lambda: engine, settings, api), airflow)


def csrf_of(page: str) -> str:
    """The form token a page embeds."""
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def shown(response: httpx.Response) -> str:
    """The page's text as a person reads it (entities such as &#39; decoded)."""
    return html.unescape(response.text)
