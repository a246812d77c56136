"""The bench's runtime section: the fastest scheduled run is the one reported and judged."""

from __future__ import annotations

from bench.runtime_gate import RESULTS_KEY, gate_targets, section_lines


def run(seconds: float, smoke: float) -> dict:
    return {
        "state": "failed",
        "seconds": seconds,
        "observed_seconds": seconds + 1,
        "tasks": {"authorise_run": 1.0, "end_to_end.smoke_tests": smoke},
    }


RESULT = {
    "platform_ready_seconds": 70.0,
    "in_process": {"seconds": 9.5, "verdict": "not_ready", "checks": {}},
    "scheduled": [run(21.0, 12.0), run(14.2, 8.0)],
    "target_seconds": 15.0,
}


def test_the_fastest_run_is_tabled_with_its_tasks_beside_the_in_process_time() -> None:
    lines = section_lines({RESULTS_KEY: RESULT})

    assert "| end_to_end.smoke_tests | 8.0 |" in lines
    assert lines[-1] == "| **end to end** | **14.2** |"
    assert "runs 21.0 s (failed), 14.2 s (failed)" in "\n".join(lines)
    assert "9.5 s (verdict not_ready)" in "\n".join(lines)


def test_the_target_is_met_only_within_15_s() -> None:
    assert gate_targets({RESULTS_KEY: RESULT})[0][1:] == ("14.2 s", True)
    slow = {**RESULT, "scheduled": [run(15.1, 9.0)]}
    assert gate_targets({RESULTS_KEY: slow})[0][1:] == ("15.1 s", False)


def test_a_bench_without_the_runtime_section_reports_nothing_of_it() -> None:
    assert (section_lines({}), gate_targets({})) == ([], [])
