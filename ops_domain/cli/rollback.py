"""After a release: ``rollback_watch`` and ``emergency freeze_payouts|lift_payout_freeze|
open_incident|targeted_reconciliation|backfill_settlements|record_rollback|reinstate_release``.

``rollback_watch`` exits 1 when any trigger fires (0 when all are ok, 2 when refused).
"""

from __future__ import annotations

import argparse
from typing import Any

from ops_domain.cli.readiness import add_environment_flag
from ops_domain.cli.reconciliation import (
    add_reconciliation_flags,
    breaks_summary,
    reconcile_from_args,
)
from ops_domain.cli.runtime import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    Runtime,
    actor_help,
    add_command,
    add_dry_run,
    add_json_flag,
    emit,
    timestamp_arg,
    whole_number_arg,
)
from ops_domain.cli.settlements import (
    add_settlement_job_flags,
    register_freeze_commands,
    run_settlement_job,
)
from ops_domain.rollback.emergency import (
    backfill_settlements,
    open_incident,
    record_rollback,
    targeted_reconciliation,
)
from ops_domain.rollback.emergency_actions import emergency_permission
from ops_domain.rollback.policy import INCIDENT_SLA_HOURS
from ops_domain.rollback.registry import INCIDENT_TRIGGERS
from ops_domain.rollback.reinstatement import reinstate_release
from ops_domain.rollback.watch import WatchReport, rollback_watch


