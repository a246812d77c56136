"""Read-only ``list`` commands: ``settlements|payouts|refunds|chargebacks|cases|alerts|journals|
recon-breaks|waivers|freezes list``, so operators find the ids the decision commands need.

Each list is one query function of its capability; this module only wires filters to it,
checks ``reports.view`` for ``--actor-username`` and prints a table or ``--json``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ops_domain.accounting.models import ENTRY_STATES
from ops_domain.accounting.queries import list_journals
from ops_domain.alerts.models import ALERT_SEVERITIES, ALERT_STATES
from ops_domain.alerts.queries import list_alerts
from ops_domain.cases.models import CASE_STATES, PRIORITIES
from ops_domain.cases.queries import list_cases
from ops_domain.cli.runtime import (
    EXIT_OK,
    Runtime,
    add_command,
    emit,
    now_or,
    timestamp_arg,
    whole_number_arg,
)
from ops_domain.disputes.models import CHARGEBACK_STATES, REFUND_STATES
from ops_domain.disputes.queries import list_chargebacks, list_refunds
from ops_domain.jsonable import jsonable
from ops_domain.listing import DEFAULT_LIMIT, LIST_PERMISSION, read_list
from ops_domain.payouts.models import PAYOUT_STATES
from ops_domain.payouts.queries import list_freezes, list_payouts
from ops_domain.readiness.models import WAIVER_STATES
from ops_domain.readiness.queries import list_waivers
from ops_domain.reconciliation.models import BREAK_STATES
from ops_domain.reconciliation.queries import list_breaks
from ops_domain.settlements.models import SETTLEMENT_STATES
from ops_domain.settlements.queries import list_settlements


@dataclass(frozen=True)
class Filter:
    """One option of a list command; its destination is the query function's keyword."""

    flag: str
    options: dict[str, Any]


def status_filter(states: Any) -> Filter:
    return Filter("--status", {"choices": sorted(states), "help": "only this status"})


ACTIVE_ONLY = Filter(
    "--active",
    {"action": "store_const", "const": True, "default": None, "help": "only freezes not lifted"},
)
OVERDUE_ONLY = Filter(
    "--overdue", {"action": "store_true", "help": "only pending refunds past their SLA"}
)
NOW = Filter("--now", {"type": timestamp_arg("--now"), "help": "pin the clock (ISO-8601)"})


@dataclass(frozen=True)
class Listing:
    """A ``<group> list`` command: its query, filters and the columns of its text table."""

    group: str
    query: Callable[..., list[dict[str, Any]]]
    filters: tuple[Filter, ...]
    columns: tuple[str, ...]


