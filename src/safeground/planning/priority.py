"""Priority scores after the national authority's published criteria (ANAMA, docs/domain.md §5).

Each criterion scores an area from 0 to 1; the area's score is the weighted sum of criteria,
scaled to 0-100, with weights read from ``priorities.toml``:

1. casualties — life-threatening areas with civilian casualties nearby;
2. socio_economic — community needs: roads, water, other infrastructure;
3. resettlement — houses, settlements, their fields and irrigation, by displaced people waiting;
4. reconstruction — funded reconstruction ready to start;
5. food_security — farmland and pasture;
6. other — every area gets this baseline.

Criteria 1 and 3 are counts (casualties nearby, displaced people waiting), turned into 0-1 by
the scale ``priorities.toml`` names (``[scales]``: log by default, so that 54,665 people waiting
score more than 2,204, and 10 casualties more than 3). The other criteria are yes or no.

A settlement's score is its displaced people's weight (criterion 3) plus the mean score of the
areas that must be released before they can return. Every score comes with its breakdown so the
authority can audit and explain it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from safeground.planning.config import PlanningConfig
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


def count_scale(scale: str, full: float, counts: Iterable[float] = ()) -> Callable[[float], float]:
    """The 0-1 points of a count under ``scale`` (``config.PRIORITY_SCALES``): ``"log"`` is
    ln(1 + n) / ln(1 + full), ``"linear"`` n / full (both 1.0 from ``full`` on), ``"rank"`` the
    share of the non-zero ``counts`` no larger than n. Zero scores zero on every scale."""
    if scale == "rank":
        ref = sorted(float(c) for c in counts if c > 0)

        def by_rank(n: float) -> float:
            return bisect.bisect_right(ref, n) / len(ref) if n > 0 and ref else 0.0
        return by_rank
    if scale == "linear":
        return lambda n: min(1.0, max(0.0, n) / full)
    top = math.log1p(full)
    return lambda n: min(1.0, math.log1p(max(0.0, n)) / top)


def _waiting(area: Area, displaced: dict[str, float]) -> float:
    return sum(displaced.get(s, 0) for s in area.settlement_ids)


def _resettles(area: Area) -> bool:
    return bool(area.settlement_ids) and area.land_use in SETTLEMENT_USES


def _scales(instance: Instance, cfg: PlanningConfig
            ) -> tuple[Callable[[float], float], Callable[[float], float]]:
    displaced = {s.id: s.displaced_population for s in instance.settlements}
    casualties = count_scale(cfg.casualties_scale, cfg.casualties_full,
                             (a.casualties_nearby for a in instance.areas))
    people = count_scale(cfg.displaced_scale, cfg.displaced_full,
                         (_waiting(a, displaced) for a in instance.areas if _resettles(a)))
    return casualties, people


def _criteria(area: Area, displaced: float, casualties: Callable[[float], float],
              people: Callable[[float], float]) -> dict[str, float]:
    return {
        "casualties": casualties(area.casualties_nearby),
        "socio_economic": 1.0 if (area.road or area.water or area.land_use in
                                  {"road", "water", "infrastructure"}) else 0.0,
        "resettlement": people(displaced) if _resettles(area) else 0.0,
        "reconstruction": 1.0 if area.funded_reconstruction else 0.0,
        "food_security": 1.0 if area.land_use in {"farmland", "pasture"} else 0.0,
        "other": 1.0,
    }


def area_scores(instance: Instance, config: PlanningConfig | None = None) -> list[Score]:
    """Every area's priority score with its breakdown, ranked (1 = first). ``config`` gives
    the weights and scales (by default the instance's)."""
    cfg = config or instance.config
    weights = cfg.priority_weights
    total = sum(weights.get(c, 0.0) for c in CRITERIA)
    displaced = {s.id: s.displaced_population for s in instance.settlements}
    casualties, people = _scales(instance, cfg)
    out = []
    for a in instance.areas:
        crit = _criteria(a, _waiting(a, displaced), casualties, people)
        parts = {c: round(100.0 * weights.get(c, 0.0) * v / total, 3) for c, v in crit.items()}
        out.append(Score(a.id, round(sum(parts.values()), 3), parts))
    return _ranked(out)


def settlement_scores(instance: Instance, config: PlanningConfig | None = None) -> list[Score]:
    """Per settlement: its people (criterion 3) and the mean score of its access areas."""
    cfg = config or instance.config
    by_area = {s.id: s for s in area_scores(instance, cfg)}
    weights = cfg.priority_weights
    total = sum(weights.get(c, 0.0) for c in CRITERIA)
    scale = count_scale(cfg.displaced_scale, cfg.displaced_full,
                        (s.displaced_population for s in instance.settlements))
    out = []
    for s in instance.settlements:
        people = 100.0 * weights.get("resettlement", 0.0) / total * scale(
            s.displaced_population)
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
                     "displaced_waiting": _waiting(a, displaced),
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


TUNED_FILE = "tuned_weights.toml"


def tuned_priorities() -> dict:
    """The frozen weights and scales of the tuned ranking (``tuned_weights.toml``, found by
    ``benchmarks/bench_planning_baselines.py``), with how they were found."""
    import tomllib
    from importlib import resources

    text = resources.files("safeground.planning").joinpath(TUNED_FILE).read_text("utf-8")
    return tomllib.loads(text)


def with_priorities(config: PlanningConfig, weights: dict[str, float],
                    scales: dict[str, object] | None = None) -> PlanningConfig:
    """``config`` with other priority weights (and scales), checked as a config file's are."""
    from dataclasses import replace

    from safeground.planning.config import load_config

    over: dict = {"weights": dict(weights)}
    if scales:
        over["scales"] = dict(scales)
    checked = load_config(overrides={"priorities": over})
    return replace(config, priority_weights=checked.priority_weights,
                   casualties_full=checked.casualties_full,
                   displaced_full=checked.displaced_full,
                   casualties_scale=checked.casualties_scale,
                   displaced_scale=checked.displaced_scale)


def tuned_config(config: PlanningConfig) -> PlanningConfig:
    """``config`` with the tuned ranking's frozen weights and scales."""
    t = tuned_priorities()
    return with_priorities(config, t["weights"], t.get("scales"))
