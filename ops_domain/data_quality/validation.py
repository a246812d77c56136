"""Run the rules' checks through Great Expectations Core 1.x against the ops database.

One ephemeral context per run (nothing written to disk), one table asset and whole-table
batch per table, one suite per table and check kind. Evaluation happens in SQL on PostgreSQL.
The suites are validated on the batch directly, never added to the context's stores: each
store write serialises the context's whole configuration again, which cost more than the
SQL itself (the gate's data-quality task took seconds of pure bookkeeping).

GX is imported here, lazily: it costs seconds, and neither the CLI's other commands nor
Airflow's DAG parsing should pay for it.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ops_domain.data_quality.report import EXAMPLE_LIMIT, CheckOutcome
from ops_domain.data_quality.rules import Check, Rule
from ops_domain.db import describe_url
from ops_domain.errors import DatabaseUnavailable

SOURCE_NAME = "ops"
CONNECT_ARGS = {"connect_timeout": 10, "application_name": "ops_data_quality"}
# Column checks: counts plus a few offending ids, never the full list (memory stays flat).
COLUMN_RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "unexpected_index_column_names": ["id"],
    "partial_unexpected_count": EXAMPLE_LIMIT,
}
# Row checks: COMPLETE is what returns the offending rows; GX fetches at most 200 of them.
ROW_RESULT_FORMAT = {"result_format": "COMPLETE"}

CheckKey = tuple[str, int]


def evaluate_checks(url: str, rules: Sequence[Rule]) -> dict[CheckKey, CheckOutcome]:
    """Every check's outcome, keyed by (rule name, position of the check in its rule)."""
    gx = _great_expectations()
    context = gx.get_context(mode="ephemeral")
    _silence_progress_bars(context)
    outcomes: dict[CheckKey, CheckOutcome] = {}
    with _ops_source(context, url) as source:
        for table, by_kind in _checks_by_table(rules).items():
            batch = _whole_table(source, table)
            for row_checks, members in by_kind.items():
                outcomes |= _run_suite(batch, members, row_checks=row_checks)
    return outcomes


def _checks_by_table(rules: Sequence[Rule]) -> dict[str, dict[bool, dict[CheckKey, Check]]]:
    """Checks grouped by table, then by kind: a suite per kind, since each needs its own
    result format."""
    grouped: dict[str, dict[bool, dict[CheckKey, Check]]] = defaultdict(lambda: defaultdict(dict))
    for rule in rules:
        for index, check in enumerate(rule.checks):
            grouped[check.table][check.is_row_check][(rule.name, index)] = check
    return grouped


def _run_suite(
    batch: Any, members: dict[CheckKey, Check], *, row_checks: bool
) -> dict[CheckKey, CheckOutcome]:
    import great_expectations as gx
    from great_expectations import expectations

    table = next(iter(members.values())).table
    kind = "rows" if row_checks else "columns"
    suite = gx.ExpectationSuite(name=f"{table}:{kind}")
    for key, check in members.items():
        expectation_class = getattr(expectations, check.expectation)
        suite.add_expectation(
            expectation_class(**check.options, meta={"rule": key[0], "check": key[1]})
        )
    result = batch.validate(
        suite, result_format=ROW_RESULT_FORMAT if row_checks else COLUMN_RESULT_FORMAT
    )
    outcomes = {}
    for item in result.results:
        key = (item.expectation_config.meta["rule"], int(item.expectation_config.meta["check"]))
        outcomes[key] = _outcome(members[key], item)
    return outcomes


def _great_expectations() -> Any:
    os.environ["GX_ANALYTICS_ENABLED"] = "False"  # a release gate never phones home
    import great_expectations as gx

    # This GX module pins its own logger at INFO and announces a temporary docs directory on
    # every ephemeral context; the CLI's stderr is for errors.
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
    return gx


def _silence_progress_bars(context: Any) -> None:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)


@contextmanager
def _ops_source(context: Any, url: str) -> Iterator[Any]:
    """The ops database as a GX SQL data source; its engines are closed afterwards.

    GX's ``add_postgres`` validates the URL as a network DSN and refuses the unix-socket
    form (``postgresql+psycopg2://user:@/db?host=/socket/dir``: "URL host invalid"). The
    generic ``add_sql`` source takes any SQLAlchemy URL and runs the same SQL on the same
    PostgreSQL dialect, so it is used for every URL.
    """
    from great_expectations.datasource.fluent.interfaces import TestConnectionError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "a more specific datasource type exists": see above
            source = context.data_sources.add_sql(
                name=SOURCE_NAME, connection_string=url, kwargs={"connect_args": CONNECT_ARGS}
            )
        try:
            yield source
        finally:
            source.get_execution_engine().engine.dispose()
            source.get_engine().dispose()
    except TestConnectionError as exc:
        cause = exc.__cause__ or exc
        reason = str(getattr(cause, "orig", None) or cause).strip().splitlines()[0]
        raise DatabaseUnavailable(
            f"data-quality checks cannot read {describe_url(url)}: {reason}"
        ) from exc


def _whole_table(source: Any, table: str) -> Any:
    asset = source.add_table_asset(name=table, table_name=table)
    return asset.add_batch_definition_whole_table(name=f"{table}:all").get_batch()


def _outcome(check: Check, item: Any) -> CheckOutcome:
    result = item.result or {}
    error = _error_of(item.exception_info or {})
    if check.is_row_check:
        count = int(result.get("observed_value") or 0)
        rows = result.get("details", {}).get("unexpected_rows", [])
        examples = tuple(row["id"] for row in rows[:EXAMPLE_LIMIT])
    else:
        count = int(result.get("unexpected_count") or 0)
        rows = result.get("partial_unexpected_index_list") or []
        examples = tuple(sorted(row["id"] for row in rows)[:EXAMPLE_LIMIT])
    return CheckOutcome(
        label=check.label,
        expectation=check.expectation,
        subject=check.subject,
        success=bool(item.success) and error is None,
        unexpected_count=count,
        example_ids=examples,
        error=error,
    )


def _error_of(exception_info: dict[str, Any]) -> str | None:
    """The first failure message, if evaluating the check raised.

    GX reports either one ``{raised_exception, exception_message}`` dict or, when a metric
    failed, such a dict per metric keyed by the metric's id.
    """
    infos = [exception_info] if "raised_exception" in exception_info else exception_info.values()
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            message = str(info.get("exception_message") or "raised an exception").strip()
            return message.splitlines()[0][:300]
    return None
