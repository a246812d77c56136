"""The data-quality operator: the Great Expectations suites over the ops tables.

GX is imported only when the task runs (importing it costs seconds, far over a DAG file's
parse budget). The task publishes the check result like every readiness check and fails
naming each failed expectation, with a few offending keys.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from ops_domain.checks import CheckResult
from wallet_ops_airflow.checks import publish_check
from wallet_ops_airflow.jobs import ops_engine, settings


def failed_expectations(result: CheckResult) -> list[str]:
    """One line per failed or unevaluated expectation: rule, check, count, examples."""
    lines = []
    for rule in result.details.get("rules", []):
        for check in rule["checks"]:
            if check["success"] and not check["error"]:
                continue
            problem = check["error"] or f"{check['unexpected_count']} unexpected"
            examples = ", ".join(str(e) for e in check["example_ids"][:5])
            lines.append(
                f"{rule['name']}: {check['label']} ({check['expectation']}): {problem}"
                + (f" e.g. {check['subject']} {examples}" if examples else "")
            )
    return lines


class DataQualityOperator(BaseOperator):
    """Runs every data-quality rule; fails listing the expectations that do not hold."""

    ui_color = "#e8f4ea"

    def execute(self, context: Any) -> dict[str, Any]:
        from ops_domain.data_quality.service import data_quality_check

        with ops_engine() as engine:
            result = data_quality_check(engine, settings())
        failures = failed_expectations(result)
        detail = "".join(f"\n  - {line}" for line in failures)
        return publish_check(result, detail)
