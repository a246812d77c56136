"""The bench's output: the machine, the results table, and each target met or missed."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from bench.audit_verify import audit_lines
from bench.charts import chart_lines, write_charts
from bench.databases import server_settings
from bench.large import large_lines
from bench.operations_center_pages import page_lines, page_targets
from bench.runtime_gate import gate_targets, section_lines
from bench.targets import ESCALATION_LIMITS, issue17_targets

OURS = "automate_settlements"
OURS_SETTLE_ONLY = "automate_settlements (no payouts)"
LIMIT = "limit: 2-statement settlement"
NAIVE = "naive ORM settlement"
ORDER = (
    OURS,
    OURS_SETTLE_ONLY,
    LIMIT,
    NAIVE,
    *(name for job, limit in ESCALATION_LIMITS.items() for name in (job, limit)),
    "manage_accounting_period close",
    "release_readiness_gate",
    "metrics scrape",
    "data-quality suite",
)
SETTLEMENT_VARIANTS = {OURS: LIMIT, OURS_SETTLE_ONLY: LIMIT}
LIMIT_OF = SETTLEMENT_VARIANTS | ESCALATION_LIMITS
LIMITS = frozenset(LIMIT_OF.values())
# The naive baseline settles a fixed subset at every scale: its growth says nothing.
NO_GROWTH = {NAIVE}


def machine_description(server: str) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 2**20, 1),
        "cpu": cpu,
        "postgresql": server_settings(server),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def _server(settings: dict[str, str]) -> str:
    return (
        f"{settings['server_version']} ("
        + ", ".join(
            f"{name} {value}" for name, value in settings.items() if name != "server_version"
        )
        + ")"
    )


def _verdict(details: dict[str, Any]) -> str:
    if details.get("errored"):
        return "error (a rule could not be evaluated)"
    if details.get("failed_rules"):
        return "failed: " + ", ".join(details["failed_rules"])
    return "every rule passed (posted journals balance, trial balance nets to zero, ...)"


def _load(values: list[float]) -> str:
    return " / ".join(f"{value:.1f}" for value in values)


def _rate(result: dict[str, Any]) -> float:
    return result["rows"] / result["seconds"] if result["seconds"] > 0 else float("inf")


def naive_ratio(results: dict[str, dict], operation: str, naive: dict | None) -> float | None:
    """How many times faster than the naive baseline: rows/s over its rows/s, measured over
    every event of the smallest scale (at that scale: the very same events)."""
    if operation not in SETTLEMENT_VARIANTS or naive is None:
        return None
    return _rate(results[operation]) / _rate(naive)


def naive_of(runs: list[dict]) -> dict | None:
    """The naive baseline's run (over the whole smallest scale)."""
    return runs[0]["results"].get(NAIVE)


def limit_ratio(results: dict[str, dict], operation: str) -> float | None:
    """Our seconds over its limit's seconds (1.0 = as fast as the bare statements)."""
    limit = LIMIT_OF.get(operation)
    if limit is None or limit not in results:
        return None
    return results[operation]["seconds"] / results[limit]["seconds"]


def growth(runs: list[dict], operation: str) -> tuple[float, float] | None:
    """(time ratio, peak-RSS ratio) from the smallest to the largest scale."""
    if len(runs) < 2 or operation in NO_GROWTH:
        return None
    first, last = runs[0]["results"].get(operation), runs[-1]["results"].get(operation)
    if not first or not last:
        return None
    return last["seconds"] / first["seconds"], last["peak_mb"] / first["peak_mb"]


def _x(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}x"


