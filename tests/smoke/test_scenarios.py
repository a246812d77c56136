"""The shipped smoke scenarios, each as a pytest test (``pytest -m smoke``) in a database
emptied before it, the same scenarios the release gate's smoke check runs."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from ops_domain.config import Settings
from ops_domain.smoke.runner import SCENARIOS, Scenario

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
def test_scenario(scenario: Scenario, engine: Engine, settings: Settings) -> None:
    scenario(engine, settings)
