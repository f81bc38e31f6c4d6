"""Typed domain values: one frozen class per IMAS object, with exactly its report's fields."""

import dataclasses

import pytest
from helpers import load

from safeground import example
from safeground.record.domain import COMMON, value_types
from safeground.record.domain.hazardous_areas import HazardousArea
from safeground.record.reports import REPORT_SPECS
from safeground.record.vocabulary import HazardClass, ReportType

AREA_EXTRA = {"status", "original_m2", "cancelled_m2", "reduced_m2", "cleared_m2",
              "reopened_m2", "remaining_m2", "remaining_geometry"}


@pytest.mark.parametrize("rtype", list(ReportType))
def test_each_class_has_exactly_its_report_fields(rtype):
    cls = value_types()[rtype]
    spec = REPORT_SPECS[rtype]
    expected = {f.name for f in spec.fields} | set(COMMON)
    if spec.geometry:
        expected.add("geometry")
    if rtype is ReportType.HAZARDOUS_AREA:
        expected |= AREA_EXTRA
    assert {f.name for f in dataclasses.fields(cls)} == expected
    assert cls.__dataclass_params__.frozen


def test_values_are_typed(sqlite_ledger):
    load(sqlite_ledger, example.records(), "officer", "chief")
    areas = sqlite_ledger.values("hazardous_area")
    assert all(isinstance(a, HazardousArea) for a in areas)
    assert {a.classification for a in areas} == {HazardClass.SHA, HazardClass.CHA}
    with pytest.raises(dataclasses.FrozenInstanceError):
        areas[0].remaining_m2 = 0
    (victim, *_rest) = [v for v in sqlite_ledger.values("victim") if v.name]
    assert victim.public().name is None and victim.public().outcome == victim.outcome
    sessions = sqlite_ledger.values("risk_education")
    assert sum(s.audience for s in sessions) == 34 + 41 + 22 + 30 + 120 + 131
