"""Accounting commands: ``manage_accounting_period``, ``journals ...``, ``accounts add``."""

from __future__ import annotations

import argparse
from typing import Any

from ops_domain.accounting.accounts import add_account
from ops_domain.accounting.journals import (
    JournalLineInput,
    approve_journal_approval,
    create_journal,
    reject_journal_approval,
    reverse_journal,
    submit_journal,
    void_journal,
)
from ops_domain.accounting.models import ACCOUNT_TYPES
from ops_domain.accounting.periods import ACTIONS, manage_accounting_period
from ops_domain.cli.runtime import (
    EXIT_OK,
    EXIT_REFUSED,
    Runtime,
    actor_help,
    add_command,
    add_decision_command,
    add_dry_run,
    add_json_flag,
    date_arg,
    emit,
    emit_job_result,
    whole_number_arg,
)
from ops_domain.errors import PeriodCloseBlocked
from ops_domain.rbac.matrix import roles_granted


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_period(subparsers)
    _register_journals(subparsers)
    accounts = subparsers.add_parser("accounts", help="the chart of accounts")
    account_commands = accounts.add_subparsers(dest="accounts_command", required=True)
    add = add_command(
        account_commands, "add", "open an account in one currency", permission="journals.create"
    )
    add.add_argument("--code", required=True, help="account code, e.g. 1000")
    add.add_argument("--name", required=True, help="account name")
    add.add_argument(
        "--type", required=True, choices=ACCOUNT_TYPES, dest="account_type", help="account type"
    )
    add.add_argument("--currency", required=True, help="an enabled currency, e.g. USD")
    add.set_defaults(handler=run_accounts_add)


def _register_period(subparsers: argparse._SubParsersAction) -> None:
    period = subparsers.add_parser(
        "manage_accounting_period", help="close or re-open an accounting period of a currency"
    )
    period.add_argument(
        "--actor-username",
        required=True,
        help=actor_help("periods.close", "who closes")
        + f"; re-opening: {', '.join(roles_granted('periods.reopen'))}",
    )
    period.add_argument(
        "--period-start", required=True, type=date_arg("--period-start"), help="first day"
    )
    period.add_argument(
        "--period-end", required=True, type=date_arg("--period-end"), help="last day"
    )
    period.add_argument("--currency", required=True, help="the ledger's currency, e.g. USD")
    period.add_argument(
        "--action", required=True, choices=ACTIONS, help="close the period, or re-open it"
    )
    period.add_argument("--reason", help="why (required to re-open)")
    period.add_argument("--idempotency-key", help="caller's run id (the DAG run id)")
    add_dry_run(period)
    add_json_flag(period)
    period.set_defaults(handler=run_manage_accounting_period)


def _register_journals(subparsers: argparse._SubParsersAction) -> None:
    journals = subparsers.add_parser("journals", help="journal entries and their approvals")
    commands = journals.add_subparsers(dest="journals_command", required=True)

    create = add_command(
        commands, "create", "draft a balanced journal entry", permission="journals.create"
    )
    create.add_argument(
        "--entry-date", required=True, type=date_arg("--entry-date"), help="YYYY-MM-DD"
    )
    create.add_argument("--currency", required=True, help="the entry's currency, e.g. USD")
    create.add_argument("--description", required=True, help="what the entry records")
    create.add_argument(
        "--line",
        action="append",
        required=True,
        type=JournalLineInput.parse,
        help="ACCOUNT:debit:AMOUNT or ACCOUNT:credit:AMOUNT (repeat, at least twice)",
    )
    create.set_defaults(handler=run_journals_create)

    submit = add_command(
        commands, "submit", "ask a checker to post a draft entry", permission="journals.create"
    )
    submit.add_argument(
        "--entry-id", required=True, type=whole_number_arg, help="the draft entry's id"
    )
    submit.set_defaults(handler=run_journals_submit)

    for name, handler, text in (
        ("approve", run_journals_approve, "checker: approve, which posts the entry"),
        ("reject", run_journals_reject, "checker: reject; the entry stays a draft"),
    ):
        add_decision_command(
            commands,
            name,
            text,
            record="approval",
            permission="journals.approve",
            handler=handler,
        )
    add_decision_command(
        commands,
        "void",
        "void a draft entry",
        record="entry",
        permission="journals.create",
        handler=run_journals_void,
    )

    reverse = add_command(
        commands, "reverse", "draft the reversal of a posted entry", permission="journals.create"
    )
    reverse.add_argument(
        "--entry-id", required=True, type=whole_number_arg, help="the posted entry's id"
    )
    reverse.add_argument(
        "--entry-date", required=True, type=date_arg("--entry-date"), help="reversal date"
    )
    reverse.add_argument("--reason", required=True, help="why it is reversed")
    reverse.set_defaults(handler=run_journals_reverse)


