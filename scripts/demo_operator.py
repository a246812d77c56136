"""The operator's half of the demo: clear the gate's blockers with the runbook's own commands.

Every change goes through ``python -m ops_domain`` (run in this process), as a person on
call would type it: the same actor checks, maker-checker rules and audit rows apply. The
queues are found with the read-only ``list`` commands, so the demo uses exactly the ids and
filters an operator sees; nothing is read or written outside the commands.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ops_domain.cli.main import main as ops_cli

CHECKER = "rita"  # risk: approves refunds, break resolutions and waivers
ADMIN = "adam"  # admin: posts draft settlements and journal entries
OPERATOR = "oscar"  # operation: proposes resolutions, closes alerts, requests the waiver
TREASURY = "tina"  # treasury: resubmits failed payouts
WAIVED_ALERT_TARGET = "chargeback"  # its alert waits on the card network, not on us


class CommandRefused(RuntimeError):
    """A runbook command exited non-zero: the demo stops and names it."""


@dataclass
class OperatorLog:
    """What the operator did: one summary per kind of action, and every command typed."""

    summaries: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    def run(self, *argv: str) -> dict[str, Any]:
        """Run one state-changing command with ``--json``; its output, or ``CommandRefused``."""
        self.commands.append("python -m ops_domain " + shlex.join(argv))
        return _json_command(self.commands[-1], argv)

    def look_up(self, *argv: str) -> list[dict[str, Any]]:
        """Run one read-only ``list`` command; its items, oldest first."""
        argv = (*argv, "--limit", "1000")
        self.lookups.append("python -m ops_domain " + shlex.join(argv))
        items = _json_command(self.lookups[-1], argv)["items"]
        return sorted(items, key=lambda item: item["id"])


def _json_command(typed: str, argv: Sequence[str]) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = ops_cli([*argv, "--json"])
    if code != 0:
        raise CommandRefused(f"`{typed}` exited {code}: {err.getvalue().strip()}")
    return json.loads(out.getvalue())


def approve_pending_refunds(log: OperatorLog) -> None:
    pending = log.look_up("refunds", "list", "--status", "pending", "--actor-username", CHECKER)
    for refund in pending:
        log.run(
            "refunds", "approve", "--refund-id", str(refund["id"]), "--actor-username", CHECKER,
            "--note", "customer evidence checked",
        )  # fmt: skip
    log.summaries.append(f"{len(pending)} pending refund(s) approved by {CHECKER} (checker)")


def post_draft_settlements(log: OperatorLog) -> None:
    drafts = log.look_up("settlements", "list", "--status", "draft", "--actor-username", ADMIN)
    for settlement in drafts:
        log.run(
            "settlements", "approve", "--settlement-id", str(settlement["id"]),
            "--actor-username", ADMIN, "--note", "totals match the acquirer report",
        )  # fmt: skip
    log.summaries.append(
        f"{len(drafts)} draft settlement(s) over the auto-post limit posted by {ADMIN} (checker)"
    )


def approve_pending_journals(log: OperatorLog) -> None:
    pending = log.look_up("journals", "list", "--pending-approval", "--actor-username", CHECKER)
    for entry in pending:
        log.run(
            "journals", "approve", "--approval-id", str(entry["approval_id"]),
            "--actor-username", CHECKER, "--note", "supporting documents attached",
        )  # fmt: skip
    log.summaries.append(f"{len(pending)} journal approval(s) decided by {CHECKER} (checker)")


def resubmit_failed_payouts(log: OperatorLog) -> None:
    failed = log.look_up("payouts", "list", "--status", "failed", "--actor-username", TREASURY)
    for payout in failed:
        log.run(
            "payouts", "resubmit", "--payout-id", str(payout["id"]), "--actor-username", TREASURY,
            "--note", "beneficiary bank confirmed the corrected account",
        )  # fmt: skip
    log.summaries.append(f"{len(failed)} failed payout(s) resubmitted by {TREASURY}")


def resolve_breaks(log: OperatorLog) -> None:
    """Open breaks get a proposed resolution (maker); every pending one is approved (checker)."""
    breaks = sorted(
        (
            found
            for status in ("open", "in_review")
            for found in log.look_up(
                "recon-breaks", "list", "--status", status, "--actor-username", OPERATOR
            )
        ),
        key=lambda found: found["id"],
    )
    for found in breaks:
        break_id = found["id"]
        if found["status"] == "open":
            log.run(
                "recon-breaks", "propose", "--break-id", str(break_id),
                "--actor-username", OPERATOR, "--note", "acquirer statement line matched by hand",
            )  # fmt: skip
        log.run(
            "recon-breaks", "approve", "--break-id", str(break_id), "--actor-username", CHECKER,
            "--note", "evidence reviewed",
        )  # fmt: skip
    log.summaries.append(
        f"{len(breaks)} reconciliation break(s) resolved: proposed by {OPERATOR}"
        f" (or earlier), approved by {CHECKER}"
    )


def open_high_alerts(log: OperatorLog) -> list[dict[str, Any]]:
    """The alerts the gate's open_high_alerts counter counts, as the operator lists them."""
    found = [
        alert
        for status in ("open", "in_review")
        for severity in ("high", "critical")
        for alert in log.look_up(
            "alerts",
            "list",
            "--status",
            status,
            "--severity",
            severity,
            "--actor-username",
            OPERATOR,
        )
    ]
    return sorted(found, key=lambda alert: alert["id"])


def close_handled_alerts(log: OperatorLog) -> None:
    """Close the high alerts whose cause was just dealt with; the one waiting on the card
    network stays open for the waiver."""
    handled = [a for a in open_high_alerts(log) if a["target_type"] != WAIVED_ALERT_TARGET]
    for alert in handled:
        log.run(
            "alerts", "update", "--alert-id", str(alert["id"]), "--to", "closed",
            "--actor-username", OPERATOR, "--note", f"cause handled ({alert['alert_type']})",
        )  # fmt: skip
    kinds = ", ".join(sorted({a["alert_type"] for a in handled}))
    log.summaries.append(f"{len(handled)} high alert(s) closed by {OPERATOR}: {kinds}")


def waive_remaining_alerts(log: OperatorLog, release_id: str) -> None:
    """One waiver: requested by the operator, approved by a different person (a checker)."""
    remaining = [str(alert["id"]) for alert in open_high_alerts(log)]
    if not remaining:
        return
    expires = (datetime.now().astimezone() + timedelta(days=3)).isoformat(timespec="seconds")
    item_flags = [flag for alert_id in remaining for flag in ("--item-id", alert_id)]
    waiver = log.run(
        "waivers", "request", "--counter", "open_high_alerts", *item_flags,
        "--reason", "chargeback awaits the card network's ruling; not release related",
        "--expires-at", expires, "--release-id", release_id, "--actor-username", OPERATOR,
    )  # fmt: skip
    log.run(
        "waivers", "approve", "--waiver-id", str(waiver["id"]), "--actor-username", CHECKER,
        "--note", "accepted for this release only",
    )  # fmt: skip
    log.summaries.append(
        f"waiver #{waiver['id']} on open_high_alerts (alert(s) {', '.join(remaining)}):"
        f" requested by {OPERATOR}, approved by {CHECKER}"
    )


OPERATOR_STEPS: Sequence[Callable[[OperatorLog], None]] = (
    approve_pending_refunds,
    post_draft_settlements,
    approve_pending_journals,
    resubmit_failed_payouts,
    resolve_breaks,
    close_handled_alerts,
)
