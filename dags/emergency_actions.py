"""
### Emergency actions

Manual only; the run acts as the login that triggered it. Pick the `action`, fill in its
parameters:

- `freeze_payouts`: `reason` (required), `merchant_code` (empty: a global freeze). While a
  freeze applies no payout is created, sent or settled in its scope.
- `lift_payout_freeze`: `freeze_id`, `note`. Only a checker (admin, risk, super_admin) other
  than the person who set the freeze may lift it.
- `open_incident`: `release_id` (any release or hotfix id, or empty with a `title`),
  `trigger`, `sla_hours` (default 4): a `critical` incident case assigned to the teams risk
  AND operation (once per release and trigger while active).
- `targeted_reconciliation`: `currency` and/or `merchant_code` (alone, the merchant's
  settlement currency), `window_start`, `window_end`, and the external statement as
  `statement_path` (CSV) or `statement_totals` (`MERCHANT:DATE:AMOUNT:COUNT`); opens a break
  per mismatch.
- `backfill_settlements`: `window_start`, `window_end`, optional `currency`,
  `create_payouts`: the settlement job over the window, every event still settled once.
- `record_rollback`: `release_id`, `environment`, `reason`: marks the release of that
  environment `rolled_back` and logs the next steps (the deploy happens outside this platform).

Actors: risk, operation, admin, super_admin (SPEC 6); a reconciliation or backfill also needs
the rights of that job. Every action is audited; a refusal fails the `act` task naming the
problem and changes nothing. `dry_run` exists for the reconciliation and the backfill only.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from wallet_ops_airflow.defaults import task_defaults
from wallet_ops_airflow.emergency import ACTIONS, perform
from wallet_ops_airflow.jobs import authorise_run
from wallet_ops_airflow.params import (
    choice_param,
    count_param,
    currency_param,
    date_param,
    dry_run_param,
    flag_param,
    text_param,
)

from ops_domain.config import Settings
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT, ENVIRONMENTS
from ops_domain.rollback.policy import (
    INCIDENT_SLA_HOURS,
    INCIDENT_TRIGGERS,
    MAX_INCIDENT_SLA_HOURS,
)

JOB = "emergency actions"


@dag(
    dag_id="emergency_actions",
    doc_md=__doc__,
    schedule=None,
    start_date=None,
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retries=1),
    tags=["wallet-ops", "release", "emergency"],
    params={
        "action": choice_param(
            "freeze_payouts",
            ACTIONS,
            title="Action",
            description="The emergency action to perform; fill in the parameters it names.",
        ),
        "reason": text_param(
            title="Reason",
            description="freeze_payouts and record_rollback: why (required for both).",
        ),
        "merchant_code": text_param(
            title="Merchant code",
            description="freeze_payouts: freeze only this merchant (empty: global). "
            "targeted_reconciliation: reconcile only this merchant.",
            max_length=64,
        ),
        "freeze_id": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="Freeze id",
            description="lift_payout_freeze: the freeze to lift.",
        ),
        "note": text_param(
            title="Note", description="lift_payout_freeze: the checker's note (required)."
        ),
        "release_id": text_param(
            title="Release id",
            description="open_incident and record_rollback: the release concerned.",
            max_length=100,
        ),
        "environment": choice_param(
            DEFAULT_ENVIRONMENT,
            ENVIRONMENTS,
            title="Environment",
            description="record_rollback: the environment the release is rolled back in.",
        ),
        "title": text_param(
            title="Incident title",
            description="open_incident: what happened (required without a release id).",
        ),
        "trigger": Param(
            None,
            type=["null", "string"],
            enum=[None, *INCIDENT_TRIGGERS],
            title="Trigger",
            description="open_incident: the rollback trigger behind it (empty: manual).",
        ),
        "sla_hours": count_param(
            INCIDENT_SLA_HOURS,
            title="Incident SLA (hours)",
            description="open_incident: the incident is due this many hours from now.",
            maximum=MAX_INCIDENT_SLA_HOURS,
        ),
        "currency": currency_param(
            Settings.from_env(),
            all_label="every currency (backfill), the merchant's own (reconciliation)",
        ),
        "window_start": date_param(
            "Window start", "targeted_reconciliation and backfill_settlements: first day."
        ),
        "window_end": date_param(
            "Window end", "targeted_reconciliation and backfill_settlements: last day."
        ),
        "statement_path": text_param(
            title="Statement CSV",
            description="targeted_reconciliation: path of the external statement CSV "
            "(merchant_code,business_date,amount,count[,reference]).",
        ),
        "statement_totals": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Statement totals",
            description="targeted_reconciliation: inline statement lines "
            "MERCHANT:YYYY-MM-DD:AMOUNT:COUNT[:REFERENCE], instead of a CSV.",
        ),
        "create_payouts": flag_param(
            False,
            title="Create payouts",
            description="backfill_settlements: create pending payouts (held by any freeze).",
        ),
        "dry_run": dry_run_param(),
    },
)
def emergency_actions() -> None:
    @task(task_id="authorise_run")
    def authorise() -> dict[str, Any]:
        action = get_current_context()["params"]["action"]
        return authorise_run(permission=ACTIONS[action].permission, job=f"emergency {action}")

    @task
    def act(request: dict[str, Any]) -> dict[str, Any]:
        params = get_current_context()["params"]
        return perform(params["action"], request, params)

    act(authorise())


emergency_actions()
