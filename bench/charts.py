"""The bench's pictures, written beside ``latest.md``: seconds against scale for every job
(with the limits and the naive baseline as dashed lines), and rows/s per job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.targets import ESCALATION_LIMITS

TIME_CHART = "time_by_scale.png"
RATE_CHART = "rows_per_second.png"
LIMIT = "limit: 2-statement settlement"
NAIVE = "naive ORM settlement"
DASHED = frozenset({LIMIT, NAIVE, *ESCALATION_LIMITS.values()})


def _series(results: dict[str, Any], large: dict[str, Any] | None) -> dict[str, dict[int, dict]]:
    """operation -> scale -> result, over ``make bench`` and ``make bench-large``."""
    series: dict[str, dict[int, dict]] = {}
    for run in results["scales"] + (large["scales"] if large else []):
        for operation, result in run["results"].items():
            series.setdefault(operation, {}).setdefault(run["scale"], result)
    return series


def write_charts(directory: Path, results: dict[str, Any], large: dict[str, Any] | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    series = _series(results, large)
    figure, axes = pyplot.subplots(figsize=(10, 6))
    for operation, by_scale in series.items():
        scales = sorted(by_scale)
        style = {"linestyle": "--", "linewidth": 2.5} if operation in DASHED else {}
        axes.plot(
            scales, [by_scale[s]["seconds"] for s in scales], marker="o", label=operation, **style
        )
    every_scale = sorted({scale for by_scale in series.values() for scale in by_scale})
    axes.set(xscale="log", yscale="log", xlabel="scale (x 250,000 events)", ylabel="seconds")
    axes.set_xticks(every_scale, [str(scale) for scale in every_scale])
    axes.minorticks_off()
    axes.set_title("Time against scale (dashed: the limits and the naive baseline)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(directory / TIME_CHART, dpi=100)
    pyplot.close(figure)

    figure, axes = pyplot.subplots(figsize=(10, 6))
    operations = list(series)
    scales = sorted({scale for by_scale in series.values() for scale in by_scale})
    width = 0.8 / len(scales)
    for index, scale in enumerate(scales):
        axes.barh(
            [n + index * width for n in range(len(operations))],
            [
                series[op][scale]["rows"] / series[op][scale]["seconds"]
                if scale in series[op]
                else 0
                for op in operations
            ],
            height=width,
            label=f"scale {scale}",
        )
    axes.set_yticks([n + 0.4 - width / 2 for n in range(len(operations))], operations, fontsize=7)
    axes.set(xscale="log", xlabel="rows/s")
    axes.set_title("Rows per second per job")
    axes.grid(True, axis="x", which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(directory / RATE_CHART, dpi=100)
    pyplot.close(figure)


def chart_lines() -> list[str]:
    return [
        "",
        f"Charts: [time against scale]({TIME_CHART}) · [rows/s per job]({RATE_CHART})",
        "",
        f"![time against scale]({TIME_CHART})",
        "",
        f"![rows per second]({RATE_CHART})",
    ]
