"""The targets of the next order of magnitude (issue 17), each with its figure: met or not."""

from __future__ import annotations

from typing import Any

OURS = "automate_settlements"
LIMIT = "limit: 2-statement settlement"
NAIVE = "naive ORM settlement"
ESCALATIONS = ("escalate_refund_disputes", "escalate_operation_cases", "escalate_ops_work_queue")
# Each escalation's limit: the same rows written by plain SQL (bench/limit_escalations.py).
ESCALATION_LIMITS = {
    "escalate_refund_disputes": "limit: plain-SQL refund escalation",
    "escalate_operation_cases": "limit: plain-SQL case escalation",
    "escalate_ops_work_queue": "limit: plain-SQL work-queue alerts",
}
ESCALATION_RATE = 50_000
CHAIN_RATE = 100_000
LARGE_SECONDS = 180
LARGE_LIMIT_RATIO = 1.2
SAME_RSS = 1.1  # "the same": within 10 %
VERIFY_SECONDS = 15
WHOLE_SCALE_1 = 245_000


def issue17_targets(
    results: dict[str, Any], large: dict[str, Any] | None
) -> list[tuple[str, str, bool]]:
    runs = results["scales"]
    top = runs[-1]["results"]
    checks = [
        (
            f"{operation} at least {ESCALATION_RATE:,} rows/s (scale {runs[-1]['scale']})",
            _escalation_figure(top, operation),
            _rate(top[operation]) >= ESCALATION_RATE,
        )
        for operation in ESCALATIONS
    ]
    naive = runs[0]["results"].get(NAIVE)
    if naive is not None:
        checks.append(
            (
                "naive baseline measured over the whole of scale 1 (245,000 events)",
                f"{naive['rows']:,} events in {naive['seconds']:.0f} s",
                runs[0]["scale"] == 1 and naive["rows"] >= WHOLE_SCALE_1,
            )
        )
    checks += _audit_targets(results.get("audit_verify"))
    checks += _large_targets(large)
    return checks


def _rate(result: dict[str, Any]) -> float:
    return result["rows"] / result["seconds"]


def _escalation_figure(results: dict[str, Any], operation: str) -> str:
    """Its rows/s and, when measured, its limit's: how far the machine itself is from the
    target, and how much of the time the job adds."""
    ours = results[operation]
    limit = results.get(ESCALATION_LIMITS[operation])
    if limit is None:
        return f"{_rate(ours):,.0f} rows/s"
    return (
        f"{_rate(ours):,.0f} rows/s (plain-SQL limit {_rate(limit):,.0f} rows/s;"
        f" {ours['seconds'] / limit['seconds']:.2f}x its time)"
    )


def _audit_targets(audit: dict[str, Any] | None) -> list[tuple[str, str, bool]]:
    if audit is None:
        return [("audit verify on the large demo", "not measured", False)]
    chain = audit["chain"]
    rate = chain["rows"] / chain["seconds"]
    return [
        (
            f"audit verify chain check at least {CHAIN_RATE:,} rows/s (large demo)",
            f"{rate:,.0f} rows/s ({chain['rows']:,} rows)",
            rate >= CHAIN_RATE and chain["intact"],
        ),
        (
            f"whole audit verify --full of the large demo under {VERIFY_SECONDS} s",
            f"{audit['full']['seconds']:.1f} s",
            audit["full"]["seconds"] < VERIFY_SECONDS and audit["full"]["ok"],
        ),
        (
            "a verify after a verify checks only what is new",
            f"{audit['incremental']['rows']} rows hashed, {audit['incremental']['seconds']:.1f} s",
            audit["incremental"]["rows"] == 0 and audit["incremental"]["ok"],
        ),
    ]


def _large_targets(large: dict[str, Any] | None) -> list[tuple[str, str, bool]]:
    if large is None:
        return [("settlement at scale 40 (make bench-large)", "not run", False)]
    small, big = large["scales"][0]["results"], large["scales"][-1]["results"]
    ours, limit = big[OURS], big[LIMIT]
    return [
        (
            f"settlement with payouts at scale 40 ({ours['rows']:,} events) under 3 min",
            f"{ours['seconds']:.0f} s",
            ours["seconds"] < LARGE_SECONDS,
        ),
        (
            f"settlement at scale 40 within {LARGE_LIMIT_RATIO}x the two-statement limit",
            f"{ours['seconds'] / limit['seconds']:.2f}x",
            ours["seconds"] / limit["seconds"] <= LARGE_LIMIT_RATIO,
        ),
        (
            "settlement peak RSS at scale 40 the same as at scale 1 (within 10 %)",
            f"{ours['peak_mb']:.0f} MB vs {small[OURS]['peak_mb']:.0f} MB",
            ours["peak_mb"] <= small[OURS]["peak_mb"] * SAME_RSS,
        ),
    ]
