"""``audit verify`` and ``audit seal``: the audit log's tamper evidence and completeness."""

from __future__ import annotations

import argparse

from ops_domain.audit.chain import seal_audit_log
from ops_domain.audit.verification import AuditVerdict, verify_audit_log
from ops_domain.cli.runtime import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    Runtime,
    add_json_flag,
    emit,
    timestamp_arg,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser("audit", help="audit log tamper evidence and completeness")
    commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = commands.add_parser(
        "verify", help="seal new rows, recheck the hash chain and completeness (exit 1: broken)"
    )
    verify.add_argument("--since", type=timestamp_arg("--since"), help="window start (UTC)")
    verify.add_argument("--until", type=timestamp_arg("--until"), help="window end, exclusive")
    add_json_flag(verify)
    verify.set_defaults(handler=run_verify)
    seal = commands.add_parser("seal", help="chain the audit rows written since the last seal")
    add_json_flag(seal)
    seal.set_defaults(handler=run_seal)


def run_verify(args: argparse.Namespace, runtime: Runtime) -> int:
    verdict = verify_audit_log(runtime.engine, since=args.since, until=args.until)
    emit(verdict.to_dict(), as_json=args.json, text=_verdict_lines(verdict))
    return EXIT_OK if verdict.ok else EXIT_CHECK_FAILED


def _verdict_lines(verdict: AuditVerdict) -> list[str]:
    window = (
        f"{verdict.since.isoformat() if verdict.since else 'start'}"
        f"..{verdict.until.isoformat() if verdict.until else 'now'}"
    )
    head = verdict.seal
    lines = [
        f"window: {window}",
        f"sealed now: {head.sealed} row(s); chain head: #{head.head_id} {head.head_hash}",
        f"hash chain: {verdict.chain.checked} row(s) checked, "
        + ("intact" if verdict.chain.intact else f"BROKEN: {verdict.chain.problem}"),
        f"completeness: {verdict.rules} rule(s), "
        + (f"{len(verdict.missing)} broken" if verdict.missing else "every change audited"),
    ]
    lines += [f"  missing: {link.describe()}" for link in verdict.missing]
    lines.append(
        "audit verify: OK" if verdict.ok else f"audit verify: FAILED: {verdict.first_problem}"
    )
    return lines


def run_seal(args: argparse.Namespace, runtime: Runtime) -> int:
    report = seal_audit_log(runtime.engine)
    emit(
        {"sealed": report.sealed, "head_id": report.head_id, "head_hash": report.head_hash},
        as_json=args.json,
        text=f"sealed {report.sealed} audit row(s); head #{report.head_id} {report.head_hash}",
    )
    return EXIT_OK
