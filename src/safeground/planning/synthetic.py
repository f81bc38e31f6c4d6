"""Seeded synthetic planning instances, for tests, benchmarks and the CLI demo.

Shaped after the Azerbaijani case (docs/domain.md §1): settlements emptied for decades, each waiting
on a few hazardous areas (its built-up footprint, access road, fields, water), and rural areas
nobody waits on. Every instance goes through ``build_instance``, the path real records take.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from safeground.planning.config import DEFAULT_CONFIG, PlanningConfig
from safeground.planning.instance import Instance, build_instance

DEFAULT_MIX = {"nts": 0.1, "ts": 0.2, "manual": 0.4, "dog": 0.2, "machine": 0.1}
ACCESS_USES = ("built_up", "road", "farmland", "water")
TERRAIN_BY_USE = {"built_up": "built_up", "forest": "forest", "farmland": "farmland"}


def team_assets(n_teams: int, mix: dict[str, float] | None = None) -> list[str]:
    """A deterministic asset list of ``n_teams`` in the proportions of ``mix``.

    Four teams give one each of NTS, TS, manual and dog.
    """
    if n_teams == 4 and mix is None:
        return ["nts", "ts", "manual", "dog"]
    mix = mix or DEFAULT_MIX
    total = sum(mix.values())
    counts = {a: int(np.floor(n_teams * v / total)) for a, v in mix.items()}
    order = sorted(mix, key=lambda a: -mix[a])
    i = 0
    while sum(counts.values()) < n_teams:
        counts[order[i % len(order)]] += 1
        i += 1
    return [a for a in mix for _ in range(counts[a])]


def synthetic_records(n_areas: int, n_settlements: int, n_teams: int, seed: int = 0,
                      extent_km: float | None = None, mix: dict[str, float] | None = None,
                      median_area_m2: float = 15000.0,
                      ) -> tuple[list[dict], list[dict], list[dict]]:
    """Area, settlement and team records (plain dicts) for a synthetic programme."""
    rng = np.random.default_rng(seed)
    extent = 1000.0 * (extent_km or max(20.0, 3.0 * np.sqrt(n_areas)))
    sx, sy = rng.uniform(0, extent, n_settlements), rng.uniform(0, extent, n_settlements)
    displaced = np.round(rng.lognormal(np.log(900), 0.8, n_settlements)).astype(int)
    settlements = [{"id": f"S{j:04d}", "name": f"Settlement {j}", "x": float(sx[j]),
                    "y": float(sy[j]), "displaced_population": int(displaced[j]),
                    "pre_conflict_population": int(displaced[j] * rng.uniform(1.0, 1.6))}
                   for j in range(n_settlements)]
    areas = []
    linked_share = 0.6 if n_settlements else 0.0
    for i in range(n_areas):
        if rng.random() < linked_share:
            j = int(rng.integers(n_settlements))
            x = sx[j] + rng.normal(0, 1500)
            y = sy[j] + rng.normal(0, 1500)
            use = str(rng.choice(["built_up", "road", "farmland", "water", "pasture", "forest"],
                                 p=[0.25, 0.2, 0.3, 0.1, 0.1, 0.05]))
            sids = [settlements[j]["id"]]
        else:
            x, y = rng.uniform(0, extent), rng.uniform(0, extent)
            use = str(rng.choice(["farmland", "pasture", "forest", "other", "road"],
                                 p=[0.3, 0.3, 0.2, 0.1, 0.1]))
            sids = []
        cls = "CHA" if rng.random() < 0.25 else "SHA"
        terrain = TERRAIN_BY_USE.get(use) or str(rng.choice(["open", "rough", "slope"],
                                                            p=[0.6, 0.3, 0.1]))
        size = float(np.clip(rng.lognormal(np.log(median_area_m2), 0.9), 500, 40 * median_area_m2))
        areas.append({
            "id": f"A{i:05d}", "classification": cls, "remaining_m2": round(size),
            "x": float(x), "y": float(y), "land_use": use, "terrain": terrain,
            "settlement_ids": sids, "road": use == "road", "water": use == "water",
            "funded_reconstruction": bool(use == "built_up" and rng.random() < 0.15),
            "casualties_nearby": int(rng.poisson(0.8) if rng.random() < 0.15 else 0),
            "evidence_count": int(rng.poisson(1.5 if cls == "CHA" else 0.5)),
        })
    for s in settlements:
        s["access_area_ids"] = [a["id"] for a in areas
                                if s["id"] in a["settlement_ids"] and a["land_use"] in ACCESS_USES]
    teams = []
    for t, asset in enumerate(team_assets(n_teams, mix)):
        j = int(rng.integers(n_settlements)) if n_settlements else 0
        bx = sx[j] if n_settlements else extent / 2
        by = sy[j] if n_settlements else extent / 2
        teams.append({"id": f"T{t:03d}", "asset": asset, "base_x": float(bx + rng.normal(0, 2000)),
                      "base_y": float(by + rng.normal(0, 2000))})
    return areas, settlements, teams


def synthetic_instance(n_areas: int = 40, n_settlements: int = 8, n_teams: int = 4,
                       horizon_weeks: int = 26, seed: int = 0, *,
                       extent_km: float | None = None, mix: dict[str, float] | None = None,
                       median_area_m2: float = 15000.0, start: date = date(2021, 4, 1),
                       monthly_capacity_team_days: float | None = None,
                       monthly_budget: float | None = None,
                       config: PlanningConfig = DEFAULT_CONFIG) -> Instance:
    """A seeded synthetic instance; the defaults give the small MILP-sized case."""
    areas, settlements, teams = synthetic_records(n_areas, n_settlements, n_teams, seed,
                                                  extent_km, mix, median_area_m2)
    return build_instance(areas, settlements, teams, horizon_weeks=horizon_weeks, start=start,
                          monthly_capacity_team_days=monthly_capacity_team_days,
                          monthly_budget=monthly_budget, config=config)


def national_instance(seed: int = 0) -> Instance:
    """The national benchmark: 5,000 areas, 300 settlements, 100 teams, ten years in weeks."""
    return synthetic_instance(5000, 300, 100, 520, seed, extent_km=200.0,
                              median_area_m2=30000.0)
