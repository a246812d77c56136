"""``audit verify`` on the large demo: the seal of the seeded trail, the chain check alone
(rows/s), a full verify (seal, chain, published heads, completeness) and a verify right
after it, which checks only what is new since its checkpoint.

The demo is seeded into a fresh bench database, as ``seed_demo --scale large`` does; the
audit export database (published heads, checkpoints) is a second bench database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from bench import databases
from ops_domain.audit.chain import verify_chain
from ops_domain.audit.sealing import seal_and_publish
from ops_domain.audit.verification import verify_audit_log
from ops_domain.config import Settings
from ops_domain.db import create_ops_engine
from ops_domain.demo.plan import DEMO_CURRENCIES
from ops_domain.demo.seed import seed_demo

DEMO_DATABASE = "bench_demo"
EXPORT_DATABASE = "bench_audit_export"
T = TypeVar("T")


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def measure_audit_verify(server: str, business_date: date) -> dict[str, Any]:
    engine = create_ops_engine(databases.create_database(server, DEMO_DATABASE))
    export = create_ops_engine(databases.create_database(server, EXPORT_DATABASE))
    settings = Settings(enabled_currencies=frozenset(DEMO_CURRENCIES))
    try:
        _, seeded = _timed(
            lambda: seed_demo(engine, settings, scale="large", business_date=business_date)
        )
        sealed, seal_seconds = _timed(lambda: seal_and_publish(engine, export))
        chain, chain_seconds = _timed(lambda: verify_chain(engine))
        full, full_seconds = _timed(
            lambda: verify_audit_log(engine, sealer=engine, export=export, full=True)
        )
        again, again_seconds = _timed(
            lambda: verify_audit_log(engine, sealer=engine, export=export)
        )
    finally:
        engine.dispose()
        export.dispose()
        databases.drop_database(server, DEMO_DATABASE)
        databases.drop_database(server, EXPORT_DATABASE)
    return {
        "seed_seconds": seeded,
        "seal": {"rows": sealed.seal.sealed, "seconds": seal_seconds},
        "chain": {"rows": chain.checked, "seconds": chain_seconds, "intact": chain.intact},
        "full": {"rows": full.chain.checked, "seconds": full_seconds, "ok": full.ok},
        "incremental": {"rows": again.chain.checked, "seconds": again_seconds, "ok": again.ok},
    }


def summary(figures: dict[str, Any]) -> str:
    chain = figures["chain"]
    return (
        f"seal {figures['seal']['rows']:,} rows in {figures['seal']['seconds']:.1f} s; chain"
        f" {chain['rows']:,} rows in {chain['seconds']:.1f} s"
        f" ({chain['rows'] / chain['seconds']:,.0f} rows/s); verify --full"
        f" {figures['full']['seconds']:.1f} s; verify again {figures['incremental']['seconds']:.1f}"
        f" s ({figures['incremental']['rows']} rows hashed)"
    )


def audit_lines(figures: dict[str, Any] | None) -> list[str]:
    """The audit verify section of ``latest.md``."""
    if figures is None:
        return []
    rows = [
        ("seal of the seeded trail", figures["seal"]),
        ("chain check alone (every link)", figures["chain"]),
        ("audit verify --full (seal, chain, heads, completeness)", figures["full"]),
        ("audit verify right after (past its checkpoint)", figures["incremental"]),
    ]
    return [
        "",
        f"## audit verify on the large demo (seeded in {figures['seed_seconds']:.0f} s)",
        "",
        "| step | rows | seconds |",
        "|---|---:|---:|",
        *(f"| {name} | {step['rows']:,} | {step['seconds']:.1f} |" for name, step in rows),
    ]
