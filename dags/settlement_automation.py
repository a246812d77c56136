"""
### Settlement automation

Daily at 01:00 UTC, for the business day that just ended (the run's data interval) and the
`lookback_days` before it (default 1, the domain's yesterday..today window), settle the
unsettled cash-flow events of active merchants: one settlement per merchant and currency,
posted by policy up to the auto-post limit (else left `draft` for a checker), then a
`pending` payout for each posted settlement with positive net unless a freeze holds it. The
look-back is what picks up events that arrive after their day's run: without it a late event
would wait for a manual backfill.

The work is split into `shards` merchant shards (dynamic task mapping); each shard is its own
job run, and the `report` task adds them up. Every event is settled exactly once, so a rerun,
a retry or a backfill of a past day changes nothing that is already settled; late events of
a settled day get a settlement with the next sequence.

*Runbook*: backfill past days from the UI or the REST API (catch-up starts at
`OPS_SETTLEMENT_START_DATE`, default 2026-11-01). A manual run or a backfill acts as the login
that created it (roles operation, finance, admin, super_admin), checked before anything is
settled; `dry_run` reports what would be settled and writes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task
from wallet_ops_airflow.defaults import task_defaults
from wallet_ops_airflow.jobs import authorise_run, run_service, summarise
from wallet_ops_airflow.params import (
    business_date_param,
    chosen_currency,
    count_param,
    currency_param,
    dry_run_param,
    flag_param,
)
from wallet_ops_airflow.run_request import RunRequest

from ops_domain.config import Settings
from ops_domain.settlement_automation import SETTLEMENT_JOB

log = logging.getLogger(__name__)

JOB = SETTLEMENT_JOB.name
START_DATE = Settings.from_env().settlement_start_date


@dag(
    dag_id="settlement_automation",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone="UTC"),
    start_date=datetime.combine(START_DATE, time(), tzinfo=UTC),
    catchup=True,
    max_active_runs=1,
    default_args=task_defaults(),
    tags=["wallet-ops", "settlements", "payouts"],
    params={
        "dry_run": dry_run_param(),
        "business_date": business_date_param("whose events are settled"),
        "currency": currency_param(Settings.from_env(), all_label="every enabled currency"),
        "create_payouts": flag_param(
            True,
            title="Create payouts",
            description="Create a pending payout for each posted settlement with positive net.",
        ),
        "lookback_days": count_param(
            1,
            title="Look-back days",
            description="Also settle late events of this many days before the business date.",
            minimum=0,
            maximum=31,
        ),
        "shards": count_param(
            1,
            title="Merchant shards",
            description="Split the merchants into this many shards, settled as parallel tasks.",
            maximum=64,
        ),
    },
)
def settlement_automation() -> None:
    request = task(task_id="authorise_run")(authorise_run)(
        permission=SETTLEMENT_JOB.permission, job=JOB
    )

    @task
    def plan_shards() -> list[list[int]]:
        count = get_current_context()["params"]["shards"]
        return [[index, count] for index in range(count)]

    @task(map_index_template="shard {{ task.op_kwargs['shard'][0] }}")
    def settle(request: dict[str, Any], shard: list[int]) -> dict[str, Any]:
        from ops_domain.settlement_automation import automate_settlements

        params = get_current_context()["params"]
        run = RunRequest.from_xcom(request)
        day = run.business_date
        return run_service(
            automate_settlements,
            run,
            period_start=day - timedelta(days=params["lookback_days"]),
            period_end=day,
            currency=chosen_currency(params["currency"]),
            create_payouts=params["create_payouts"],
            now=run.now,
            shard=(shard[0], shard[1]) if shard[1] > 1 else None,
        )

    @task
    def report(shard_results: list[dict[str, Any]]) -> dict[str, Any]:
        # Read exactly len() results: iterating the lazy sequence asks for one past the end,
        # which a worker logs as an "XCom not found" error.
        outcomes = [shard_results[index] for index in range(len(shard_results))]
        total: dict[str, int] = {}
        for outcome in outcomes:
            for name, value in outcome["counts"].items():
                total[name] = total.get(name, 0) + value
        dry_run = any(outcome["dry_run"] for outcome in outcomes)
        summary = {"job": JOB, "dry_run": dry_run, "shards": len(outcomes), "counts": total}
        log.info("%s", summarise(summary))
        return summary

    shards = plan_shards()
    request >> shards
    report(settle.partial(request=request).expand(shard=shards))


settlement_automation()
