"""Reconciliation commands: ``reconcile`` and ``recon-breaks propose|approve|reject``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ops_domain.cli.runtime import (
    EXIT_OK,
    Runtime,
    add_actor,
    add_decision_command,
    add_dry_run,
    add_json_flag,
    counted,
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

BREAK_DECISIONS: dict[str, tuple[str, Callable[..., dict[str, Any]]]] = {
    "propose": ("maker: propose a resolution (break goes in_review)", propose_resolution),
    "approve": ("checker: approve the resolution (break resolved)", approve_resolution),
    "reject": ("checker: reject the resolution (break open again)", reject_resolution),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "reconcile", help="compare settled totals with an external statement, open breaks"
    )
    run.add_argument("--currency", required=True, help="the statement's currency, e.g. USD")
    add_reconciliation_flags(run, permission="reconciliation.run")
    run.set_defaults(handler=run_reconcile)

    breaks = subparsers.add_parser("recon-breaks", help="maker-checker resolution of breaks")
    commands = breaks.add_subparsers(dest="recon_breaks_command", required=True)
    for name, (help_text, _) in BREAK_DECISIONS.items():
        add_decision_command(
            commands,
            name,
            help_text,
            record="break",
            permission=(
                "reconciliation.propose_resolution"
                if name == "propose"
                else "reconciliation.approve_resolution"
            ),
            handler=run_break_decision,
            decision=name,
        )


def add_reconciliation_flags(parser: argparse.ArgumentParser, *, permission: str) -> None:
    """Who runs it, the window, the merchant and the statement (a CSV or inline lines)."""
    add_actor(parser, permission)
    parser.add_argument(
        "--window-start", required=True, type=date_arg("--window-start"), help="first date"
    )
    parser.add_argument(
        "--window-end", required=True, type=date_arg("--window-end"), help="last date"
    )
    parser.add_argument("--merchant-code", help="reconcile this merchant only")
    parser.add_argument(
        "--statement", help="CSV: merchant_code,business_date,amount,count[,reference]"
    )
    parser.add_argument(
        "--total",
        action="append",
        default=[],
        help="inline statement line MERCHANT:DATE:AMOUNT:COUNT[:REFERENCE] (repeatable)",
    )
    parser.add_argument("--now", type=timestamp_arg("--now"), help="pin the run time (UTC)")
    add_dry_run(parser)
    add_json_flag(parser)


def run_reconcile(args: argparse.Namespace, runtime: Runtime) -> int:
    outcome = reconcile_from_args(reconcile, args, runtime)
    run = outcome["run"]
    mode = " (dry run: nothing written)" if outcome["dry_run"] else ""
    lines = [
        f"{run['run_no']}{mode} {run['currency']} {run['window_start']}..{run['window_end']}:"
        f" internal {run['internal_total']} ({counted(run['internal_count'], 'event')}),"
        f" external {run['external_total']} ({counted(run['external_count'], 'event')})",
        f"  {breaks_summary(outcome)}",
    ]
    lines += [
        f"  {b['break_no']} {b['category']} {b['details']['merchant_code']}"
        f" {b['business_date']} difference {b['difference']}"
        for b in outcome["breaks"][:10]
    ]
    emit(outcome, as_json=args.json, text=lines)
    return EXIT_OK


def breaks_summary(outcome: dict[str, Any]) -> str:
    """``breaks opened: 2 (1 amount_mismatch, 1 missing_external), already open: 0``."""
    opened = outcome["breaks_opened"]
    by_category = ", ".join(f"{n} {category}" for category, n in sorted(opened.items()) if n)
    return (
        f"breaks opened: {sum(opened.values())}{f' ({by_category})' if by_category else ''},"
        f" already open: {outcome['breaks_already_open']}"
    )


def reconcile_from_args(
    job: Callable[..., dict[str, Any]], args: argparse.Namespace, runtime: Runtime
) -> dict[str, Any]:
    """``reconcile``, or the emergency targeted reconciliation, on ``add_reconciliation_flags``."""
    return job(
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


def _statement(args: argparse.Namespace) -> ExternalStatement:
    if bool(args.statement) == bool(args.total):
        raise InvalidInput("give the statement as --statement FILE or as --total lines (not both)")
    if args.statement:
        return ExternalStatement.from_csv(args.statement)
    return ExternalStatement.from_totals(args.total)


def run_break_decision(args: argparse.Namespace, runtime: Runtime) -> int:
    _, decide = BREAK_DECISIONS[args.decision]
    outcome = decide(
        runtime.engine, break_id=args.break_id, actor_username=args.actor_username, note=args.note
    )
    found, resolution = outcome["break"], outcome["resolution"]
    emit(
        outcome,
        as_json=args.json,
        text=f"break {found['break_no']}: {found['status']};"
        f" resolution #{resolution['id']} {resolution['status']}",
    )
    return EXIT_OK