LISTINGS = (
    Listing(
        "settlements",
        list_settlements,
        (
            status_filter(SETTLEMENT_STATES.states),
            Filter("--merchant-code", {"help": "only this merchant"}),
            Filter("--currency", {"help": "only this currency"}),
        ),
        (
            "id",
            "settlement_no",
            "merchant_code",
            "currency",
            "period_start",
            "period_end",
            "sequence",
            "net_amount",
            "event_count",
            "status",
        ),
    ),
    Listing(
        "payouts",
        list_payouts,
        (status_filter(PAYOUT_STATES.states),),
        (
            "id",
            "payout_reference",
            "settlement_no",
            "merchant_code",
            "amount",
            "currency",
            "status",
            "attempt",
            "created_at",
        ),
    ),
    Listing(
        "refunds",
        list_refunds,
        (status_filter(REFUND_STATES.states), OVERDUE_ONLY, NOW),
        (
            "id",
            "refund_no",
            "case_no",
            "merchant_code",
            "amount",
            "currency",
            "status",
            "sla_due_at",
            "overdue",
            "maker",
        ),
    ),
    Listing(
        "chargebacks",
        list_chargebacks,
        (status_filter(CHARGEBACK_STATES.states),),
        (
            "id",
            "chargeback_no",
            "case_no",
            "merchant_code",
            "amount",
            "currency",
            "status",
            "due_at",
        ),
    ),
    Listing(
        "cases",
        list_cases,
        (
            status_filter(CASE_STATES.states),
            Filter("--priority", {"choices": PRIORITIES, "help": "only this priority"}),
        ),
        ("id", "case_no", "case_type", "priority", "status", "assignee", "sla_due_at", "title"),
    ),
    Listing(
        "alerts",
        list_alerts,
        (
            status_filter(ALERT_STATES.states),
            Filter("--severity", {"choices": ALERT_SEVERITIES, "help": "only this severity"}),
        ),
        (
            "id",
            "alert_type",
            "severity",
            "status",
            "merchant_code",
            "case_no",
            "created_at",
            "title",
        ),
    ),
    Listing(
        "journals",
        list_journals,
        (
            status_filter(ENTRY_STATES.states),
            Filter(
                "--pending-approval",
                {"action": "store_true", "help": "only entries awaiting a checker"},
            ),
        ),
        (
            "id",
            "entry_no",
            "entry_date",
            "currency",
            "status",
            "total_debit",
            "approval_id",
            "approval_kind",
            "requested_by",
            "description",
        ),
    ),
    Listing(
        "recon-breaks",
        list_breaks,
        (status_filter(BREAK_STATES.states),),
        (
            "id",
            "break_no",
            "run_no",
            "category",
            "status",
            "currency",
            "merchant_code",
            "business_date",
            "difference",
            "resolution_id",
        ),
    ),
    Listing(
        "waivers",
        list_waivers,
        (
            Filter("--release-id", {"help": "only this release"}),
            status_filter(WAIVER_STATES.states),
        ),
        (
            "id",
            "release_id",
            "counter",
            "max_count",
            "item_ids",
            "status",
            "requested_by",
            "approved_by",
            "expires_at",
        ),
    ),
    Listing(
        "freezes",
        list_freezes,
        (ACTIVE_ONLY,),
        ("id", "scope", "merchant_code", "active", "set_by", "set_at", "lifted_by", "reason"),
    ),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    for listing in LISTINGS:
        command = add_command(
            group_commands(subparsers, listing.group),
            "list",
            f"list {listing.group} with their ids (read-only, newest first)",
            permission=LIST_PERMISSION,
        )
        for option in listing.filters:
            command.add_argument(option.flag, **option.options)
        command.add_argument(
            "--limit",
            type=whole_number_arg,
            default=DEFAULT_LIMIT,
            help=f"at most this many (default {DEFAULT_LIMIT})",
        )
        command.set_defaults(handler=run_list, listing=listing)


def group_commands(
    subparsers: argparse._SubParsersAction, group: str
) -> argparse._SubParsersAction:
    """The subcommands of ``group``, created if no earlier module registered the group.

    argparse offers no public way to reach a parser's subcommands; ``_subparsers`` holds them.
    """
    parser = subparsers.choices.get(group)
    if parser is None:
        parser = subparsers.add_parser(group, help=f"{group} (read-only)")
        return parser.add_subparsers(dest=f"{group.replace('-', '_')}_command", required=True)
    actions = parser._subparsers._group_actions if parser._subparsers else []
    return next(a for a in actions if isinstance(a, argparse._SubParsersAction))


def run_list(args: argparse.Namespace, runtime: Runtime) -> int:
    listing: Listing = args.listing
    filters = {_dest(option.flag): getattr(args, _dest(option.flag)) for option in listing.filters}
    if "now" in filters:
        filters["now"] = now_or(filters["now"])
    rows = read_list(
        runtime.engine,
        listing.query,
        actor_username=args.actor_username,
        what=listing.group,
        **filters,
        limit=args.limit,
    )
    payload = {"items": rows, "count": len(rows), "limit": args.limit}
    emit(payload, as_json=args.json, text=table(listing, rows, args.limit))
    return EXIT_OK


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def table(listing: Listing, rows: Sequence[dict[str, Any]], limit: int) -> list[str]:
    """An aligned text table of ``listing.columns``; money stays a Decimal string."""
    if not rows:
        return [f"no {listing.group} match"]
    cells = [list(listing.columns)] + [
        [_cell(row[column]) for column in listing.columns] for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(listing.columns))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells
    ]
    if len(rows) == limit:
        lines.append(f"(first {limit}; there may be more: raise --limit or filter)")
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    text_value = str(jsonable(value))
    return text_value if len(text_value) <= 40 else text_value[:39] + "…"
