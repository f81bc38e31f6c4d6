"""Fixtures for the scenario tests: one small rectangle and one default region per session."""

from __future__ import annotations

import pytest

from safeground.scenario import ScenarioConfig, generate


@pytest.fixture(scope="session")
def small():
    """The small synthetic rectangle (24 × 16 km), seed 0."""
    return generate(ScenarioConfig.small(seed=0))


@pytest.fixture(scope="session")
def default_region():
    """The default Karabakh-like region (~10,000 km²), seed 0: generated once (~15 s)."""
    return generate(ScenarioConfig(seed=0))
