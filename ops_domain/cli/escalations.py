"""SLA escalation jobs: ``escalate_refund_disputes``, ``escalate_operation_cases``,
``escalate_ops_work_queue``."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ops_domain.cases.escalation import escalate_operation_cases
from ops_domain.cli.runtime import (
    EXIT_OK,
    Runtime,
    add_actor,
    add_dry_run,
    add_json_flag,
    decimal_number_arg,
    emit_job_result,
    timestamp_arg,
)
from ops_domain.disputes.escalation import escalate_refund_disputes
from ops_domain.jobs import JobResult
from ops_domain.work_queue.escalation import escalate_ops_work_queue


def register(subparsers: argparse._SubParsersAction) -> None:
    refunds = _job_parser(
        subparsers,
        "escalate_refund_disputes",
        "escalate pending refunds past their SLA and their cases",
        permission="disputes.escalate",
    )
    refunds.set_defaults(handler=run_escalate_refund_disputes)

    cases = _job_parser(
        subparsers,
        "escalate_operation_cases",
        "escalate open / in-progress cases past their SLA and raise case_sla_breach alerts",
        permission="cases.escalate",
    )
    cases.add_argument(
        "--fallback-sla-hours",
        type=decimal_number_arg,
        default=24,
        help="age after which a case without an SLA counts as overdue (default 24)",
    )
    cases.set_defaults(handler=run_escalate_operation_cases)

    queue = _job_parser(
        subparsers,
        "escalate_ops_work_queue",
        "raise SLA alerts for overdue journal approvals, settlement exceptions and recon breaks",
        permission="work_queue.escalate",
    )
    for flag, item, default in (
        ("--journal-hours", "a journal approval", 8),
        ("--settlement-exception-hours", "a settlement exception", 12),
        ("--reconciliation-break-hours", "a reconciliation break", 12),
    ):
        queue.add_argument(
            flag,
            type=decimal_number_arg,
            default=default,
            help=f"hours {item} may wait (default {default})",
        )
    queue.set_defaults(handler=run_escalate_ops_work_queue)


def _job_parser(
    subparsers: argparse._SubParsersAction, name: str, help_text: str, *, permission: str
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text)
    add_actor(parser, permission)
    parser.add_argument(
        "--now",
        type=timestamp_arg("--now"),
        default=None,
        help="pin the current time (ISO-8601, UTC if no zone); default: the clock",
    )
    add_dry_run(parser)
    add_json_flag(parser)
    return parser


def run_escalate_refund_disputes(args: argparse.Namespace, runtime: Runtime) -> int:
    return _run_escalation(escalate_refund_disputes, args, runtime)


def run_escalate_operation_cases(args: argparse.Namespace, runtime: Runtime) -> int:
    return _run_escalation(
        escalate_operation_cases, args, runtime, fallback_sla_hours=args.fallback_sla_hours
    )


def run_escalate_ops_work_queue(args: argparse.Namespace, runtime: Runtime) -> int:
    return _run_escalation(
        escalate_ops_work_queue,
        args,
        runtime,
        journal_hours=args.journal_hours,
        settlement_exception_hours=args.settlement_exception_hours,
        reconciliation_break_hours=args.reconciliation_break_hours,
    )


def _run_escalation(
    job: Callable[..., JobResult], args: argparse.Namespace, runtime: Runtime, **options: float
) -> int:
    """An escalation job on the ``_job_parser`` flags plus its own ``options``."""
    result = job(
        runtime.engine,
        runtime.settings,
        actor_username=args.actor_username,
        now=args.now,
        dry_run=args.dry_run,
        **options,
    )
    emit_job_result(result, as_json=args.json)
    return EXIT_OK
