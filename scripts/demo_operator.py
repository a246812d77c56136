"""The operator's half of the demo: clear the gate's blockers with the runbook's own commands.

Every change goes through ``python -m ops_domain`` (run in this process), as a person on
call would type it: the same actor checks, maker-checker rules and audit rows apply. The
queues are read with plain SELECTs, the way the operator would look them up; nothing is
written outside the commands.
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

from sqlalchemy import Engine, text

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

    def run(self, *argv: str) -> dict[str, Any]:
        """Run one CLI command with ``--json``; its parsed output, or ``CommandRefused``."""
        self.commands.append("python -m ops_domain " + shlex.join(argv))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = ops_cli([*argv, "--json"])
        if code != 0:
            raise CommandRefused(f"`{self.commands[-1]}` exited {code}: {err.getvalue().strip()}")
        return json.loads(out.getvalue())


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def approve_pending_refunds(engine: Engine, log: OperatorLog) -> None:
    pending = rows(engine, "SELECT id FROM refund_requests WHERE status = 'pending' ORDER BY id")
    for (refund_id,) in pending:
        log.run(
            "refunds", "approve", "--refund-id", str(refund_id), "--actor-username", CHECKER,
            "--note", "customer evidence checked",
        )  # fmt: skip
    log.summaries.append(f"{len(pending)} pending refund(s) approved by {CHECKER} (checker)")


def post_draft_settlements(engine: Engine, log: OperatorLog) -> None:
    drafts = rows(engine, "SELECT id FROM settlements WHERE status = 'draft' ORDER BY id")
    for (settlement_id,) in drafts:
        log.run(
            "settlements", "approve", "--settlement-id", str(settlement_id),
            "--actor-username", ADMIN, "--note", "totals match the acquirer report",
        )  # fmt: skip
    log.summaries.append(
        f"{len(drafts)} draft settlement(s) over the auto-post limit posted by {ADMIN} (checker)"
    )


def approve_pending_journals(engine: Engine, log: OperatorLog) -> None:
    pending = rows(engine, "SELECT id FROM journal_approvals WHERE status = 'pending' ORDER BY id")
    for (approval_id,) in pending:
        log.run(
            "journals", "approve", "--approval-id", str(approval_id), "--actor-username", CHECKER,
            "--note", "supporting documents attached",
        )  # fmt: skip
    log.summaries.append(f"{len(pending)} journal approval(s) decided by {CHECKER} (checker)")


def resubmit_failed_payouts(engine: Engine, log: OperatorLog) -> None:
    failed = rows(engine, "SELECT id FROM payouts WHERE status = 'failed' ORDER BY id")
    for (payout_id,) in failed:
        log.run(
            "payouts", "resubmit", "--payout-id", str(payout_id), "--actor-username", TREASURY,
            "--note", "beneficiary bank confirmed the corrected account",
        )  # fmt: skip
    log.summaries.append(f"{len(failed)} failed payout(s) resubmitted by {TREASURY}")


def resolve_breaks(engine: Engine, log: OperatorLog) -> None:
    """Open breaks get a proposed resolution (maker); every pending one is approved (checker)."""
    breaks = rows(
        engine,
        "SELECT id, status FROM reconciliation_breaks"
        " WHERE status IN ('open', 'in_review') ORDER BY id",
    )
    for break_id, status in breaks:
        if status == "open":
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


def open_high_alerts(engine: Engine) -> list[Any]:
    return rows(
        engine,
        "SELECT id, alert_type, target_type, target_id FROM alerts"
        " WHERE status IN ('open', 'in_review') AND severity IN ('high', 'critical') ORDER BY id",
    )


def close_handled_alerts(engine: Engine, log: OperatorLog) -> None:
    """Close the high alerts whose cause was just dealt with; the one waiting on the card
    network stays open for the waiver."""
    handled = [a for a in open_high_alerts(engine) if a.target_type != WAIVED_ALERT_TARGET]
    for alert in handled:
        log.run(
            "alerts", "update", "--alert-id", str(alert.id), "--to", "closed",
            "--actor-username", OPERATOR, "--note", f"cause handled ({alert.alert_type})",
        )  # fmt: skip
    kinds = ", ".join(sorted({a.alert_type for a in handled}))
    log.summaries.append(f"{len(handled)} high alert(s) closed by {OPERATOR}: {kinds}")


def waive_remaining_alerts(engine: Engine, log: OperatorLog, release_id: str) -> None:
    """One waiver: requested by the operator, approved by a different person (a checker)."""
    remaining = [str(alert.id) for alert in open_high_alerts(engine)]
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


OPERATOR_STEPS: Sequence[Callable[[Engine, OperatorLog], None]] = (
    approve_pending_refunds,
    post_draft_settlements,
    approve_pending_journals,
    resubmit_failed_payouts,
    resolve_breaks,
    close_handled_alerts,
)
