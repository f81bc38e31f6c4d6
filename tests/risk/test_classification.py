"""SHA / CHA proposals from weighted evidence (IMAS 04.10: CHA rests on direct evidence)."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from safeground.errors import ValidationError
from safeground.risk.classification import EvidenceRules, classify

CRS = "EPSG:32638"
AREAS = gpd.GeoDataFrame({"object_id": ["A", "B", "C", "D"]},
                         geometry=[box(0, 0, 100, 100), box(1000, 0, 1100, 100),
                                   box(2000, 0, 2100, 100), box(3000, 0, 3100, 100)], crs=CRS)


def evidence(rows):
    return gpd.GeoDataFrame(
        {"object_id": [r[0] for r in rows], "category": [r[1] for r in rows],
         "reliability": [r[2] for r in rows]},
        geometry=[Point(*r[3]) for r in rows], crs=CRS)


#   evidence id, category, reliability, position  ->  area A: accident (direct, high) = CHA
#   area B: combat zone + verbal (indirect) = SHA; area C: a low-reliability find = SHA only
#   area D: nothing = none (candidate for cancellation)
EVIDENCE = evidence([
    ("E1", "accident", "high", (50, 50)),
    ("E2", "combat_zone", "high", (1050, 50)),
    ("E3", "verbal", "medium", (1150, 50)),          # 50 m outside B, inside the 100 m buffer
    ("E4", "find", "low", (2050, 50)),
    ("E5", "marking", "high", (2050, 80)),
])


def test_proposals_follow_the_rules():
    out = classify(AREAS, EVIDENCE.iloc[:4]).set_index("object_id")
    assert out.loc["A", "proposed"] == "CHA"
    assert out.loc["B", "proposed"] == "SHA"
    assert out.loc["C", "proposed"] == "SHA"         # find 1.0 x low 0.3 = 0.3: suspected only
    assert out.loc["D", "proposed"] == "none" and out.loc["D", "score"] == 0
    assert [d["evidence"] for d in out.loc["B", "drivers"]] == ["E2", "E3"]


def test_low_reliability_direct_evidence_does_not_confirm():
    out = classify(AREAS, EVIDENCE).set_index("object_id")
    # C: find (low) 0.3 + marking (high) 0.7 = 1.0: CHA, confirmed by the reliable marking
    assert out.loc["C", "proposed"] == "CHA" and out.loc["C", "direct_evidence"]
    only_low = classify(AREAS, evidence([("E9", "find", "low", (2050, 50))] * 4))
    c = only_low.set_index("object_id").loc["C"]
    assert c["score"] == pytest.approx(1.2) and c["proposed"] == "SHA"


def test_model_probability_can_add_to_the_score():
    out = classify(AREAS, EVIDENCE.iloc[:0], probability={"D": 0.8}).set_index("object_id")
    assert out.loc["D", "proposed"] == "SHA" and out.loc["D", "drivers"][0]["evidence"] == \
        "risk model"


def test_explicit_links_count_whatever_the_distance():
    ev = EVIDENCE.iloc[:1].assign(hazardous_area_id=["D"])
    out = classify(AREAS, ev).set_index("object_id")
    assert out.loc["D", "proposed"] == "CHA"


def test_rule_files_are_checked(tmp_path):
    default = EvidenceRules.load()
    assert default.category["accident"] == 1.0
    bad = tmp_path / "rules.toml"
    bad.write_text('[score]\ncha = 1\nsha = 0.3\n[category]\nlandmine = 1\n[reliability]\n'
                   'high = 1\n', encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        EvidenceRules.load(bad)
    assert exc.value.code == "RISK_RULES"
    bad.write_text("[score]\ncha = 0.1\nsha = 0.3\n[category]\n[reliability]\n",
                   encoding="utf-8")
    with pytest.raises(ValidationError):
        EvidenceRules.load(bad)
