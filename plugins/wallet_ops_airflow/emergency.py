"""The emergency actions, one manual DAG each (``manual_action``): what each asks for and the
domain function that performs it; the permission each needs is the domain's
(``ops_domain.rollback.emergency_actions``).

Only ``targeted_reconciliation`` and ``backfill_settlements`` have a dry run, so only their
forms offer one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from airflow.sdk import Param, get_current_context
from sqlalchemy import Engine

from ops_domain.config import Settings
from ops_domain.jsonable import jsonable
from ops_domain.rollback.emergency_actions import emergency_permission
from ops_domain.rollback.policy import (
    INCIDENT_SLA_HOURS,
    MAX_INCIDENT_SLA_HOURS,
)
from ops_domain.rollback.registry import INCIDENT_TRIGGERS
from wallet_ops_airflow.jobs import idempotency_key
from wallet_ops_airflow.manual_action import Form, ManualAction, Perform
from wallet_ops_airflow.params import (
    choice_param,
    chosen_currency,
    count_param,
    currency_param,
    date_param,
    dry_run_param,
    environment_param,
    flag_param,
    given_text,
    release_id_param,
    text_param,
)
from wallet_ops_airflow.refusal import refuse
from wallet_ops_airflow.run_request import RunRequest

TAGS = ("release", "emergency")


def _merchant(required_for: str) -> Param:
    return text_param(title="Merchant code", description=required_for, max_length=64)


def _reason(description: str) -> Param:
    return text_param(title="Reason", description=description, required=True)


def _window_fields(settings: Settings, all_label: str) -> dict[str, Param]:
    return {
        "window_start": date_param("Window start", "First day (UTC).", required=True),
        "window_end": date_param("Window end", "Last day (UTC), inclusive.", required=True),
        "currency": currency_param(settings, all_label=all_label),
    }


def _freeze(engine: Engine, _: Settings, request: RunRequest, params: dict[str, Any]) -> Any:
    from ops_domain.payouts.freezes import freeze_payouts

    return freeze_payouts(
        engine,
        actor_username=request.actor_username,
        reason=params["reason"],
        merchant_code=given_text(params["merchant_code"]),
    )


def _lift(engine: Engine, _: Settings, request: RunRequest, params: dict[str, Any]) -> Any:
    from ops_domain.payouts.freezes import lift_payout_freeze

    return lift_payout_freeze(
        engine,
        freeze_id=params["freeze_id"],
        actor_username=request.actor_username,
        note=params["note"],
        now=request.now,
    )


def _incident(engine: Engine, _: Settings, request: RunRequest, params: dict[str, Any]) -> Any:
    from ops_domain.rollback.emergency import open_incident

    return open_incident(
        engine,
        actor_username=request.actor_username,
        release_id=given_text(params["release_id"]),
        trigger=params["trigger"],
        title=given_text(params["title"]),
        sla_hours=params["sla_hours"],
        now=request.now,
    )


def _reconcile(
    engine: Engine, settings: Settings, request: RunRequest, params: dict[str, Any]
) -> Any:
    from ops_domain.rollback.emergency import targeted_reconciliation

    first, last = _window(params)
    return targeted_reconciliation(
        engine,
        settings,
        actor_username=request.actor_username,
        currency=chosen_currency(params["currency"]),
        window_start=first,
        window_end=last,
        statement=_statement(params),
        merchant_code=given_text(params["merchant_code"]),
        now=request.now,
        dry_run=request.dry_run,
    )


def _backfill(
    engine: Engine, settings: Settings, request: RunRequest, params: dict[str, Any]
) -> Any:
    from ops_domain.rollback.emergency import backfill_settlements

    first, last = _window(params)
    return backfill_settlements(
        engine,
        settings,
        actor_username=request.actor_username,
        period_start=first,
        period_end=last,
        currency=chosen_currency(params["currency"]),
        create_payouts=params["create_payouts"],
        now=request.now,
        dry_run=request.dry_run,
        idempotency_key=idempotency_key(get_current_context()),
    ).to_dict()


def _rollback(engine: Engine, _: Settings, request: RunRequest, params: dict[str, Any]) -> Any:
    from ops_domain.rollback.emergency import record_rollback

    decision = record_rollback(
        engine,
        release_id=params["release_id"],
        environment=params["environment"],
        reason=params["reason"],
        actor_username=request.actor_username,
        now=request.now,
    )
    return {**jsonable(decision), "text": decision.text()}


def _window(params: dict[str, Any]) -> tuple[date, date]:
    first, last = (
        date.fromisoformat(params["window_start"]),
        date.fromisoformat(params["window_end"]),
    )
    if last < first:
        raise refuse(f"window_end {last} is before window_start {first}")
    return first, last


def _statement(params: dict[str, Any]) -> Any:
    from ops_domain.reconciliation.statements import ExternalStatement

    path, totals = given_text(params["statement_path"]), params["statement_totals"]
    if bool(path) == bool(totals):
        raise refuse("give the statement as statement_path or statement_totals, not both")
    return ExternalStatement.from_csv(path) if path else ExternalStatement.from_totals(totals)


def _emergency(action: str, summary: str, form: Form, perform: Perform) -> ManualAction:
    """The DAG ``emergency_<action>``, needing the permission the domain says ``action`` needs."""
    return ManualAction(
        f"emergency_{action}", emergency_permission(action), summary, form, perform, TAGS
    )


_DECLARED = (
    _emergency(
        "freeze_payouts",
        "Freeze payouts globally or for one merchant: while a freeze applies no payout is "
        "created, sent or settled in its scope. Risk, operation, admin, super_admin.",
        lambda _: {
            "reason": _reason("Why payouts are frozen."),
            "merchant_code": _merchant("Freeze only this merchant. Empty: a global freeze."),
        },
        _freeze,
    ),
    _emergency(
        "lift_payout_freeze",
        "Lift a payout freeze. Only a checker (admin, risk, super_admin) other than the login "
        "that set the freeze may lift it.",
        lambda _: {
            "freeze_id": Param(
                type="integer", title="Freeze id", description="The freeze to lift."
            ),
            "note": text_param(title="Note", description="The checker's note.", required=True),
        },
        _lift,
    ),
    _emergency(
        "open_incident",
        "Open a critical incident case for the teams risk and operation, for a release (once "
        "per release and trigger while active) or a titled event. Risk, operation, admin, "
        "super_admin.",
        lambda _: {
            "release_id": release_id_param(
                "The release or hotfix concerned. Empty: give a title.", required=False
            ),
            "title": text_param(
                title="Incident title",
                description="What happened (required without a release id).",
            ),
            "trigger": choice_param(
                "manual",
                INCIDENT_TRIGGERS,
                title="Trigger",
                description="The rollback trigger behind the incident.",
            ),
            "sla_hours": count_param(
                INCIDENT_SLA_HOURS,
                title="Incident SLA (hours)",
                description="The incident is due this many hours from now.",
                maximum=MAX_INCIDENT_SLA_HOURS,
            ),
        },
        _incident,
    ),
    _emergency(
        "targeted_reconciliation",
        "Reconcile a window against an external statement (a CSV path or inline totals); "
        "opens a break per mismatch. Also needs the reconciliation rights.",
        lambda settings: {
            **_window_fields(settings, "the merchant's own currency"),
            "merchant_code": _merchant("Reconcile only this merchant."),
            "statement_path": text_param(
                title="Statement CSV",
                description="Path of the external statement CSV "
                "(merchant_code,business_date,amount,count[,reference]); or use the totals.",
            ),
            "statement_totals": Param(
                [],
                type="array",
                items={"type": "string", "pattern": r"^\S+$"},
                title="Statement totals",
                description="Inline statement lines MERCHANT:YYYY-MM-DD:AMOUNT:COUNT[:REFERENCE]"
                ", instead of a CSV.",
            ),
            "dry_run": dry_run_param(),
        },
        _reconcile,
    ),
    _emergency(
        "backfill_settlements",
        "Run the settlement job over a window; every event is still settled once. Also needs "
        "the settlement rights.",
        lambda settings: {
            **_window_fields(settings, "every enabled currency"),
            "create_payouts": flag_param(
                False,
                title="Create payouts",
                description="Create pending payouts (held by any freeze).",
            ),
            "dry_run": dry_run_param(),
        },
        _backfill,
    ),
    _emergency(
        "record_rollback",
        "Record the decision to restore the previous release: marks the release rolled_back "
        "and logs the next steps (the deploy happens outside this platform).",
        lambda _: {
            "release_id": release_id_param("The release concerned."),
            "environment": environment_param("The environment the release is rolled back in."),
            "reason": _reason("Why the release is rolled back."),
        },
        _rollback,
    ),
)
EMERGENCY_ACTIONS: dict[str, ManualAction] = {action.dag_id: action for action in _DECLARED}
