"""Run every scenario in a scratch database, each from an empty one, and say how each went.

A scenario that raises has ``failed`` (what a release broke); one whose empty database could
not be prepared did not run (``error``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import Engine

from ops_domain.config import Settings
from ops_domain.schema import upgrade_to_head
from ops_domain.smoke.release_scenarios import RELEASE_SCENARIOS
from ops_domain.smoke.runbook_scenarios import RUNBOOK_SCENARIOS
from ops_domain.smoke.scratch import empty_database

Scenario = Callable[[Engine, Settings], None]

SCENARIOS: tuple[Scenario, ...] = (*RELEASE_SCENARIOS, *RUNBOOK_SCENARIOS)
# the business rules as shipped: a deployment's limits must not change the scenarios' figures
SCENARIO_SETTINGS = Settings(enabled_currencies=frozenset({"USD"}))


@dataclass(frozen=True)
class ScenarioOutcome:
    scenario: str
    outcome: str  # passed | failed | error
    message: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def run_scenarios(
    engine: Engine, scenarios: Sequence[Scenario] = SCENARIOS
) -> list[ScenarioOutcome]:
    """Migrate the scratch database once, then run each scenario from an empty one."""
    upgrade_to_head(engine)
    return [run_scenario(engine, scenario) for scenario in scenarios]


def run_scenario(engine: Engine, scenario: Scenario) -> ScenarioOutcome:
    name = scenario.__name__
    try:
        empty_database(engine)
    except Exception as exc:
        return ScenarioOutcome(name, "error", _one_line(exc))
    try:
        scenario(engine, SCENARIO_SETTINGS)
    except Exception as exc:
        return ScenarioOutcome(name, "failed", _one_line(exc))
    return ScenarioOutcome(name, "passed")


def _one_line(exc: Exception) -> str:
    first = str(exc).strip().splitlines()[:1] or [""]
    return f"{type(exc).__name__}: {first[0][:300]}"
