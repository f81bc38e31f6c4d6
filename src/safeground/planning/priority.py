"""Priority scores after the national authority's published criteria (ANAMA, DOMAIN.md §5).

Each criterion scores an area from 0 to 1; the area's score is the weighted sum of criteria,
scaled to 0-100, with weights read from ``priorities.toml``:

1. casualties — life-threatening areas with civilian casualties nearby;
2. socio_economic — community needs: roads, water, other infrastructure;
3. resettlement — houses, settlements, their fields and irrigation, by displaced people waiting;
4. reconstruction — funded reconstruction ready to start;
5. food_security — farmland and pasture;
6. other — every area gets this baseline.

A settlement's score is its displaced people's weight (criterion 3) plus the mean score of the
areas that must be released before they can return. Every score comes with its breakdown so the
authority can audit and explain it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from safeground.planning.instance import Area, Instance
from safeground.record.cells import safe_frame

CRITERIA = ("casualties", "socio_economic", "resettlement", "reconstruction", "food_security",
            "other")
SETTLEMENT_USES = {"built_up", "farmland", "water", "road"}


@dataclass(frozen=True, slots=True)
class Score:
    """A score (0-100) and the weighted points each criterion contributed."""

    id: str
    score: float
    breakdown: dict[str, float]
    rank: int = 0


def _criteria(area: Area, displaced: float, instance: Instance) -> dict[str, float]:
    cfg = instance.config
    return {
        "casualties": min(1.0, area.casualties_nearby / cfg.casualties_full),
        "socio_economic": 1.0 if (area.road or area.water or area.land_use in
                                  {"road", "water", "infrastructure"}) else 0.0,
        "resettlement": (min(1.0, displaced / cfg.displaced_full)
                         if area.settlement_ids and area.land_use in SETTLEMENT_USES else 0.0),
        "reconstruction": 1.0 if area.funded_reconstruction else 0.0,
        "food_security": 1.0 if area.land_use in {"farmland", "pasture"} else 0.0,
        "other": 1.0,
    }


def area_scores(instance: Instance) -> list[Score]:
    """Every area's priority score with its breakdown, ranked (1 = first)."""
    weights = instance.config.priority_weights
    total = sum(weights.get(c, 0.0) for c in CRITERIA)
    displaced = {s.id: s.displaced_population for s in instance.settlements}
    out = []
    for a in instance.areas:
        waiting = sum(displaced.get(s, 0) for s in a.settlement_ids)
        crit = _criteria(a, waiting, instance)
        parts = {c: round(100.0 * weights.get(c, 0.0) * v / total, 3) for c, v in crit.items()}
        out.append(Score(a.id, round(sum(parts.values()), 3), parts))
    return _ranked(out)


def settlement_scores(instance: Instance) -> list[Score]:
    """Per settlement: its people (criterion 3) and the mean score of its access areas."""
    by_area = {s.id: s for s in area_scores(instance)}
    weights = instance.config.priority_weights
    total = sum(weights.get(c, 0.0) for c in CRITERIA)
    out = []
    for s in instance.settlements:
        people = 100.0 * weights.get("resettlement", 0.0) / total * min(
            1.0, s.displaced_population / instance.config.displaced_full)
        areas = [by_area[a] for a in s.access_area_ids if a in by_area]
        mean_area = sum(x.score for x in areas) / len(areas) if areas else 0.0
        parts = {"displaced_people": round(people, 3), "access_areas": round(mean_area, 3),
                 "access_area_count": float(len(areas))}
        out.append(Score(s.id, round(0.5 * people + 0.5 * mean_area, 3), parts))
    return _ranked(out)


def _ranked(scores: list[Score]) -> list[Score]:
    order = sorted(scores, key=lambda s: (-s.score, s.id))
    return [Score(s.id, s.score, s.breakdown, i + 1) for i, s in enumerate(order)]


def area_frame(instance: Instance) -> pd.DataFrame:
    """Every area's rank, score and points per criterion (``points_<criterion>``), with what
    they were scored on (classification, land use, casualties, displaced people waiting),
    in rank order."""
    area = {a.id: a for a in instance.areas}
    displaced = {s.id: s.displaced_population for s in instance.settlements}
    rows = []
    for sc in area_scores(instance):
        a = area[sc.id]
        rows.append({"rank": sc.rank, "area_id": a.id, "score": sc.score,
                     **{f"points_{c}": sc.breakdown[c] for c in CRITERIA},
                     "classification": a.classification, "land_use": a.land_use,
                     "remaining_m2": round(a.remaining_m2, 1),
                     "casualties_nearby": a.casualties_nearby,
                     "displaced_waiting": sum(displaced.get(x, 0) for x in a.settlement_ids),
                     "settlement_ids": ",".join(a.settlement_ids)})
    return pd.DataFrame(rows).sort_values("rank", kind="stable").reset_index(drop=True)


def settlement_frame(instance: Instance) -> pd.DataFrame:
    """Every settlement's rank and score, with its two parts, in rank order."""
    sett = {s.id: s for s in instance.settlements}
    rows = [{"rank": sc.rank, "settlement_id": sc.id, "name": sett[sc.id].name,
             "score": sc.score, "points_displaced_people": sc.breakdown["displaced_people"],
             "mean_access_area_score": sc.breakdown["access_areas"],
             "access_areas": int(sc.breakdown["access_area_count"]),
             "displaced_population": sett[sc.id].displaced_population}
            for sc in settlement_scores(instance)]
    return pd.DataFrame(rows).sort_values("rank", kind="stable").reset_index(drop=True)


def write_priorities(instance: Instance, out_dir: str | Path) -> dict[str, Path]:
    """``priorities_areas.csv`` and ``priorities_settlements.csv`` in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"areas_csv": out / "priorities_areas.csv",
             "settlements_csv": out / "priorities_settlements.csv"}
    safe_frame(area_frame(instance)).to_csv(paths["areas_csv"], index=False)
    safe_frame(settlement_frame(instance)).to_csv(paths["settlements_csv"], index=False)
    return paths
