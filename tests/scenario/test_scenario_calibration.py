"""the default region is calibrated against the reference figures (docs/scenario.md).

The bands here are the ones stated in the calibration table of docs/scenario.md. The default
region is generated once per session (about 15 s).
"""

from __future__ import annotations

import pytest

#: figure -> (low, high, reference) as documented in docs/scenario.md
BANDS = {
    "area_km2": (9_500, 10_500, "about 10,000 km²"),
    "settlements": (300, 400, "more than 300"),
    "displaced_population": (650_000, 750_000, "more than 700,000"),
    "killed_first_5_months": (8, 40, "20 killed"),
    "injured_first_5_months": (45, 150, "87 seriously wounded"),
    "share_suspected_truly_contaminated": (0.03, 0.10, "3-10 %"),
    "items_per_km2": (5, 50, "no published figure"),
    "share_items_inside_suspected_areas": (0.75, 0.99, "misses exist"),
    "released_km2": (1, 15, "at most the default fleet at full pace for five months"),
}


@pytest.mark.parametrize("figure", sorted(BANDS))
def test_default_region_within_documented_band(default_region, figure):
    low, high, _ = BANDS[figure]
    value = default_region.calibration()[figure]
    assert low <= value <= high, f"{figure} = {value}, documented band {low}..{high}"


def test_real_towns_at_their_coordinates(default_region):
    names = {s.name for s in default_region.region.settlements if s.is_town}
    assert {"Aghdam", "Fuzuli", "Shusha", "Lachin", "Kalbajar", "Zangilan"} <= names


def test_bands_are_the_documented_ones():
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "scenario.md"
    text = doc.read_text(encoding="utf-8")
    for figure, (low, _high, _) in BANDS.items():
        assert f"`{figure}`" in text, figure
        assert f"{low:,}".replace(",", " ") in text.replace(",", " ") or str(low) in text, figure
