"""
### Accounting period governance

Monthly, at 02:00 UTC on the 1st: close the month that just ended (the run's data interval)
for every enabled currency. Manual runs close or re-open any period of one currency.

1. `authorise_run` checks the login that triggered the run (scheduled runs: the service
   account): closing needs finance, admin or super_admin; re-opening needs a checker (admin,
   super_admin) and a `reason`.
2. `plan_periods` lists the (currency, period) pairs to act on.
3. `list_blockers` dry-runs the action for each pair and fails, listing every blocker
   (overlapping periods, draft entries, pending journal approvals, open reconciliation
   breaks dated in the period), before anything is closed.
4. `apply` closes (or re-opens) each period. Closing a closed period, or re-opening an open
   one, changes nothing. A re-open raises a `period_reopened` alert.

*Runbook*: when `list_blockers` fails, its log names each blocker; clear them (post or void
the drafts, decide the approvals, resolve the breaks) and clear the failed task to rerun.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task
from wallet_ops_airflow.defaults import task_defaults
from wallet_ops_airflow.jobs import authorise_run, run_service
from wallet_ops_airflow.params import (
    choice_param,
    chosen_currency,
    currency_param,
    date_param,
    dry_run_param,
    text_param,
)
from wallet_ops_airflow.periods import requested_period
from wallet_ops_airflow.refusal import refuse
from wallet_ops_airflow.run_request import PeriodRequest, RunRequest

from ops_domain.accounting.period_choice import period_action_permission
from ops_domain.accounting.periods import ACTIONS
from ops_domain.config import Settings

JOB = "manage_accounting_period"


@dag(
    dag_id="accounting_period_governance",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 2 1 * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(),
    tags=["wallet-ops", "accounting", "period-close"],
    params={
        "action": choice_param(
            "close",
            ACTIONS,
            title="Action",
            description="close: lock the period against postings; open: re-open a closed one.",
        ),
        "period_start": date_param(
            "Period start", "First day of the period (manual runs). Empty on scheduled runs."
        ),
        "period_end": date_param("Period end", "Last day of the period, inclusive (manual runs)."),
        "currency": currency_param(Settings.from_env(), all_label="every enabled currency"),
        "reason": text_param(
            title="Reason", description="Why the period is re-opened (required for open)."
        ),
        "dry_run": dry_run_param(),
    },
)
def accounting_period_governance() -> None:
    @task(task_id="authorise_run")
    def authorise() -> dict[str, Any]:
        action = get_current_context()["params"]["action"]
        return authorise_run(permission=period_action_permission(action), job=JOB)

    @task
    def plan_periods(request: dict[str, Any]) -> list[dict[str, Any]]:
        params = get_current_context()["params"]
        first, last = requested_period(params, RunRequest.from_xcom(request))
        chosen = chosen_currency(params["currency"])
        currencies = [chosen] if chosen else sorted(Settings.from_env().enabled_currencies)
        return [PeriodRequest(code, first, last).to_xcom() for code in currencies]

    def manage(request: RunRequest, period: PeriodRequest, *, dry_run: bool) -> dict[str, Any]:
        from ops_domain.accounting.periods import manage_accounting_period

        params = get_current_context()["params"]
        return run_service(
            manage_accounting_period,
            replace(request, dry_run=dry_run),
            period_start=period.period_start,
            period_end=period.period_end,
            currency=period.currency,
            action=params["action"],
            reason=params["reason"],
            now=request.now,
        )

    @task(map_index_template="{{ task.op_kwargs['period']['currency'] }}")
    def list_blockers(request: dict[str, Any], period: dict[str, Any]) -> dict[str, Any]:
        planned = PeriodRequest.from_xcom(period)
        preview = manage(RunRequest.from_xcom(request), planned, dry_run=True)
        blockers = preview["counts"].get("blockers", 0)
        if blockers:
            raise refuse(
                f"{planned.describe()}: {blockers} blocker(s), listed below",
                "\n".join(f"  - {line}" for line in preview["messages"]),
            )
        return preview

    @task(map_index_template="{{ task.op_kwargs['period']['currency'] }}")
    def apply(request: dict[str, Any], period: dict[str, Any]) -> dict[str, Any]:
        run = RunRequest.from_xcom(request)
        return manage(run, PeriodRequest.from_xcom(period), dry_run=run.dry_run)

    request = authorise()
    periods = plan_periods(request)
    previews = list_blockers.partial(request=request).expand(period=periods)
    previews >> apply.partial(request=request).expand(period=periods)


accounting_period_governance()
