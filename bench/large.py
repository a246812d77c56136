"""``make bench-large``: settlement at scale 40 (10,000,000 events, 100,000 merchants) beside
scale 1, kept in ``large.json`` next to ``latest.json`` (the run takes long: ``make bench``
reads the committed figures instead of rerunning them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LARGE_FILE = "large.json"


def read_large(directory: Path) -> dict[str, Any] | None:
    path = directory / LARGE_FILE
    return json.loads(path.read_text()) if path.exists() else None


def write_large(directory: Path, large: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / LARGE_FILE).write_text(json.dumps(large, indent=2, default=str) + "\n")


def large_lines(large: dict[str, Any] | None) -> list[str]:
    """The settlement table of the last ``make bench-large``."""
    if large is None:
        return ["", "Scale 40 (`make bench-large`): not run yet."]
    lines = [
        "",
        f"## Settlement at scale 40 (`make bench-large`, {large['clock']},"
        f" {large['total_seconds']:.0f} s, load average"
        f" {' / '.join(f'{v:.1f}' for v in large['load_average']['start'])} at start)",
        "",
        "| operation | scale | events | load s | seconds | rows/s | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in large["scales"]:
        for operation, result in run["results"].items():
            lines.append(
                f"| {operation} | {run['scale']} | {result['rows']:,} |"
                f" {run['load']['load_seconds']} | {result['seconds']:.1f} |"
                f" {result['rows'] / result['seconds']:,.0f} | {result['peak_mb']:.0f} |"
            )
    lines += [
        "",
        "Settlement data only (merchants, events, accounts, periods), generated in SQL; one"
        " round each: the limit on a file copy, the run with payouts on the loaded database.",
    ]
    return lines
