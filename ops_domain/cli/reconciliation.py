"""Reconciliation commands: ``reconcile`` and ``recon-breaks propose|approve|reject``."""

from __future__ import annotations

import argparse
from typing import Any

from ops_domain.cli.runtime import (
    EXIT_OK,
    Runtime,
    add_actor,
    add_dry_run,
    add_json_flag,
    date_arg,
    emit,
    timestamp_arg,
)
from ops_domain.errors import InvalidInput
from ops_domain.reconciliation.breaks import (
    approve_resolution,
    propose_resolution,
    reject_resolution,
)
from ops_domain.reconciliation.runs import reconcile
from ops_domain.reconciliation.statements import ExternalStatement


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "reconcile", help="compare settled totals with an external statement, open breaks"
    )
    add_actor(run)
    run.add_argument("--currency", required=True)
    run.add_argument("--window-start", required=True, type=date_arg("--window-start"))
    run.add_argument("--window-end", required=True, type=date_arg("--window-end"))
    run.add_argument("--merchant-code", help="reconcile this merchant only")
    run.add_argument(
        "--statement", help="CSV: merchant_code,business_date,amount,count[,reference]"
    )
    run.add_argument(
        "--total",
        action="append",
        default=[],
        help="inline statement line MERCHANT:DATE:AMOUNT:COUNT[:REFERENCE] (repeatable)",
    )
    run.add_argument("--now", type=timestamp_arg("--now"), help="pin the run time (UTC)")
    add_dry_run(run)
    add_json_flag(run)
    run.set_defaults(handler=run_reconcile)

    breaks = subparsers.add_parser("recon-breaks", help="maker-checker resolution of breaks")
    commands = breaks.add_subparsers(dest="recon_breaks_command", required=True)
    for name, handler, text in (
        ("propose", run_propose, "maker: propose a resolution (break goes in_review)"),
        ("approve", run_approve, "checker: approve the resolution (break resolved)"),
        ("reject", run_reject, "checker: reject the resolution (break open again)"),
    ):
        command = commands.add_parser(name, help=text)
        add_actor(command)
        command.add_argument("--break-id", required=True, type=int)
        command.add_argument("--note", required=True)
        add_json_flag(command)
        command.set_defaults(handler=handler)


def run_reconcile(args: argparse.Namespace, runtime: Runtime) -> int:
    outcome = reconcile(
        runtime.engine,
        runtime.settings,
        actor_username=args.actor_username,
        currency=args.currency,
        window_start=args.window_start,
        window_end=args.window_end,
        statement=_statement(args),
        merchant_code=args.merchant_code,
        now=args.now,
        dry_run=args.dry_run,
    )
    run = outcome["run"]
    mode = " (dry run: nothing written)" if outcome["dry_run"] else ""
    lines = [
        f"{run['run_no']}{mode} {run['currency']} {run['window_start']}..{run['window_end']}:"
        f" internal {run['internal_total']} ({run['internal_count']} events),"
        f" external {run['external_total']} ({run['external_count']})",
        f"  breaks opened: {sum(outcome['breaks_opened'].values())}"
        f" {outcome['breaks_opened']}, already open: {outcome['breaks_already_open']}",
    ]
    lines += [
        f"  {b['break_no']} {b['category']} {b['details']['merchant_code']}"
        f" {b['business_date']} difference {b['difference']}"
        for b in outcome["breaks"][:10]
    ]
    emit(outcome, as_json=args.json, text=lines)
    return EXIT_OK


def _statement(args: argparse.Namespace) -> ExternalStatement:
    if bool(args.statement) == bool(args.total):
        raise InvalidInput("give the statement as --statement FILE or as --total lines (not both)")
    if args.statement:
        return ExternalStatement.from_csv(args.statement)
    return ExternalStatement.from_totals(args.total)


def run_propose(args: argparse.Namespace, runtime: Runtime) -> int:
    return _emit_decision(
        propose_resolution(
            runtime.engine,
            break_id=args.break_id,
            actor_username=args.actor_username,
            note=args.note,
        ),
        args.json,
    )


def run_approve(args: argparse.Namespace, runtime: Runtime) -> int:
    return _emit_decision(
        approve_resolution(
            runtime.engine,
            break_id=args.break_id,
            actor_username=args.actor_username,
            note=args.note,
        ),
        args.json,
    )


def run_reject(args: argparse.Namespace, runtime: Runtime) -> int:
    return _emit_decision(
        reject_resolution(
            runtime.engine,
            break_id=args.break_id,
            actor_username=args.actor_username,
            note=args.note,
        ),
        args.json,
    )


def _emit_decision(outcome: dict[str, Any], as_json: bool) -> int:
    found, resolution = outcome["break"], outcome["resolution"]
    emit(
        outcome,
        as_json=as_json,
        text=f"break {found['break_no']}: {found['status']};"
        f" resolution #{resolution['id']} {resolution['status']}",
    )
    return EXIT_OK
