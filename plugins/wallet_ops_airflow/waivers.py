"""Release-readiness waivers as manual DAGs (``manual_action``): a maker's login requests one,
a checker's login decides it, so the two people of the exception are two logins.

A waiver is valid for a whole number of days picked from a dropdown (nothing to mistype);
``OPS_WAIVER_MAX_DAYS`` bounds it, as on the command line.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param
from sqlalchemy import Engine

from ops_domain.config import Settings
from ops_domain.readiness.models import READINESS_COUNTERS
from ops_domain.readiness.waivers import DECISION_PERMISSION, REQUEST_PERMISSION
from wallet_ops_airflow.manual_action import ManualAction
from wallet_ops_airflow.params import (
    choice_param,
    count_param,
    environment_param,
    release_id_param,
    text_param,
)
from wallet_ops_airflow.run_request import RunRequest

TAGS = ("release", "waivers")
DECISIONS = ("approve", "reject")
ITEM_IDS = r"^\s*[0-9]+(\s*,\s*[0-9]+)*\s*$"  # the form's list widget loses typed numbers


def _request(
    engine: Engine, settings: Settings, request: RunRequest, params: dict[str, Any]
) -> Any:
    from ops_domain.readiness.waivers import request_waiver

    return request_waiver(
        engine,
        actor_username=request.actor_username,
        counter=params["counter"],
        reason=params["reason"],
        expires_at=request.now + timedelta(days=params["valid_days"]),
        release_id=params["release_id"],
        environment=params["environment"],
        item_ids=[int(item) for item in params["item_ids"].split(",")],
        now=request.now,
        max_days=settings.waiver_max_days,
    ).to_dict()


def _decide(engine: Engine, _: Settings, request: RunRequest, params: dict[str, Any]) -> Any:
    from ops_domain.readiness.waivers import approve_waiver, reject_waiver

    decide = approve_waiver if params["decision"] == "approve" else reject_waiver
    return decide(
        engine,
        waiver_id=params["waiver_id"],
        actor_username=request.actor_username,
        note=params["note"],
        now=request.now,
    ).to_dict()


def _request_form(settings: Settings) -> dict[str, Param]:
    return {
        "release_id": release_id_param("The release the waiver is for."),
        "environment": environment_param("The environment of that release."),
        "counter": choice_param(
            READINESS_COUNTERS[0],
            READINESS_COUNTERS,
            title="Counter",
            description="The readiness counter the waiver lets pass.",
        ),
        "item_ids": Param(
            type="string",
            pattern=ITEM_IDS,
            title="Items",
            description="The ids of the blocking items it covers, comma-separated (e.g. 12, 15).",
        ),
        "reason": text_param(
            title="Reason", description="Why the release may ship anyway.", required=True
        ),
        "valid_days": count_param(
            3,
            title="Valid for (days)",
            description="The waiver expires this many days from now.",
            maximum=settings.waiver_max_days,
        ),
    }


def _decision_form(_: Settings) -> dict[str, Param]:
    return {
        "waiver_id": Param(type="integer", title="Waiver id", description="The waiver to decide."),
        "decision": choice_param(
            "approve", DECISIONS, title="Decision", description="Approve or reject it."
        ),
        "note": text_param(
            title="Note",
            description="The checker's note, kept in the audit trail.",
            required=True,
        ),
    }


REQUEST = ManualAction(
    "readiness_waiver_request",
    REQUEST_PERMISSION,
    "Ask for a release-readiness waiver (operation, risk, finance, admin); a checker decides.",
    _request_form,
    _request,
    TAGS,
)
DECISION = ManualAction(
    "readiness_waiver_decision",
    DECISION_PERMISSION,
    "Approve or reject a waiver: a checker (risk, admin) other than the login that asked.",
    _decision_form,
    _decide,
    TAGS,
)
