"""``python -m bench``: load each scale into a fresh database, run every job in its own
process, compare settlements with the naive baseline and the two-statement limit, parse the
DAG files, then write ``bench/results/latest.json`` and print the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import databases, runtime_gate
from bench.audit_verify import measure_audit_verify
from bench.audit_verify import summary as audit_summary
from bench.dataset import BenchClock, Sizes, generate
from bench.large import read_large, write_large
from bench.operations import BENCH_ACTOR
from bench.operations_center_pages import measure_pages, page_summary
from bench.report import machine_description, render, write_results
from bench.targets import ESCALATION_LIMITS, ESCALATIONS
from ops_domain.clock import utc_now
from ops_domain.config import PROJECT_ROOT
from ops_domain.db import create_ops_engine
from ops_domain.rbac.seeding import seed_rbac
from ops_domain.rbac.users import add_user
from ops_domain.schema import upgrade_to_head

LARGE_SCALE = 40  # 10,000,000 events over 100,000 merchants
OURS = "automate_settlements"
LIMIT = "limit: 2-statement settlement"
NAIVE = "naive ORM settlement"
# A job that changes the data it works through runs on a file copy of the freshly loaded
# database (the last round on the loaded database itself), interleaved with its peers, and
# the best of ROUNDS counts: the machine is shared, one noisy minute must not decide a ratio.
# The settlement variants settle the same fresh events, so they run before anything else.
ROUNDS = 2
SETTLEMENT_VARIANTS = (LIMIT, "automate_settlements (no payouts)", OURS)
# Each escalation beside its plain-SQL limit; the limits always run on a copy.
ESCALATIONS_AND_LIMITS = tuple(
    name for job in ESCALATIONS for name in (ESCALATION_LIMITS[job], job)
)
ON_LOADED_DATA = (
    "manage_accounting_period close",
    "release_readiness_gate",
    "metrics scrape",
    "data-quality suite",
)
BENCH_USERS = {BENCH_ACTOR: "admin", "bench_maker": "finance", "bench_checker": "risk"}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_scale(
    server: str, name: str, scale: int, clock: BenchClock, *, settlement_only: bool = False
) -> dict[str, Any]:
    """Create, migrate and fill database ``name``; return the load figures."""
    url = databases.create_database(server, name)
    engine = create_ops_engine(url)
    started = time.perf_counter()
    try:
        upgrade_to_head(engine)
        seed_rbac(engine)
        for username, role in BENCH_USERS.items():
            add_user(engine, username, [role], service_account=username == BENCH_ACTOR)
        with engine.begin() as conn:
            users = dict(conn.execute(text("SELECT username, id FROM users")).all())
            generate(
                conn,
                Sizes(scale),
                clock,
                {"maker": users["bench_maker"], "checker": users["bench_checker"]},
                settlement_only=settlement_only,
            )
        loaded = time.perf_counter() - started
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    finally:
        engine.dispose()
    return {
        "load_seconds": round(loaded, 1),
        "vacuum_seconds": round(time.perf_counter() - started - loaded, 1),
        "database_mb": round(size / 2**20),
    }


def measure(operation: str, url: str, clock: BenchClock, options: dict[str, Any]) -> dict:
    """Run one operation in a fresh child process and return its measurement."""
    spec = {"operation": operation, "url": url, "now": clock.now.isoformat(), **options}
    done = subprocess.run(
        [sys.executable, "-m", "bench.measure", json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{operation} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["rows"] == 0:
        raise RuntimeError(f"{operation} worked through no rows: the bench data is wrong")
    log(
        f"  {operation}: {result['rows']:,} rows in {result['seconds']:.3f} s,"
        f" peak {result['peak_mb']:.0f} MB"
    )
    return result


def bench_scale(server: str, scale: int, clock: BenchClock, *, naive: bool) -> dict:
    """Every job at ``scale``; the naive baseline (``naive``) over every event of it."""
    base = f"bench_s{scale}"
    log(f"scale {scale}: loading {Sizes(scale).events:,} events into {base}")
    load = load_scale(server, base, scale, clock)
    log(f"scale {scale}: loaded in {load['load_seconds']} s, {load['database_mb']} MB")
    options = {"scale": scale, "naive_merchants": Sizes(scale).merchants}
    results = {}
    if naive:
        results[NAIVE] = measure_on_copy(server, base, NAIVE, clock, options, copy=True)
    for group, on_loaded in (
        (SETTLEMENT_VARIANTS, {OURS}),
        (ESCALATIONS_AND_LIMITS, set(ESCALATIONS)),
    ):
        rounds: dict[str, list[dict]] = {}
        for round_no in range(1, ROUNDS + 1):
            for operation in group:
                copy = round_no < ROUNDS or operation not in on_loaded
                result = measure_on_copy(server, base, operation, clock, options, copy=copy)
                rounds.setdefault(operation, []).append(result)
        results |= {operation: best_of(runs) for operation, runs in rounds.items()}
    url = databases.database_url(server, base)
    for operation in ON_LOADED_DATA:
        results[operation] = measure(operation, url, clock, options)
    pages = measure_pages(server, url)
    log(f"  Operations Center pages: {page_summary(pages)}")
    return {"scale": scale, "load": load, "results": results, "pages": pages, "database": base}


def bench_settlement_at(server: str, scale: int, clock: BenchClock) -> dict:
    """Settlement alone at ``scale`` on settlement-only data, one round: the limit on a copy,
    the real run with payouts on the loaded database."""
    base = f"bench_large_s{scale}"
    log(f"scale {scale}: loading {Sizes(scale).events:,} events (settlement data) into {base}")
    load = load_scale(server, base, scale, clock, settlement_only=True)
    log(f"scale {scale}: loaded in {load['load_seconds']} s, {load['database_mb']} MB")
    options = {"scale": scale}
    results = {
        operation: measure_on_copy(server, base, operation, clock, options, copy=operation != OURS)
        for operation in (LIMIT, OURS)
    }
    databases.drop_database(server, base)
    return {"scale": scale, "load": load, "results": results, "database": base}


def measure_on_copy(
    server: str, base: str, operation: str, clock: BenchClock, options: dict, *, copy: bool
) -> dict:
    if not copy:
        return measure(operation, databases.database_url(server, base), clock, options)
    name = f"{base}_copy"
    url = databases.create_database(server, name, template=base)
    try:
        return measure(operation, url, clock, options)
    finally:
        databases.drop_database(server, name)


def best_of(runs: list[dict]) -> dict:
    """The fastest round, with every round's seconds and the highest peak RSS kept."""
    best = dict(min(runs, key=lambda run: run["seconds"]))
    best["round_seconds"] = [run["seconds"] for run in runs]
    best["peak_mb"] = max(run["peak_mb"] for run in runs)
    return best


