"""Who is on the page: the Airflow login behind the request's JWT, and nobody else.

Airflow's UI keeps its JWT in the ``_token`` cookie; REST clients send it as a bearer header
(which wins, as in Airflow's own ``get_user``). The auth manager decodes it; the page never
asks anyone who they are. A request without a valid token is sent to Airflow's login page
(a page) or refused with 401 (a write).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.core_api.security import resolve_user_from_token
from fastapi import Depends, HTTPException, Request


@dataclass(frozen=True)
class Login:
    """The authenticated Airflow login and the token it was authenticated with (the token
    binds CSRF tokens and triggers runs as this login)."""

    username: str
    token: str


class NotLoggedIn(Exception):
    """No valid Airflow token came with the request."""


def presented_token(request: Request) -> str | None:
    """The bearer token if the request has one, else the UI's session cookie."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN) or None


async def current_login(request: Request) -> Login:
    """FastAPI dependency: the login of this request, as Airflow's auth manager reads it."""
    token = presented_token(request)
    try:
        user = await resolve_user_from_token(token)
    except HTTPException as exc:
        raise NotLoggedIn(str(exc.detail)) from exc
    return Login(user.get_name(), token or "")


LoginDep = Annotated[Login, Depends(current_login)]


def login_url(request: Request) -> str:
    """Airflow's login page, coming back to this page afterwards."""
    return get_auth_manager().get_url_login(next_url=str(request.url))
