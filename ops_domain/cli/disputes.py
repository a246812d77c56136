"""Dispute and case actions: ``refunds``, ``chargebacks``, ``cases`` and ``alerts`` commands."""

from __future__ import annotations

import argparse
from typing import Any

from ops_domain.alerts.models import ALERT_STATES
from ops_domain.alerts.service import update_alert
from ops_domain.cases.models import CASE_STATES, CASE_TYPES, PRIORITIES
from ops_domain.cases.service import add_case_note, open_case, transition_case
from ops_domain.cli.runtime import (
    EXIT_OK,
    Runtime,
    add_command,
    add_decision_command,
    emit,
    timestamp_arg,
    whole_number_arg,
)
from ops_domain.disputes.chargebacks import open_chargeback, transition_chargeback
from ops_domain.disputes.models import CHARGEBACK_STATES, REFUND_STATES
from ops_domain.disputes.refunds import (
    approve_refund,
    execute_refund,
    fail_refund,
    reject_refund,
    request_refund,
)
from ops_domain.transitions import StateMachine

REFUND_DECISIONS = {
    "approve": approve_refund,
    "reject": reject_refund,
    "execute": execute_refund,
    "fail": fail_refund,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_refunds(subparsers)
    _register_chargebacks(subparsers)
    _register_cases(subparsers)
    _register_alerts(subparsers)


def _register_refunds(subparsers: argparse._SubParsersAction) -> None:
    refunds = subparsers.add_parser("refunds", help="request and decide dispute refunds")
    commands = refunds.add_subparsers(dest="refunds_command", required=True)
    request = add_command(
        commands,
        "request",
        "request a refund of (part of) a cashflow event",
        permission="refunds.request",
    )
    request.add_argument(
        "--source-event-id",
        type=whole_number_arg,
        required=True,
        help="the cashflow event refunded",
    )
    request.add_argument("--amount", required=True, help="decimal amount, e.g. 12.50")
    request.add_argument("--reason", required=True, help="why the customer is refunded")
    request.add_argument("--customer-ref", required=True, help="the customer's reference")
    request.add_argument(
        "--case-id", type=whole_number_arg, help="attach to this case instead of a new one"
    )
    request.set_defaults(handler=run_refund_request)
    for verb, help_text in (
        ("approve", "approve a pending refund (checker, not the maker)"),
        ("reject", "reject a pending refund (checker, not the maker)"),
        ("execute", "record an approved refund as paid"),
        ("fail", "record an approved refund as failed"),
    ):
        add_decision_command(
            commands,
            verb,
            help_text,
            record="refund",
            permission="refunds.decide" if verb in ("approve", "reject") else "refunds.execute",
            handler=run_refund_decision,
            verb=verb,
        )


def _register_chargebacks(subparsers: argparse._SubParsersAction) -> None:
    chargebacks = subparsers.add_parser(
        "chargebacks", help="open chargebacks with their evidence, move them along the workflow"
    )
    commands = chargebacks.add_subparsers(dest="chargebacks_command", required=True)
    opened = add_command(
        commands,
        "open",
        "open a chargeback with its dispute case and evidence",
        permission="chargebacks.manage",
    )
    opened.add_argument("--merchant-code", required=True, help="the merchant charged back")
    opened.add_argument("--reason-code", required=True, help="the card network's reason code")
    opened.add_argument("--amount", required=True, help="the disputed amount, e.g. 25.00")
    opened.add_argument("--currency", required=True, help="an enabled currency")
    opened.add_argument(
        "--due-at", required=True, type=timestamp_arg("--due-at"), help="response due (ISO-8601)"
    )
    opened.add_argument(
        "--evidence",
        required=True,
        action="append",
        help="a piece of evidence (document reference, finding); repeat for more",
    )
    opened.set_defaults(handler=run_chargeback_open)
    move = add_command(
        commands,
        "transition",
        "move a chargeback to another status",
        permission="chargebacks.manage",
    )
    move.add_argument(
        "--chargeback-id", type=whole_number_arg, required=True, help="the chargeback's id"
    )
    move.add_argument(
        "--to",
        dest="to_status",
        required=True,
        choices=_states(CHARGEBACK_STATES),
        help="the new status",
    )
    move.add_argument("--note", help="required for won, lost and closed")
    move.set_defaults(handler=run_chargeback_transition)


def _register_cases(subparsers: argparse._SubParsersAction) -> None:
    cases = subparsers.add_parser("cases", help="open, move and annotate operation cases")
    commands = cases.add_subparsers(dest="cases_command", required=True)
    create = add_command(
        commands, "open", "open a case assigned to one or more teams", permission="cases.manage"
    )
    create.add_argument(
        "--type", dest="case_type", required=True, choices=CASE_TYPES, help="kind of case"
    )
    create.add_argument("--priority", required=True, choices=PRIORITIES, help="urgency")
    create.add_argument("--title", required=True, help="one-line summary")
    create.add_argument("--teams", required=True, help="comma-separated roles, e.g. risk,operation")
    create.add_argument(
        "--sla-due-at", type=timestamp_arg("--sla-due-at"), help="deadline (ISO-8601)"
    )
    create.add_argument("--merchant-id", type=whole_number_arg, help="the merchant concerned")
    create.add_argument("--release-id", help="the release an incident case is about")
    create.add_argument("--trigger", help="the rollback trigger an incident case is about")
    create.add_argument("--assignee", dest="assignee_username", help="username to assign it to")
    create.set_defaults(handler=run_case_open)

    move = add_command(
        commands, "transition", "move a case to another status", permission="cases.manage"
    )
    move.add_argument("--case-id", type=whole_number_arg, required=True, help="the case's id")
    move.add_argument(
        "--to", dest="to_status", required=True, choices=_states(CASE_STATES), help="new status"
    )
    move.add_argument("--note", help="required for resolved and closed")
    move.set_defaults(handler=run_case_transition)

    note = add_command(commands, "note", "add a note to a case", permission="cases.manage")
    note.add_argument("--case-id", type=whole_number_arg, required=True, help="the case's id")
    note.add_argument("--body", required=True, help="the note's text")
    note.add_argument("--public", action="store_true", help="visible to the customer")
    note.set_defaults(handler=run_case_note)


def _register_alerts(subparsers: argparse._SubParsersAction) -> None:
    alerts = subparsers.add_parser("alerts", help="review and close alerts")
    commands = alerts.add_subparsers(dest="alerts_command", required=True)
    move = add_command(
        commands,
        "update",
        "move an alert to in_review, open or closed",
        permission="alerts.manage",
    )
    move.add_argument("--alert-id", type=whole_number_arg, required=True, help="the alert's id")
    move.add_argument(
        "--to", dest="to_status", required=True, choices=_states(ALERT_STATES), help="new status"
    )
    move.add_argument("--note", help="required for closed")
    move.set_defaults(handler=run_alert_update)


def _states(machine: StateMachine) -> list[str]:
    return sorted(machine.states)


def run_refund_request(args: argparse.Namespace, runtime: Runtime) -> int:
    refund = request_refund(
        runtime.engine,
        runtime.settings,
        actor_username=args.actor_username,
        source_event_id=args.source_event_id,
        amount=args.amount,
        reason=args.reason,
        customer_ref=args.customer_ref,
        case_id=args.case_id,
    )
    _emit_refund(refund, args.json)
    return EXIT_OK


def run_refund_decision(args: argparse.Namespace, runtime: Runtime) -> int:
    refund = REFUND_DECISIONS[args.verb](
        runtime.engine,
        refund_id=args.refund_id,
        actor_username=args.actor_username,
        note=args.note,
    )
    _emit_refund(refund, args.json)
    return EXIT_OK


def _emit_refund(refund: dict[str, Any], as_json: bool) -> None:
    """The SLA is shown only while the refund still waits for a decision or its execution."""
    open_refund = refund["status"] in REFUND_STATES.moves
    emit(
        refund,
        as_json=as_json,
        text=(
            f"refund {refund['refund_no']} (#{refund['id']}): {refund['amount']}"
            f" {refund['currency']} {refund['status']}, case #{refund['case_id']}"
            + (f", SLA due {refund['sla_due_at'].isoformat()}" if open_refund else "")
        ),
    )


def run_chargeback_open(args: argparse.Namespace, runtime: Runtime) -> int:
    chargeback = open_chargeback(
        runtime.engine,
        runtime.settings,
        actor_username=args.actor_username,
        merchant_code=args.merchant_code,
        reason_code=args.reason_code,
        amount=args.amount,
        currency=args.currency,
        due_at=args.due_at,
        evidence=args.evidence,
    )
    emit(
        chargeback,
        as_json=args.json,
        text=f"chargeback {chargeback['chargeback_no']} opened ({chargeback['amount']}"
        f" {chargeback['currency']}, case {chargeback['case_no']},"
        f" {len(chargeback['evidence'])} piece(s) of evidence)",
    )
    return EXIT_OK


def run_chargeback_transition(args: argparse.Namespace, runtime: Runtime) -> int:
    chargeback = transition_chargeback(
        runtime.engine,
        chargeback_id=args.chargeback_id,
        to_status=args.to_status,
        actor_username=args.actor_username,
        note=args.note,
    )
    emit(
        chargeback,
        as_json=args.json,
        text=f"chargeback {chargeback['chargeback_no']} is now {chargeback['status']}",
    )
    return EXIT_OK


def run_case_open(args: argparse.Namespace, runtime: Runtime) -> int:
    case = open_case(
        runtime.engine,
        actor_username=args.actor_username,
        case_type=args.case_type,
        priority=args.priority,
        title=args.title,
        teams=args.teams.split(","),
        sla_due_at=args.sla_due_at,
        merchant_id=args.merchant_id,
        release_id=args.release_id,
        trigger=args.trigger,
        assignee_username=args.assignee_username,
    )
    emit(
        case,
        as_json=args.json,
        text=f"case {case['case_no']} (#{case['id']}) opened for {', '.join(case['teams'])}",
    )
    return EXIT_OK


def run_case_transition(args: argparse.Namespace, runtime: Runtime) -> int:
    case = transition_case(
        runtime.engine,
        case_id=args.case_id,
        to_status=args.to_status,
        actor_username=args.actor_username,
        note=args.note,
    )
    emit(case, as_json=args.json, text=f"case {case['case_no']} is now {case['status']}")
    return EXIT_OK


def run_case_note(args: argparse.Namespace, runtime: Runtime) -> int:
    note = add_case_note(
        runtime.engine,
        case_id=args.case_id,
        actor_username=args.actor_username,
        body=args.body,
        internal=not args.public,
    )
    emit(note, as_json=args.json, text=f"note #{note['note_id']} added to case {note['case_no']}")
    return EXIT_OK


def run_alert_update(args: argparse.Namespace, runtime: Runtime) -> int:
    alert = update_alert(
        runtime.engine,
        alert_id=args.alert_id,
        to_status=args.to_status,
        actor_username=args.actor_username,
        note=args.note,
    )
    emit(alert, as_json=args.json, text=f"alert #{alert['id']} is now {alert['status']}")
    return EXIT_OK