def parse_dags() -> dict[str, dict]:
    """Each DAG file parsed in its own process, with its own throwaway AIRFLOW_HOME."""
    parsed = {}
    with tempfile.TemporaryDirectory(prefix="bench-airflow-") as home:
        env = {
            **os.environ,
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        }
        for path in sorted((PROJECT_ROOT / "dags").glob("*.py")):
            done = subprocess.run(
                [sys.executable, "-m", "bench.dag_parse", str(path)],
                capture_output=True,
                text=True,
                cwd=PROJECT_ROOT,
                env=env,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"parsing {path.name} failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            parsed[path.name] = result
            log(f"  {path.name}: {result['seconds']:.3f} s")
    return parsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--scale",
        type=int,
        action="append",
        help="scale to run (1 = 250,000 events, 2,500 merchants); repeat it (default: 1 and 4)",
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help=f"settlements alone at scales 1 and {LARGE_SCALE} (10,000,000 events) into"
        " large.json, then latest.md again (make bench-large)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the bench databases (for EXPLAIN by hand)"
    )
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    server = databases.server_url(keep_running=args.keep)
    clock = BenchClock.at(utc_now())
    load_before = os.getloadavg()
    if args.large:
        runs = [bench_settlement_at(server, scale, clock) for scale in (1, LARGE_SCALE)]
        large = {
            "machine": machine_description(server),
            "load_average": {"start": load_before, "end": os.getloadavg()},
            "clock": clock.now.isoformat(),
            "scales": runs,
            "total_seconds": round(time.perf_counter() - started, 1),
        }
        write_large(args.out, large)
        results = json.loads((args.out / "latest.json").read_text())
    else:
        results = bench_all(server, clock, sorted(set(args.scale or [1, 4])), keep=args.keep)
        results |= {
            "machine": machine_description(server),
            "load_average": {"start": load_before, "end": os.getloadavg()},
            "total_seconds": round(time.perf_counter() - started, 1),
        }
    large = read_large(args.out)
    table = render(results, large)
    write_results(args.out, results, large, table)
    print(table)
    return 0


def bench_all(server: str, clock: BenchClock, scales: list[int], *, keep: bool) -> dict:
    """Every job at each scale (the naive baseline over the whole smallest one), the DAG
    parse, and audit verify on the large demo."""
    runs = []
    for scale in scales:
        runs.append(bench_scale(server, scale, clock, naive=scale == scales[0]))
        if not keep:
            databases.drop_database(server, runs[-1]["database"])
    log("parsing DAG files")
    dags = parse_dags()
    log("the release gate under the real scheduler")
    gate = runtime_gate.measure()
    log("audit verify on the large demo")
    audit = measure_audit_verify(server, clock.business_day)
    log(f"  {audit_summary(audit)}")
    return {
        "clock": clock.now.isoformat(),
        "scales": runs,
        "dag_parse": dags,
        runtime_gate.RESULTS_KEY: gate,
        "audit_verify": audit,
    }
