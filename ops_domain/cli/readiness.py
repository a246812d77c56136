"""Release readiness: ``release_readiness_gate``, ``waivers``, ``check_db_isolation``,
``run_smoke_tests`` and ``release_readiness_report``.

Gate and report exit 0 when ready, 1 when not ready, 2 when they could not evaluate (SPEC 5.4);
a check command exits 0 on pass (or waived), 1 on fail, 2 when its input is bad (a setting or
URL missing or malformed), 3 when a database it must reach is unreachable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine

from ops_domain.checks import CheckResult, fail_closed
from ops_domain.cli.runtime import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
    Runtime,
    actor_help,
    add_command,
    add_decision_command,
    add_json_flag,
    check_exit,
    emit,
    timestamp_arg,
    whole_number_arg,
)
from ops_domain.errors import ReadinessNotEvaluated
from ops_domain.readiness import isolation, smoke
from ops_domain.readiness.environments import DEFAULT_ENVIRONMENT
from ops_domain.readiness.gate import GateReport, could_not_evaluate, release_readiness_gate
from ops_domain.readiness.models import READINESS_COUNTERS
from ops_domain.readiness.waivers import (
    WaiverRecord,
    approve_waiver,
    reject_waiver,
    request_waiver,
)
from ops_domain.runbook.report import release_readiness_report

Evaluated = TypeVar("Evaluated")


def register(subparsers: argparse._SubParsersAction) -> None:
    gate = subparsers.add_parser(
        "release_readiness_gate", help="readiness counters with approved waivers: ready or not"
    )
    _add_verdict_flags(gate)
    gate.set_defaults(handler=run_gate)

    report = subparsers.add_parser(
        "release_readiness_report", help="run every release check, store and print the verdict"
    )
    _add_verdict_flags(report)
    report.set_defaults(handler=run_report)

    isolation = subparsers.add_parser(
        "check_db_isolation", help="Airflow metadata, ops and audit databases are distinct"
    )
    isolation.add_argument(
        "--strict",
        action="store_true",
        help="also prove the ops login cannot read the Airflow metadata database",
    )
    add_json_flag(isolation)
    isolation.set_defaults(handler=run_check_db_isolation)

    smoke = subparsers.add_parser(
        "run_smoke_tests",
        help="run the shipped smoke scenarios in the scratch database OPS_TEST_DATABASE_URL",
    )
    add_json_flag(smoke)
    smoke.set_defaults(handler=run_smoke)

    waivers = subparsers.add_parser("waivers", help="approved exceptions to readiness counters")
    commands = waivers.add_subparsers(dest="waivers_command", required=True)
    request = add_command(
        commands, "request", "ask for a waiver (a checker decides)", permission="waivers.request"
    )
    request.add_argument(
        "--counter", required=True, choices=READINESS_COUNTERS, help="the readiness counter"
    )
    scope = request.add_mutually_exclusive_group(required=True)
    scope.add_argument(
        "--item-id",
        dest="item_ids",
        type=whole_number_arg,
        action="append",
        help="an item to waive",
    )
    scope.add_argument(
        "--max-count", type=whole_number_arg, help="let the counter pass up to this count"
    )
    request.add_argument("--reason", required=True, help="why the release may ship anyway")
    request.add_argument(
        "--expires-at",
        required=True,
        type=timestamp_arg("--expires-at"),
        help="when the waiver stops applying (ISO-8601)",
    )
    request.add_argument("--release-id", required=True, help="the release it applies to")
    add_environment_flag(request)
    request.set_defaults(handler=run_waiver_request)
    for name, help_text in (("approve", "approve a waiver"), ("reject", "reject a waiver")):
        add_decision_command(
            commands,
            name,
            f"{help_text} (a checker, not the requester)",
            record="waiver",
            permission="waivers.approve",
            handler=run_waiver_decision,
            decision=name,
        )


def add_environment_flag(parser: argparse.ArgumentParser) -> None:
    """A release is gated, waived, watched and rolled back per (release id, environment)."""
    parser.add_argument(
        "--environment",
        help=f"target environment (default: $OPS_ENVIRONMENT or '{DEFAULT_ENVIRONMENT}')",
    )


def _add_verdict_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--release-id",
        help="release evaluated (default: $OPS_RELEASE_ID or 'unversioned')",
    )
    parser.set_defaults(release_from_settings=True)
    add_environment_flag(parser)
    parser.add_argument(
        "--actor-username", required=True, help=actor_help("release.gate", "who runs the gate")
    )
    parser.add_argument(
        "--no-fail-on-issues", action="store_true", help="exit 0 even when not ready"
    )
    add_json_flag(parser)


def run_gate(args: argparse.Namespace, runtime: Runtime) -> int:
    try:
        report = _evaluate(release_readiness_gate, args, runtime)
    except ReadinessNotEvaluated as exc:
        return _not_evaluated(exc, args)
    emit(report.to_dict(), as_json=args.json, text=_gate_text(report, args.environment))
    return _verdict_exit(report.verdict.verdict, args.no_fail_on_issues)


def run_report(args: argparse.Namespace, runtime: Runtime) -> int:
    try:
        result = _evaluate(release_readiness_report, args, runtime)
    except ReadinessNotEvaluated as exc:
        return _not_evaluated(exc, args)
    emit(result.to_dict(), as_json=args.json, text=result.table())
    return _verdict_exit(result.gate.verdict.verdict, args.no_fail_on_issues)


def _not_evaluated(exc: ReadinessNotEvaluated, args: argparse.Namespace) -> int:
    """No verdict could be reached or stored: exit 2, and ``--json`` still answers, with
    ``verdict: error`` (SPEC 5.4), so a pipeline reading stdout never mistakes it for a yes."""
    print(f"error: {exc}", file=sys.stderr)
    if args.json:
        payload = {"is_ready": False, "verdict": "error", "release_id": args.release_id}
        emit({**payload, "error": str(exc)}, as_json=True)
    return EXIT_REFUSED


def run_check_db_isolation(args: argparse.Namespace, runtime: Runtime) -> int:
    settings = runtime.settings
    databases = isolation.configured_databases(settings, settings.ops_database_url)
    result = fail_closed(
        isolation.CHECK_NAME, lambda: isolation.check_db_isolation(databases, strict=args.strict)
    )
    return _emit_check(result, args.json)


def run_smoke(args: argparse.Namespace, runtime: Runtime) -> int:
    settings = runtime.settings
    result = fail_closed(
        smoke.CHECK_NAME,
        lambda: smoke.run_smoke_tests(
            settings.test_database_url, ops_database_url=settings.ops_database_url
        ),
    )
    return _emit_check(result, args.json)


def run_waiver_request(args: argparse.Namespace, runtime: Runtime) -> int:
    waiver = request_waiver(
        runtime.engine,
        actor_username=args.actor_username,
        counter=args.counter,
        reason=args.reason,
        expires_at=args.expires_at,
        release_id=args.release_id,
        environment=args.environment,
        item_ids=args.item_ids,
        max_count=args.max_count,
        max_days=runtime.settings.waiver_max_days,
    )
    emit(waiver.to_dict(), as_json=args.json, text=_waiver_text(waiver))
    return EXIT_OK


def run_waiver_decision(args: argparse.Namespace, runtime: Runtime) -> int:
    decide = approve_waiver if args.decision == "approve" else reject_waiver
    waiver = decide(
        runtime.engine,
        waiver_id=args.waiver_id,
        actor_username=args.actor_username,
        note=args.note,
    )
    emit(waiver.to_dict(), as_json=args.json, text=_waiver_text(waiver))
    return EXIT_OK


def _evaluate(
    evaluation: Callable[..., Evaluated], args: argparse.Namespace, runtime: Runtime
) -> Evaluated:
    """The gate or the report for the release and environment the command names."""
    return evaluation(
        _evaluating_engine(runtime, args.release_id),
        runtime.settings,
        actor_username=args.actor_username,
        release_id=args.release_id,
        environment=args.environment,
    )


def _evaluating_engine(runtime: Runtime, release_id: str) -> Engine:
    """The ops engine; an unreachable database means "could not evaluate" (exit 2)."""
    with could_not_evaluate(release_id):
        return runtime.engine


def _verdict_exit(verdict: str, no_fail_on_issues: bool) -> int:
    """0 ready, 1 not ready, 2 could not evaluate (an ``error`` verdict, whatever
    ``--no-fail-on-issues`` says: no answer is not an issue to wave through)."""
    if verdict == "error":
        return EXIT_REFUSED
    return EXIT_OK if verdict == "ready" or no_fail_on_issues else EXIT_CHECK_FAILED


def _emit_check(result: CheckResult, as_json: bool) -> int:
    lines = [f"{result.name}: {result.status.upper()}: {result.summary}"]
    emit(result.to_dict(), as_json=as_json, text=lines)
    unreachable = bool(result.details.get("unreachable"))
    error = result.status == "error"
    return check_exit(
        passed=result.passed, bad_input=error and not unreachable, unreachable=unreachable
    )


def _gate_text(report: GateReport, environment: str) -> list[str]:
    verdict = report.verdict
    lines = [
        f"release {verdict.release_id} ({environment}):"
        f" {'READY' if report.is_ready else 'NOT READY'}"
        f" [snapshot #{verdict.snapshot_id}, {verdict.generated_at.isoformat()}]"
    ]
    waived = report.waived
    for counter in READINESS_COUNTERS:
        mark = (
            ", failed"
            if counter in verdict.failed_checks
            else ", waived"
            if counter in verdict.waived_checks
            else ""
        )
        lines.append(
            f"  {counter}: {report.counters[counter]} (counted {report.counted.get(counter, 0)},"
            f" waived {waived[counter]}{mark})"
        )
    for waiver in report.waivers:
        scope = (
            f"items {', '.join(map(str, waiver['items_waived']))}"
            if "items_waived" in waiver
            else f"{waiver['count_waived']} of up to {waiver['max_count']}"
        )
        lines.append(
            f"  waiver #{waiver['id']} on {waiver['counter']}: {scope}"
            f" (approved by {waiver['approved_by']}, expires {waiver['expires_at']})"
        )
    return lines


def _waiver_text(waiver: WaiverRecord) -> str:
    scope = (
        f"items {', '.join(map(str, waiver.item_ids))}"
        if waiver.item_ids is not None
        else f"up to {waiver.max_count}"
    )
    decided = f", decided by {waiver.approved_by}" if waiver.approved_by else ""
    return (
        f"waiver #{waiver.id} on {waiver.counter} ({scope}) for release {waiver.release_id}"
        f" ({waiver.environment}):"
        f" {waiver.status}{decided}; requested by {waiver.requested_by},"
        f" expires {waiver.expires_at.isoformat()}"
    )