def run_manage_accounting_period(args: argparse.Namespace, runtime: Runtime) -> int:
    try:
        result = manage_accounting_period(
            runtime.engine,
            runtime.settings,
            actor_username=args.actor_username,
            period_start=args.period_start,
            period_end=args.period_end,
            currency=args.currency,
            action=args.action,
            reason=args.reason,
            dry_run=args.dry_run,
            idempotency_key=args.idempotency_key,
        )
    except PeriodCloseBlocked as refused:
        # The refused job's report on stdout (as a dry run's), the error line on stderr, exit 2.
        if refused.result is not None:
            emit_job_result(refused.result, as_json=args.json, described_by_messages={"blockers"})
        raise
    emit_job_result(result, as_json=args.json, described_by_messages={"blockers"})
    # A dry run that found blockers reports what the real run would do: refuse.
    return EXIT_REFUSED if result.refusal else EXIT_OK


def run_accounts_add(args: argparse.Namespace, runtime: Runtime) -> int:
    account = add_account(
        runtime.engine,
        runtime.settings,
        actor_username=args.actor_username,
        code=args.code,
        name=args.name,
        account_type=args.account_type,
        currency=args.currency,
    )
    emit(
        account,
        as_json=args.json,
        text=f"account {account['code']} ({account['currency']}, {account['account_type']})"
        f" opened as #{account['id']}",
    )
    return EXIT_OK


def run_journals_create(args: argparse.Namespace, runtime: Runtime) -> int:
    entry = create_journal(
        runtime.engine,
        runtime.settings,
        actor_username=args.actor_username,
        entry_date=args.entry_date,
        currency=args.currency,
        description=args.description,
        lines=args.line,
    )
    _emit_entry(entry, args.json, "drafted")
    return EXIT_OK


def run_journals_submit(args: argparse.Namespace, runtime: Runtime) -> int:
    approval = submit_journal(
        runtime.engine, entry_id=args.entry_id, actor_username=args.actor_username
    )
    _emit_approval(approval, args.json)
    return EXIT_OK


def run_journals_approve(args: argparse.Namespace, runtime: Runtime) -> int:
    outcome = approve_journal_approval(
        runtime.engine,
        approval_id=args.approval_id,
        actor_username=args.actor_username,
        note=args.note,
    )
    _emit_entry(outcome["entry"], args.json, "posted", payload=outcome)
    return EXIT_OK


def run_journals_reject(args: argparse.Namespace, runtime: Runtime) -> int:
    approval = reject_journal_approval(
        runtime.engine,
        approval_id=args.approval_id,
        actor_username=args.actor_username,
        note=args.note,
    )
    _emit_approval(approval, args.json)
    return EXIT_OK


def run_journals_void(args: argparse.Namespace, runtime: Runtime) -> int:
    entry = void_journal(
        runtime.engine, entry_id=args.entry_id, actor_username=args.actor_username, note=args.note
    )
    _emit_entry(entry, args.json, "voided")
    return EXIT_OK


def run_journals_reverse(args: argparse.Namespace, runtime: Runtime) -> int:
    outcome = reverse_journal(
        runtime.engine,
        entry_id=args.entry_id,
        actor_username=args.actor_username,
        entry_date=args.entry_date,
        reason=args.reason,
    )
    reversal, approval = outcome["reversal"], outcome["approval"]
    _emit_entry(
        reversal,
        args.json,
        f"drafted as reversal, awaiting checker approval #{approval['id']}",
        payload=outcome,
    )
    return EXIT_OK


def _emit_entry(
    entry: dict[str, Any], as_json: bool, verb: str, *, payload: dict[str, Any] | None = None
) -> None:
    lines = [
        f"{entry['entry_no']} (#{entry['id']}) {entry['currency']} {entry['entry_date']}"
        f" {verb}: status {entry['status']}, total {entry['total']}"
    ]
    lines += [
        f"  {line['account_code']}: "
        + (f"debit {line['debit']}" if line["debit"] else f"credit {line['credit']}")
        for line in entry["lines"]
    ]
    emit(payload if payload is not None else entry, as_json=as_json, text=lines)


def _emit_approval(approval: dict[str, Any], as_json: bool) -> None:
    emit(
        approval,
        as_json=as_json,
        text=f"{approval['kind']} approval #{approval['id']} of {approval['entry_no']}:"
        f" {approval['status']}",
    )
