"""Who a DAG run acts as: the Airflow login that triggered it, or the scheduler.

Airflow authenticates the person (UI or REST login, the login that created a backfill, the
operating-system user of the ``airflow`` CLI) and records them on the run as
``triggering_user_name``. A run of that kind acts as the ops user of the same username; a
cleared or retried task belongs to the same run, so it acts as the same login. Scheduled and
asset-triggered runs have no person behind them and act as the service account
(``OPS_SERVICE_ACTOR``); no login may act as it. The principal of every task (channel
``airflow`` and the login, or ``scheduler``; reference: the run id) is what the audit rows
of its transactions record.
"""

from __future__ import annotations

from typing import Any

from ops_domain.errors import InactiveActor, UnknownActor
from ops_domain.principal import AIRFLOW, SCHEDULER, Principal
from wallet_ops_airflow.refusal import RunRefused, refuse

SCHEDULER_RUN_TYPES = frozenset({"scheduled", "asset_triggered"})


def run_type(context: Any) -> str:
    kind = context["dag_run"].run_type
    return str(getattr(kind, "value", kind))


def is_scheduler_run(context: Any) -> bool:
    """Started by the scheduler (a schedule or an asset event), not by a person."""
    return run_type(context) in SCHEDULER_RUN_TYPES


def run_principal(context: Any, service_actor: str) -> Principal | None:
    """The scheduler for scheduled runs, else the triggering login (None when none is
    recorded: such a run is refused by ``resolve_actor``)."""
    dag_run = context["dag_run"]
    if is_scheduler_run(context):
        return Principal(SCHEDULER, service_actor, dag_run.run_id)
    login = (dag_run.triggering_user_name or "").strip()
    return Principal(AIRFLOW, login, dag_run.run_id) if login else None


def resolve_actor(context: Any, service_actor: str) -> str:
    """The username the run acts as; refuses a run no login triggered, and a login that
    claims the service account's name."""
    if "actor_username" in (context["dag_run"].conf or {}):
        raise refuse(
            "actor_username is not a parameter: a run acts as the login that triggered it;"
            " trigger it with your own login and leave actor_username out"
        )
    principal = run_principal(context, service_actor)
    if principal is None:
        raise refuse(
            f"this {run_type(context)} run records no triggering login: trigger it from the UI"
            " or the REST API as yourself"
        )
    if principal.channel == AIRFLOW and principal.login == service_actor:
        raise refuse(
            f"the login {principal.login!r} is the scheduler's service account: only scheduled"
            " runs act as it; trigger the run with your own login"
        )
    return principal.login


def unmapped_login(login: str, exc: UnknownActor | InactiveActor) -> RunRefused:
    """The refusal of a login with no (active) ops user of the same username."""
    missing = "no ops user" if isinstance(exc, UnknownActor) else "an ops user who is deactivated"
    return refuse(
        f"the Airflow login {login!r} has {missing}: runs act as the ops user of the same"
        f" username (an administrator adds it with `users add --username {login}` or"
        " `users sync` from Keycloak)"
    )
