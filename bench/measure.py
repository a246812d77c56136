"""Child process: run one operation and print its measurement as one JSON line.

``python -m bench.measure '<json spec>'``. Each operation runs in a fresh process so its peak
RSS (``VmHWM``) is its own: imports, engine, the job, nothing left over from another job.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.operations import OPERATIONS, Run, parse_clock
from ops_domain.db import create_ops_engine


def memory_mb(field: str) -> float:
    """``VmHWM`` (peak resident set) or ``VmRSS`` of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    operation = OPERATIONS[spec["operation"]]
    engine = create_ops_engine(spec["url"])
    run = Run(engine, parse_clock(spec["now"]), spec)
    operation.prepare(run)
    gc.collect()
    baseline = memory_mb("VmRSS")
    timings = []
    for _ in range(operation.repeat):
        started = time.perf_counter()
        rows, details = operation.run(run)
        timings.append(time.perf_counter() - started)
    if "server" in run.state:
        run.state["server"].stop()
    engine.dispose()
    return {
        "operation": operation.name,
        "rows": rows,
        "seconds": statistics.median(timings),
        "timings": timings,
        "peak_mb": memory_mb("VmHWM"),
        "baseline_mb": baseline,
        "details": details,
    }


def main() -> None:
    print(json.dumps(measure(json.loads(sys.argv[1])), default=str))


if __name__ == "__main__":
    main()