def _add_recorded_release_flags(parser: argparse.ArgumentParser) -> None:
    """The release a command is about, as the readiness report recorded it, and where."""
    parser.add_argument(
        "--release-id", required=True, help="the release, as recorded by the readiness report"
    )
    add_environment_flag(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    watch = subparsers.add_parser(
        "rollback_watch", help="compare the present with a release's snapshot (exit 1: firing)"
    )
    _add_recorded_release_flags(watch)
    watch.add_argument(
        "--actor-username", required=True, help=actor_help("emergency.act", "who runs the watch")
    )
    watch.add_argument("--now", type=timestamp_arg("--now"), help="pin the clock (ISO-8601)")
    add_dry_run(watch)
    add_json_flag(watch)
    watch.set_defaults(handler=run_rollback_watch)

    emergency = subparsers.add_parser("emergency", help="emergency actions after a bad release")
    actions = emergency.add_subparsers(dest="emergency_action", required=True)
    register_freeze_commands(actions, freeze="freeze_payouts", lift="lift_payout_freeze")
    _register_incident(actions)
    _register_reconciliation(actions)
    _register_backfill(actions)
    _register_rollback(actions)
    _register_reinstatement(actions)


def _register_incident(actions: argparse._SubParsersAction) -> None:
    incident = add_command(
        actions,
        "open_incident",
        "critical incident case for risk AND operation",
        permission=emergency_permission("open_incident"),
    )
    incident.add_argument(
        "--release-id", help="the release or hotfix concerned, if any (none: --title is required)"
    )
    incident.add_argument(
        "--trigger", required=True, choices=INCIDENT_TRIGGERS, help="the rollback trigger"
    )
    incident.add_argument("--title", help="default with a release id: 'Release R: trigger'")
    incident.add_argument(
        "--sla-hours",
        type=whole_number_arg,
        default=INCIDENT_SLA_HOURS,
        help="due in (default 4 hours)",
    )
    incident.set_defaults(handler=run_open_incident)


def _register_reconciliation(actions: argparse._SubParsersAction) -> None:
    recon = actions.add_parser(
        "targeted_reconciliation", help="reconcile a currency/merchant window against a statement"
    )
    recon.add_argument("--currency", help="default: the merchant's settlement currency")
    add_reconciliation_flags(recon, permission=emergency_permission("targeted_reconciliation"))
    recon.set_defaults(handler=run_targeted_reconciliation)


def _register_backfill(actions: argparse._SubParsersAction) -> None:
    backfill = actions.add_parser(
        "backfill_settlements", help="settle a past window with the settlement job (exactly once)"
    )
    add_settlement_job_flags(
        backfill, window_required=True, permission=emergency_permission("backfill_settlements")
    )
    backfill.set_defaults(handler=run_backfill_settlements)


def _register_rollback(actions: argparse._SubParsersAction) -> None:
    rollback = add_command(
        actions,
        "record_rollback",
        "record the decision to restore the previous release",
        permission=emergency_permission("record_rollback"),
    )
    _add_recorded_release_flags(rollback)
    rollback.add_argument("--reason", required=True, help="why it is rolled back")
    rollback.set_defaults(handler=run_record_rollback)


def _register_reinstatement(actions: argparse._SubParsersAction) -> None:
    reinstate = add_command(
        actions,
        "reinstate_release",
        "checker (risk, admin, super_admin): keep a release after a false rollback alarm",
        permission=emergency_permission("reinstate_release"),
    )
    _add_recorded_release_flags(reinstate)
    reinstate.add_argument("--note", required=True, help="why the alarm was false")
    reinstate.set_defaults(handler=run_reinstate_release)


def run_rollback_watch(args: argparse.Namespace, runtime: Runtime) -> int:
    report = rollback_watch(
        runtime.engine,
        runtime.settings,
        release_id=args.release_id,
        environment=args.environment,
        actor_username=args.actor_username,
        now=args.now,
        dry_run=args.dry_run,
    )
    emit(report.to_dict(), as_json=args.json, text=watch_lines(report))
    return EXIT_CHECK_FAILED if report.firing else EXIT_OK


def watch_lines(report: WatchReport) -> list[str]:
    """The watch as a table: one line per trigger, then what was done about it."""
    release = report.release
    mode = " (dry run: nothing written)" if report.job.dry_run else ""
    reinstated = release.watching_since > release.released_at
    since = f", reinstated {release.watching_since.isoformat()}" if reinstated else ""
    lines = [
        f"release {release.release_id} ({release.environment}, released"
        f" {release.released_at.isoformat()}{since},"
        f" snapshot #{release.snapshot_id}) as of {report.checked_at.isoformat()}:"
        f" {report.verdict.upper().replace('_', ' ')}{mode}"
    ]
    for reading in report.outcome.triggers:
        lines.append(f"  {reading.name:<20} {reading.status.upper():<7} {reading.summary}")
        if reading.firing:
            shown = ", ".join(str(item["reference"]) for item in reading.evidence.items[:5])
            first = reading.evidence.first_seen
            lines.append(f"    first seen {first.isoformat() if first else '-'}: {shown}")
    lines += _consequence_lines(report)
    lines += [f"  - {message}" for message in report.job.messages if "freeze" in message]
    return lines


def _consequence_lines(report: WatchReport) -> list[str]:
    """What the watch did; a dry run says what it would do, naming no id it only drew."""
    release_id = report.release.release_id
    if report.job.dry_run:
        lines = [
            f"  would raise a {alert['severity']} alert for trigger"
            f" {alert['target_id'].partition(':')[2]}"
            for alert in report.outcome.alerts_raised
        ]
        if report.outcome.release_marked:
            lines.append(f"  would mark release {release_id} rollback_recommended")
        return lines
    lines = [
        f"  alert #{alert['id']} raised ({alert['severity']}) for trigger"
        f" {alert['target_id'].partition(':')[2]}"
        for alert in report.outcome.alerts_raised
    ]
    if report.outcome.release_marked:
        lines.append(f"  release {release_id} marked rollback_recommended")
    return lines


def run_open_incident(args: argparse.Namespace, runtime: Runtime) -> int:
    case = open_incident(
        runtime.engine,
        actor_username=args.actor_username,
        release_id=args.release_id,
        trigger=args.trigger,
        title=args.title,
        sla_hours=args.sla_hours,
    )
    state = "opened" if case["newly_opened"] else "already open"
    emit(
        case,
        as_json=args.json,
        text=f"incident {case['case_no']} {state}: {case['title']} (priority {case['priority']},"
        f" teams {', '.join(case['teams'])}, due {case['sla_due_at'].isoformat()})",
    )
    return EXIT_OK


def run_targeted_reconciliation(args: argparse.Namespace, runtime: Runtime) -> int:
    outcome = reconcile_from_args(targeted_reconciliation, args, runtime)
    emit(outcome, as_json=args.json, text=reconciliation_lines(outcome))
    return EXIT_OK


def reconciliation_lines(outcome: dict[str, Any]) -> list[str]:
    run = outcome["run"]
    mode = " (dry run: nothing written)" if outcome["dry_run"] else ""
    scope = f" merchant {run['merchant_code']}" if run["merchant_code"] else ""
    window = f"{run['window_start']}..{run['window_end']}"
    lines = [f"{run['run_no']}{mode} {run['currency']}{scope} {window}: {breaks_summary(outcome)}"]
    lines += [
        f"  {b['break_no']} {b['category']} {b['business_date']} difference {b['difference']}"
        for b in outcome["breaks"][:10]
    ]
    return lines


def run_backfill_settlements(args: argparse.Namespace, runtime: Runtime) -> int:
    return run_settlement_job(backfill_settlements, args, runtime)


def run_record_rollback(args: argparse.Namespace, runtime: Runtime) -> int:
    decision = record_rollback(
        runtime.engine,
        release_id=args.release_id,
        environment=args.environment,
        reason=args.reason,
        actor_username=args.actor_username,
    )
    emit(decision, as_json=args.json, text=decision.text())
    return EXIT_OK


def run_reinstate_release(args: argparse.Namespace, runtime: Runtime) -> int:
    decision = reinstate_release(
        runtime.engine,
        release_id=args.release_id,
        environment=args.environment,
        actor_username=args.actor_username,
        note=args.note,
    )
    emit(decision, as_json=args.json, text=decision.text())
    return EXIT_OK
