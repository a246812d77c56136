"""The data-quality check of the release gate: run every SPEC 5.8 rule, judge, fail closed."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from ops_domain.checks import CheckResult, Evaluation
from ops_domain.clock import utc_now
from ops_domain.config import Settings
from ops_domain.data_quality.report import CheckOutcome, DataQualityReport, RuleOutcome

if TYPE_CHECKING:
    from ops_domain.data_quality.rules import Check

CHECK_NAME = "data_quality"


def run_data_quality(engine_or_url: Engine | str, settings: Settings) -> DataQualityReport:
    """Validate the ops tables against every rule; a check GX could not evaluate is an error."""
    # The rules read every mapped table: imported here, as the release DAG's parse reads this
    # module through the runbook registry.
    from ops_domain.data_quality.rules import data_quality_rules
    from ops_domain.data_quality.validation import evaluate_checks

    url = (
        engine_or_url.url.render_as_string(hide_password=False)
        if isinstance(engine_or_url, Engine)
        else engine_or_url
    )
    rules = data_quality_rules(settings)
    started_at, clock = utc_now(), time.perf_counter()
    outcomes = evaluate_checks(url, rules)
    return DataQualityReport(
        rules=tuple(
            RuleOutcome(
                rule.name,
                rule.protects,
                tuple(
                    outcomes.get((rule.name, index)) or _not_evaluated(check)
                    for index, check in enumerate(rule.checks)
                ),
            )
            for rule in rules
        ),
        started_at=started_at,
        duration_seconds=time.perf_counter() - clock,
    )


def data_quality_check(evaluation: Evaluation) -> CheckResult:
    """The gate's verdict: pass only when every rule holds; unevaluated rules are an error."""
    return judge(run_data_quality(evaluation.engine, evaluation.settings))


def failed_expectations(result: CheckResult) -> list[str]:
    """One line per failed or unevaluated expectation of a data-quality result: rule, check,
    count, a few offending keys (what a failing gate task names)."""
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


def judge(report: DataQualityReport) -> CheckResult:
    details = report.to_dict()
    if report.errored:
        errored = [rule.name for rule in report.rules if rule.errored]
        return CheckResult(
            CHECK_NAME, "error", f"could not evaluate: {', '.join(errored)}", details
        )
    if report.failed_rules:
        failed = ", ".join(f"{rule.name} ({rule.unexpected_count})" for rule in report.failed_rules)
        summary = f"{len(report.failed_rules)} of {len(report.rules)} rules failed: {failed}"
        return CheckResult(CHECK_NAME, "fail", summary, details)
    return CheckResult(CHECK_NAME, "pass", f"all {len(report.rules)} rules hold", details)


def _not_evaluated(check: Check) -> CheckOutcome:
    return CheckOutcome(
        label=check.label,
        expectation=check.expectation,
        subject=check.subject,
        success=False,
        unexpected_count=0,
        example_ids=(),
        error="Great Expectations returned no result for this check",
    )