def _seconds(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def results_table(runs: list[dict]) -> list[str]:
    scale_names = f"{runs[0]['scale']}->{runs[-1]['scale']}"
    lines = [
        "| operation | scale | rows | seconds | rows/s | peak MB | vs naive (x faster)"
        f" | vs limit (x its time) | growth {scale_names} (time / RSS) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for operation in ORDER:
        for run in runs:
            result = run["results"].get(operation)
            if result is None:
                continue
            last = run is runs[-1]
            grown = growth(runs, operation) if last else None
            lines.append(
                f"| {operation} | {run['scale']} | {result['rows']:,} |"
                f" {_seconds(result['seconds'])} | {_rate(result):,.0f} |"
                f" {result['peak_mb']:.0f} |"
                f" {_x(naive_ratio(run['results'], operation, naive_of(runs)))} |"
                f" {_x(limit_ratio(run['results'], operation), 2)} |"
                f" {f'{_x(grown[0], 2)} / {_x(grown[1], 2)}' if grown else ''} |"
            )
    return lines


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for every target of issue 8, at the largest scale."""
    runs = results["scales"]
    top = runs[-1]["results"]
    ours = top[OURS]
    checks = [
        (
            f"settlements at scale {runs[-1]['scale']} under 60 s",
            f"{ours['seconds']:.1f} s",
            ours["seconds"] < 60,
        ),
        (
            f"settlements at least 20x faster than the naive baseline (scale {runs[0]['scale']},"
            " the same events)",
            f"{naive_ratio(runs[0]['results'], OURS, naive_of(runs)):.1f}x",
            naive_ratio(runs[0]["results"], OURS, naive_of(runs)) >= 20,
        ),
        (
            "settlements within 2x of the two-statement limit (with payouts)",
            f"{limit_ratio(top, OURS):.2f}x",
            limit_ratio(top, OURS) <= 2,
        ),
        (
            "settlements within 2x of the two-statement limit (settle only, like the limit)",
            f"{limit_ratio(top, OURS_SETTLE_ONLY):.2f}x",
            limit_ratio(top, OURS_SETTLE_ONLY) <= 2,
        ),
    ]
    if len(runs) > 1:
        for operation in ORDER:
            grown = growth(runs, operation)
            if grown and operation not in LIMITS:
                checks.append(
                    (
                        f"{operation}: growth <= 4.6x time, <= 1.2x peak RSS",
                        f"{grown[0]:.2f}x / {grown[1]:.2f}x",
                        grown[0] <= 4.6 and grown[1] <= 1.2,
                    )
                )
    for operation in ("release_readiness_gate", "metrics scrape"):
        checks.append(
            (
                f"{operation} under 100 ms (median of 5)",
                f"{top[operation]['seconds'] * 1000:.0f} ms",
                top[operation]["seconds"] < 0.1,
            )
        )
    close = top["manage_accounting_period close"]
    checks.append(
        (
            f"period close checks over {close['rows']:,} journal lines under 5 s",
            f"{close['seconds']:.2f} s",
            close["seconds"] < 5,
        )
    )
    slowest = max(results["dag_parse"].values(), key=lambda item: item["seconds"])
    checks.append(
        (
            "each DAG file parses in under 1 s",
            f"slowest {Path(slowest['file']).name}: {slowest['seconds']:.2f} s",
            all(item["seconds"] < 1 for item in results["dag_parse"].values()),
        )
    )
    return checks + page_targets(runs) + gate_targets(results)


def render(results: dict[str, Any], large: dict[str, Any] | None = None) -> str:
    machine = results["machine"]
    runs = results["scales"]
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), {machine['memory_gb']} GB RAM,"
        f" PostgreSQL {_server(machine['postgresql'])}, Python"
        f" {machine['python']}, kernel {machine['kernel']}. Bench clock {results['clock']};"
        f" whole run {results['total_seconds']:.0f} s.",
        "",
        "Loads: "
        + "; ".join(
            f"scale {run['scale']}: {run['load']['load_seconds']} s load +"
            f" {run['load']['vacuum_seconds']} s VACUUM ANALYZE, {run['load']['database_mb']} MB"
            for run in runs
        )
        + ".",
        "",
        *results_table(runs),
        "",
        "Each row is one fresh process (peak MB = its VmHWM, imports included); gate and scrape"
        " are the median of 5 calls in that process. Jobs that change data (the three"
        " settlement variants, the three escalations and their limits) run on their own file"
        " copy of the same freshly loaded database, interleaved, best of"
        f" {len(runs[0]['results'][OURS].get('round_seconds', [1]))} rounds (every round is in"
        " latest.json); close, gate, scrape and data quality run once, on the database the"
        " jobs have just worked on. Load average (1/5/15 min) at start"
        f" {_load(results['load_average']['start'])}, at end"
        f" {_load(results['load_average']['end'])}: the machine is shared with other work, so"
        " timings carry that noise.",
    ]
    lines += [
        f"Data-quality verdict on the bench data at scale {run['scale']}:"
        f" {_verdict(run['results']['data-quality suite']['details'])}."
        for run in runs
        if "data-quality suite" in run["results"]
    ]
    naive = naive_of(runs)
    if naive:
        lines += [
            f"The naive baseline settles every event of scale {runs[0]['scale']}"
            f" ({naive['rows']:,} events of {naive['details']['merchants']:,} merchants,"
            f" measured, {naive['seconds']:.0f} s); at larger scales the ratio is our rows/s"
            f" over its rows/s at scale {runs[0]['scale']}.",
        ]
    lines += [
        "",
        "| DAG file | parse seconds | DAGs |",
        "|---|---:|---|",
        *(
            f"| {name} | {item['seconds']:.3f} | {', '.join(item['dags'])} |"
            for name, item in results["dag_parse"].items()
        ),
        *page_lines(runs),
        *section_lines(results),
        *audit_lines(results.get("audit_verify")),
        *large_lines(large),
        *chart_lines(),
        "",
        "## Issue 17 targets",
        "",
        "| target | measured | met |",
        "|---|---:|---|",
        *(
            f"| {name} | {measured} | {'yes' if met else '**no**'} |"
            for name, measured, met in issue17_targets(results, large)
        ),
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---:|---|",
        *(
            f"| {name} | {measured} | {'yes' if met else '**no**'} |"
            for name, measured, met in targets(results)
        ),
    ]
    return "\n".join(lines) + "\n"


def write_results(
    directory: Path, results: dict[str, Any], large: dict[str, Any] | None, table: str
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (directory / "latest.md").write_text(table)
    write_charts(directory, results, large)
