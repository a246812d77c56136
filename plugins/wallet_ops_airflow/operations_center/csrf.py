"""Writes only from our own pages: a per-session token in every form, and a same-origin check.

The token is an HMAC of the request's Airflow JWT under a key derived from Airflow's JWT
secret: a page served to a login embeds it, another site cannot read it (the JWT cookie is
HttpOnly, the page is same-origin) and it dies with the session. A write whose ``Origin``
header names another site is refused even with a valid token.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from typing import Annotated

from airflow.configuration import conf
from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData

from wallet_ops_airflow.operations_center.login import Login, LoginDep

FIELD = "csrf_token"


@cache
def _key() -> bytes:
    secret = conf.get("api_auth", "jwt_secret")
    return hmac.new(secret.encode(), b"operations-center csrf", hashlib.sha256).digest()


def csrf_token(login: Login) -> str:
    """The token the forms of ``login``'s session carry."""
    return hmac.new(_key(), login.token.encode(), hashlib.sha256).hexdigest()


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # browsers send it on cross-site POSTs; an absent one is not a forgery
        return True
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin == own


async def checked_form(request: Request, login: LoginDep) -> FormData:
    """FastAPI dependency of every write: the submitted form, once its CSRF token matches
    the session's and it came from this site; else 403 and nothing is done."""
    form = await request.form()
    sent = form.get(FIELD)
    if not _same_origin(request):
        raise HTTPException(403, "cross-site request refused: submit the form from its page")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(login)):
        raise HTTPException(403, "missing or stale form token: reload the page and submit again")
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
