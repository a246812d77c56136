"""``check_data_quality``: the SPEC 5.8 data-quality rules over the ops tables."""

from __future__ import annotations

import argparse

from ops_domain.cli.runtime import (
    EXIT_CHECK_FAILED,
    EXIT_INFRASTRUCTURE,
    EXIT_OK,
    Runtime,
    add_json_flag,
    emit,
)
from ops_domain.data_quality.report import CheckOutcome, DataQualityReport, RuleOutcome


def register(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser(
        "check_data_quality",
        help="validate the ops tables against the data-quality rules (exit 1 on a violation)",
    )
    add_json_flag(check)
    check.set_defaults(handler=run_check_data_quality)


def run_check_data_quality(args: argparse.Namespace, runtime: Runtime) -> int:
    from ops_domain.data_quality.service import judge, run_data_quality

    report = run_data_quality(runtime.engine, runtime.settings)
    verdict = judge(report)
    emit(
        {"status": verdict.status, "summary": verdict.summary, **report.to_dict()},
        as_json=args.json,
        text=report_lines(report, verdict.summary),
    )
    if report.errored:
        return EXIT_INFRASTRUCTURE
    return EXIT_OK if report.success else EXIT_CHECK_FAILED


def report_lines(report: DataQualityReport, summary: str) -> list[str]:
    headline = "PASS" if report.success else "ERROR" if report.errored else "FAIL"
    lines = [f"data quality: {headline}: {summary} ({report.duration_seconds:.2f} s)"]
    for rule in report.rules:
        lines.append(_rule_line(rule))
        lines += [f"      {_check_line(check)}" for check in rule.failed_checks]
    return lines


def _rule_line(rule: RuleOutcome) -> str:
    if rule.success:
        return f"  pass  {rule.name}"
    status = "ERROR" if rule.errored else "FAIL "
    return f"  {status} {rule.name}: {rule.unexpected_count} unexpected"


def _check_line(check: CheckOutcome) -> str:
    if check.error:
        return f"{check.label} ({check.expectation}): could not evaluate: {check.error}"
    examples = ", ".join(str(example) for example in check.example_ids)
    return (
        f"{check.label} ({check.expectation}): {check.unexpected_count} unexpected;"
        f" e.g. {check.subject} {examples}"
    )
