"""``audit verify`` and ``audit seal``: the audit log's tamper evidence and completeness."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from ops_domain.audit.sealing import engine_at, may_seal, seal_and_publish
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
    verify.add_argument(
        "--full",
        action="store_true",
        help="recheck every link of the chain, not only those after the last verify's"
        " checkpoint (kept in the audit export database)",
    )
    add_json_flag(verify)
    verify.set_defaults(handler=run_verify)
    seal = commands.add_parser(
        "seal",
        help="chain the audit rows written since the last seal, as the sealing login"
        " (OPS_SEALER_DATABASE_URL), and publish the head (OPS_AUDIT_DATABASE_URL)",
    )
    add_json_flag(seal)
    seal.set_defaults(handler=run_seal)


@contextmanager
def sealing_engines(runtime: Runtime) -> Iterator[tuple[Engine | None, Engine | None]]:
    """(sealer, export): the sealing login (``OPS_SEALER_DATABASE_URL``, else this login when
    it may seal, else None) and the audit export database (None when not configured)."""
    settings = runtime.settings
    with (
        engine_at(settings.sealer_database_url) as configured,
        engine_at(settings.audit_export_url) as export,
    ):
        own = runtime.engine if configured is None and may_seal(runtime.engine) else None
        yield configured or own, export


def run_verify(args: argparse.Namespace, runtime: Runtime) -> int:
    with sealing_engines(runtime) as (sealer, export):
        verdict = verify_audit_log(
            runtime.engine,
            since=args.since,
            until=args.until,
            sealer=sealer,
            export=export,
            full=args.full,
        )
    emit(verdict.to_dict(), as_json=args.json, text=_verdict_lines(verdict))
    return EXIT_OK if verdict.ok else EXIT_CHECK_FAILED


def _verdict_lines(verdict: AuditVerdict) -> list[str]:
    window = (
        f"{verdict.since.isoformat() if verdict.since else 'start'}"
        f"..{verdict.until.isoformat() if verdict.until else 'now'}"
    )
    head = verdict.seal
    heads = verdict.heads
    lines = [
        f"window: {window}",
        f"sealed now: {head.sealed} row(s); chain head: link {head.head_link} (row"
        f" #{head.head_id}) {head.head_hash}; {verdict.publication}",
        f"hash chain (epoch {head.epoch}): {verdict.chain.checked} row(s) checked"
        + _checked_after(verdict)
        + ", "
        + ("intact" if verdict.chain.intact else f"BROKEN: {verdict.chain.problem}"),
        "published heads: "
        + (
            "not compared (OPS_AUDIT_DATABASE_URL not set)"
            if heads is None
            else f"{heads.compared} compared, "
            + ("agree" if heads.problem is None else f"DISAGREE: {heads.problem}")
            + (
                f" ({heads.earlier_epochs} of earlier chain epochs not compared)"
                if heads.earlier_epochs
                else ""
            )
        ),
        f"completeness: {verdict.rules} rule(s), "
        + (f"{len(verdict.missing)} broken" if verdict.missing else "every change audited"),
    ]
    lines += [f"  missing: {link.describe()}" for link in verdict.missing]
    lines.append(
        "audit verify: OK" if verdict.ok else f"audit verify: FAILED: {verdict.first_problem}"
    )
    return lines


def _checked_after(verdict: AuditVerdict) -> str:
    checkpoint = verdict.checkpoint
    if checkpoint is None:
        return ""
    return (
        f" after link {checkpoint.link_no}, verified"
        f" {checkpoint.verified_at:%Y-%m-%d %H:%M:%S %Z} (--full rechecks from link 1)"
    )


def run_seal(args: argparse.Namespace, runtime: Runtime) -> int:
    with sealing_engines(runtime) as (sealer, export):
        outcome = seal_and_publish(sealer or runtime.engine, export)
    emit(outcome.to_dict(), as_json=args.json, text=outcome.describe())
    return EXIT_OK
