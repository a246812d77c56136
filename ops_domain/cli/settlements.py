"""Settlement and payout commands: ``automate_settlements``, ``settlements approve``,
``payouts approve|send|settle|fail|resubmit|freeze|lift-freeze``."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ops_domain.cli.runtime import (
    EXIT_OK,
    Runtime,
    add_actor,
    add_command,
    add_decision_command,
    add_dry_run,
    add_json_flag,
    date_arg,
    emit,
    emit_job_result,
    timestamp_arg,
)
from ops_domain.jobs import JobResult
from ops_domain.payouts.freezes import Freeze, freeze_payouts, lift_payout_freeze
from ops_domain.payouts.service import (
    PayoutState,
    approve_payout,
    fail_payout,
    resubmit_payout,
    send_payout,
    settle_payout,
)
from ops_domain.settlement_automation import automate_settlements
from ops_domain.settlements.service import approve_settlement

PAYOUT_DECISIONS: dict[str, tuple[str, Callable[..., PayoutState]]] = {
    "approve": (
        "first approval of a payout above its currency's second-approval limit (checker)",
        approve_payout,
    ),
    "send": (
        "release a pending payout (checker, not the maker; above the limit not the approver)",
        send_payout,
    ),
    "settle": (
        "confirm a sent payout arrived (checker, not its sender); its settlement becomes paid",
        settle_payout,
    ),
    "fail": ("record that a sent payout failed (checker, not its sender; --reason)", fail_payout),
    "resubmit": ("put a failed payout back to pending (attempt + 1)", resubmit_payout),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    job = subparsers.add_parser(
        "automate_settlements", help="settle unsettled events; optionally create payouts"
    )
    add_settlement_job_flags(job, window_required=False, permission="settlements.run")
    job.set_defaults(handler=run_automate_settlements)

    settlements = subparsers.add_parser("settlements", help="settlement decisions")
    settlement_commands = settlements.add_subparsers(dest="settlements_command", required=True)
    add_decision_command(
        settlement_commands,
        "approve",
        "post a draft settlement (checker)",
        record="settlement",
        permission="settlements.approve",
        handler=run_settlement_approve,
    )

    payouts = subparsers.add_parser("payouts", help="payout decisions and freezes")
    payout_commands = payouts.add_subparsers(dest="payouts_command", required=True)
    for name, (help_text, _) in PAYOUT_DECISIONS.items():
        decision = add_decision_command(
            payout_commands,
            name,
            help_text,
            record="payout",
            permission="payouts.resubmit" if name == "resubmit" else "payouts.decide",
            handler=run_payout_decision,
            decision=name,
        )
        if name == "fail":
            decision.add_argument("--reason", required=True, help="why the channel failed it")
    register_freeze_commands(payout_commands, freeze="freeze", lift="lift-freeze")


def add_settlement_job_flags(
    parser: argparse.ArgumentParser, *, window_required: bool, permission: str
) -> None:
    """The settlement job's inputs; a backfill must name its window, the daily run need not."""
    add_actor(parser, permission)
    for flag, (edge, default) in {
        "--period-start": ("first", "yesterday"),
        "--period-end": ("last", "today"),
    }.items():
        parser.add_argument(
            flag,
            type=date_arg(flag),
            required=window_required,
            help=f"{edge} business date" + ("" if window_required else f" (default {default})"),
        )
    parser.add_argument("--currency", help="only this enabled currency")
    parser.add_argument("--create-payouts", action="store_true", help="create pending payouts")
    parser.add_argument("--now", type=timestamp_arg("--now"), help="pin the clock (ISO-8601)")
    add_dry_run(parser)
    add_json_flag(parser)


def register_freeze_commands(
    commands: argparse._SubParsersAction, *, freeze: str, lift: str
) -> None:
    """Setting and lifting payout freezes (``payouts`` and ``emergency`` name them apart)."""
    setting = add_command(
        commands, freeze, "freeze payouts, globally or per merchant", permission="emergency.act"
    )
    setting.add_argument("--reason", required=True, help="why payouts stop (incident id)")
    setting.add_argument("--merchant-code", help="freeze only this merchant")
    setting.set_defaults(handler=run_payout_freeze)
    add_decision_command(
        commands,
        lift,
        "lift a freeze (a checker other than its setter)",
        record="freeze",
        permission="emergency.lift_freeze",
        handler=run_payout_lift_freeze,
    )


def run_automate_settlements(args: argparse.Namespace, runtime: Runtime) -> int:
    return run_settlement_job(automate_settlements, args, runtime)


def run_settlement_job(
    job: Callable[..., JobResult], args: argparse.Namespace, runtime: Runtime
) -> int:
    """The settlement job, or its emergency backfill, on the ``add_settlement_job_flags``."""
    result = job(
        runtime.engine,
        runtime.settings,
        actor_username=args.actor_username,
        period_start=args.period_start,
        period_end=args.period_end,
        currency=args.currency,
        create_payouts=args.create_payouts,
        dry_run=args.dry_run,
        now=args.now,
    )
    emit_job_result(result, as_json=args.json)
    return EXIT_OK


def run_settlement_approve(args: argparse.Namespace, runtime: Runtime) -> int:
    posted = approve_settlement(
        runtime.engine,
        settlement_id=args.settlement_id,
        actor_username=args.actor_username,
        note=args.note,
    )
    emit(
        posted,
        as_json=args.json,
        text=f"settlement {posted['settlement_no']} posted by {posted['approved_by']}"
        f" (net {posted['net_amount']})",
    )
    return EXIT_OK


def run_payout_decision(args: argparse.Namespace, runtime: Runtime) -> int:
    _, decide = PAYOUT_DECISIONS[args.decision]
    extra = {"reason": args.reason} if args.decision == "fail" else {}
    payout = decide(
        runtime.engine,
        runtime.settings,
        payout_id=args.payout_id,
        actor_username=args.actor_username,
        note=args.note,
        **extra,
    )
    emit(
        payout,
        as_json=args.json,
        text=f"payout {payout.payout_reference} is {payout.status}"
        f" (attempt {payout.attempt}, {payout.amount} {payout.currency})",
    )
    return EXIT_OK


def run_payout_freeze(args: argparse.Namespace, runtime: Runtime) -> int:
    freeze = freeze_payouts(
        runtime.engine,
        actor_username=args.actor_username,
        reason=args.reason,
        merchant_code=args.merchant_code,
    )
    emit(freeze, as_json=args.json, text=f"{_describe(freeze)} set: {freeze.reason}")
    return EXIT_OK


def run_payout_lift_freeze(args: argparse.Namespace, runtime: Runtime) -> int:
    freeze = lift_payout_freeze(
        runtime.engine,
        freeze_id=args.freeze_id,
        actor_username=args.actor_username,
        note=args.note,
    )
    emit(freeze, as_json=args.json, text=f"{_describe(freeze)} lifted by {freeze.lifted_by}")
    return EXIT_OK


def _describe(freeze: Freeze) -> str:
    scope = f"merchant {freeze.merchant_code}" if freeze.merchant_code else "global"
    return f"payout freeze #{freeze.id} ({scope})"
