"""A login at work: the ops engine, and the domain calls made as that login's ops user.

Every call runs inside ``acting_as`` the login on the ``operations_center`` channel, with the
request (method and path) as reference, so each audit row names who acted and where. Reads go
through ``listing.read_list`` (the permission matrix and a read-only transaction); writes call
the domain's service functions, which check the actor themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine

from ops_domain.clock import utc_now
from ops_domain.config import Settings
from ops_domain.listing import Query, read_list
from ops_domain.principal import OPERATIONS_CENTER, Principal, acting_as
from wallet_ops_airflow.operations_center.login import Login, LoginDep

Result = TypeVar("Result")


@dataclass(frozen=True)
class Desk:
    """What one request may do: read lists and call services as ``login``."""

    engine: Engine
    settings: Settings
    login: Login
    principal: Principal
    now: datetime

    @property
    def username(self) -> str:
        return self.login.username

    def read(self, query: Query, what: str, **filters: Any) -> list[dict[str, Any]]:
        """A list as the domain shows it to this login (``reports.view`` and whatever the
        list itself requires)."""
        with acting_as(self.principal):
            return read_list(self.engine, query, actor_username=self.username, what=what, **filters)

    def act(self, service: Callable[..., Result], **arguments: Any) -> Result:
        """A domain service called as this login's ops user."""
        with acting_as(self.principal):
            return service(self.engine, actor_username=self.username, **arguments)


def desk(request: Request, login: LoginDep) -> Desk:
    """FastAPI dependency: the desk of the request's login."""
    state = request.app.state
    principal = Principal(OPERATIONS_CENTER, login.username, f"{request.method} {request.url.path}")
    return Desk(state.engine(), state.settings, login, principal, utc_now())


DeskDep = Annotated[Desk, Depends(desk)]
