"""docs/scenario.md documents the whole public surface of the scenario and the twin."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from safeground.scenario import ScenarioConfig
from safeground.scenario.records import FILE_ORDER, file_name
from safeground.scenario.twin import ObservedArea, ObservedSettlement, TwinMetrics

DOC = (Path(__file__).resolve().parents[2] / "docs" / "scenario.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("cls", [ScenarioConfig, ObservedArea, ObservedSettlement, TwinMetrics])
def test_every_field_documented(cls):
    for f in dataclasses.fields(cls):
        assert f"`{f.name}`" in DOC, f"{cls.__name__}.{f.name} is not in docs/scenario.md"


def test_twin_api_and_files_documented():
    for name in ("OperationsTwin", "WorkOrder", "TwinTeam", "observable_areas", "advance",
                 "metrics", "settlements", "TwinOrderError", "report_records", "write"):
        assert name in DOC, name
    for t in FILE_ORDER:
        assert file_name(t).removesuffix(".geojson") in DOC, t
    for opt in ("--seed", "--out", "--region", "--region-name", "--area-km2", "--settlements",
                "--displaced", "--resolution-m"):
        assert f"`{opt}`" in DOC, opt
