"""Scenario and operations twin: a synthetic post-conflict region with hidden ground truth.

``generate(ScenarioConfig(seed=...))`` builds the region (districts, settlements, roads, rivers,
terrain, the former line of contact and its positions), lays the hidden contamination the way
armies lay it, and runs the observation processes that turn it into dated field reports.
``safeground.scenario.twin.OperationsTwin`` then executes survey and clearance plans against the
truth. See docs/scenario.md.
"""

from safeground.scenario.config import ScenarioConfig
from safeground.scenario.scenario import Scenario, generate

__all__ = ["Scenario", "ScenarioConfig", "generate"]
