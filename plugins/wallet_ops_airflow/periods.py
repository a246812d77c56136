"""Which accounting period a governance run acts on: its Params, read for the domain's rule
(``ops_domain.accounting.period_choice``), which also decides a schedule's default month."""

from __future__ import annotations

from datetime import date
from typing import Any

from ops_domain.accounting.period_choice import chosen_period
from wallet_ops_airflow.refusal import domain_refusals_refuse_the_run
from wallet_ops_airflow.run_request import RunRequest


def requested_period(params: dict[str, Any], request: RunRequest) -> tuple[date, date]:
    """The period the Params name, else the month of the business date (the month that just
    ended, on the monthly schedule); a manual run must name its period."""
    start, end = params.get("period_start"), params.get("period_end")
    with domain_refusals_refuse_the_run():
        return chosen_period(
            date.fromisoformat(start) if start else None,
            date.fromisoformat(end) if end else None,
            business_date=request.business_date,
            named_by_a_person=request.manual,
        )
