"""Who is authenticated behind a change: the channel a request came in by, and its principal.

The acting *user* (``actor_id`` in the audit log) is the ops user whose roles a rule checks.
The *principal* is who was authenticated when the request arrived: the Airflow login that
triggered a DAG run, the scheduler for scheduled runs, the operating-system user of a CLI
call, the Airflow login on an Operations Center page. Adapters set it once per request with
``acting_as``; every engine made by
``ops_domain.db.create_ops_engine`` hands it to PostgreSQL at the start of each transaction
(transaction-local settings ``ops.channel``, ``ops.principal``, ``ops.principal_ref``), and a
trigger on ``audit_log`` copies it into every audit row, whichever statement wrote the row.
Without a principal the trigger records the channel ``database`` and the database login.
"""

from __future__ import annotations

import os
import pwd
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

AIRFLOW = "airflow"  # a DAG run triggered by an Airflow login (UI, REST API, backfill)
SCHEDULER = "scheduler"  # a scheduled or asset-triggered DAG run: no person triggered it
CLI = "cli"  # python -m ops_domain on a host holding the database credentials
OPERATIONS_CENTER = "operations_center"  # a page of the Operations Center, as an Airflow login
DATABASE = "database"  # set by the trigger: nobody told the database who is behind the write
CHANNELS = (AIRFLOW, SCHEDULER, CLI, OPERATIONS_CENTER, DATABASE)

SETTINGS = ("ops.channel", "ops.principal", "ops.principal_ref")


@dataclass(frozen=True)
class Principal:
    """``login`` as the channel authenticated it; ``reference`` ties it to the request (the
    Airflow run id, the CLI's host)."""

    channel: str
    login: str
    reference: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        if not self.login:
            raise ValueError("a principal needs a login")

    def describe(self) -> str:
        where = f" ({self.reference})" if self.reference else ""
        return f"{self.channel} {self.login}{where}"


_current: ContextVar[Principal | None] = ContextVar("ops_principal", default=None)


def current_principal() -> Principal | None:
    return _current.get()


@contextmanager
def acting_as(principal: Principal) -> Iterator[Principal]:
    """Every transaction opened inside this block records ``principal`` in its audit rows."""
    token = _current.set(principal)
    try:
        yield principal
    finally:
        _current.reset(token)


def cli_principal() -> Principal:
    """The operating-system user running the CLI (from the process's user id, not from
    ``$USER``, which anyone can set) and the host it runs on."""
    uid = os.getuid()
    try:
        login = pwd.getpwuid(uid).pw_name
    except KeyError:  # a container user with no passwd entry
        login = f"uid:{uid}"
    return Principal(CLI, login, socket.gethostname())
