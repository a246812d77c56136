"""The emergency actions as one manual DAG: which permission each needs, and how its Params
become the arguments of the domain function that performs it. The domain services are
imported when an action runs, keeping the DAG file's parse cheap.

Only ``targeted_reconciliation`` and ``backfill_settlements`` have a dry run; asking one of
the other actions for a dry run fails the task instead of acting for real.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from airflow.sdk import get_current_context
from sqlalchemy import Engine

from ops_domain.config import Settings
from ops_domain.jsonable import jsonable
from wallet_ops_airflow.jobs import as_of, idempotency_key, ops_engine
from wallet_ops_airflow.jobs import settings as ops_settings
from wallet_ops_airflow.refusal import domain_refusals_refuse_the_run, refuse

Perform = Callable[[Engine, Settings, dict[str, Any], dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class EmergencyAction:
    permission: str
    perform: Perform
    has_dry_run: bool = False


def _freeze(engine: Engine, _: Settings, request: dict[str, Any], params: dict[str, Any]) -> Any:
    from ops_domain.payouts.freezes import freeze_payouts

    return freeze_payouts(
        engine,
        actor_username=request["actor_username"],
        reason=params["reason"] or "",
        merchant_code=params["merchant_code"],
    )


def _lift(engine: Engine, _: Settings, request: dict[str, Any], params: dict[str, Any]) -> Any:
    from ops_domain.payouts.freezes import lift_payout_freeze

    if params["freeze_id"] is None:
        raise refuse("lift_payout_freeze needs the freeze_id parameter")
    return lift_payout_freeze(
        engine,
        freeze_id=params["freeze_id"],
        actor_username=request["actor_username"],
        note=params["note"] or "",
        now=as_of(request),
    )


def _incident(engine: Engine, _: Settings, request: dict[str, Any], params: dict[str, Any]) -> Any:
    from ops_domain.rollback.emergency import open_incident

    return open_incident(
        engine,
        actor_username=request["actor_username"],
        release_id=params["release_id"] or None,
        trigger=params["trigger"] or "manual",
        title=params["title"] or None,
        sla_hours=params["sla_hours"],
        now=as_of(request),
    )


def _reconcile(
    engine: Engine, settings: Settings, request: dict[str, Any], params: dict[str, Any]
) -> Any:
    from ops_domain.rollback.emergency import targeted_reconciliation

    first, last = _window(params)
    return targeted_reconciliation(
        engine,
        settings,
        actor_username=request["actor_username"],
        currency=params["currency"],
        window_start=first,
        window_end=last,
        statement=_statement(params),
        merchant_code=params["merchant_code"],
        now=as_of(request),
        dry_run=request["dry_run"],
    )


def _backfill(
    engine: Engine, settings: Settings, request: dict[str, Any], params: dict[str, Any]
) -> Any:
    from ops_domain.rollback.emergency import backfill_settlements

    first, last = _window(params)
    return backfill_settlements(
        engine,
        settings,
        actor_username=request["actor_username"],
        period_start=first,
        period_end=last,
        currency=params["currency"],
        create_payouts=params["create_payouts"],
        now=as_of(request),
        dry_run=request["dry_run"],
        idempotency_key=idempotency_key(get_current_context()),
    ).to_dict()


def _rollback(engine: Engine, _: Settings, request: dict[str, Any], params: dict[str, Any]) -> Any:
    from ops_domain.rollback.emergency import record_rollback

    decision = record_rollback(
        engine,
        release_id=params["release_id"] or "",
        environment=params["environment"],
        reason=params["reason"] or "",
        actor_username=request["actor_username"],
        now=as_of(request),
    )
    return {**jsonable(decision), "text": decision.text()}


def _window(params: dict[str, Any]) -> tuple[date, date]:
    if params["window_start"] is None or params["window_end"] is None:
        raise refuse("give both window_start and window_end")
    return date.fromisoformat(params["window_start"]), date.fromisoformat(params["window_end"])


def _statement(params: dict[str, Any]) -> Any:
    from ops_domain.reconciliation.statements import ExternalStatement

    path, totals = params["statement_path"], params["statement_totals"] or []
    if bool(path) == bool(totals):
        raise refuse("give the statement as statement_path or statement_totals")
    return ExternalStatement.from_csv(path) if path else ExternalStatement.from_totals(totals)


ACTIONS: dict[str, EmergencyAction] = {
    "freeze_payouts": EmergencyAction("emergency.act", _freeze),
    "lift_payout_freeze": EmergencyAction("emergency.lift_freeze", _lift),
    "open_incident": EmergencyAction("emergency.act", _incident),
    "targeted_reconciliation": EmergencyAction("emergency.act", _reconcile, has_dry_run=True),
    "backfill_settlements": EmergencyAction("emergency.act", _backfill, has_dry_run=True),
    "record_rollback": EmergencyAction("emergency.act", _rollback),
}


def perform(action: str, request: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Run ``action`` as the authorised actor; a refusal fails the task without retry."""
    chosen = ACTIONS[action]
    if request["dry_run"] and not chosen.has_dry_run:
        raise refuse(f"{action} has no dry run: untick dry_run to perform it")
    with domain_refusals_refuse_the_run(), ops_engine() as engine:
        return jsonable(chosen.perform(engine, ops_settings(), request, params))
