"""Monte Carlo evaluation of a plan, completion forecasts and what-if scenarios.

The expected-value plan hides what survey will actually cancel, what clearance will find and how
fast teams really work. ``simulate`` replays a plan many times: each run draws, per area, the
share NTS cancels and the share TS reduces (Beta around the expected shares), per team and task a
productivity factor (lognormal), and whether the area holds ordnance at all (its contamination
chance) with the items found. Each team keeps the plan's order of tasks and its share of each
task; dates move. ``forecast`` gives P10 / P50 / P90 completion dates and people returned;
``what_if`` re-plans and forecasts variants: more teams, more dogs or machines, better NTS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from safeground.planning.instance import Instance, Team
from safeground.planning.model import Prepared, expected_shares
from safeground.planning.plan import Plan


@dataclass(frozen=True)
class Simulation:
    """Per run: the week every task is done, plus counts. Arrays are (runs, ...)."""

    task_done_week: np.ndarray
    settlement_return_week: np.ndarray
    completion_week: np.ndarray
    items_found: np.ndarray
    cleared_m2: np.ndarray
    cleared_m2_with_eo: np.ndarray


def _beta(rng: np.random.Generator, mean: np.ndarray, conc: float) -> np.ndarray:
    m = np.clip(mean, 1e-4, 1 - 1e-4)
    out = rng.beta(m * conc, (1 - m) * conc)
    return np.where(mean <= 0, 0.0, out)


#: runs in one Dask task when the forecast runs on a cluster
CHUNK_RUNS = 25


def simulate(plan: Plan, runs: int = 200, seed: int = 0, *, cancel_boost: float = 0.0,
             scheduler: str | None = None) -> Simulation:
    """Replay ``plan`` ``runs`` times under sampled outcomes (see module docstring).

    Run ``r`` draws from its own generator, seeded by ``(seed, r)``, so a run's outcome does
    not depend on where it runs: ``scheduler`` (a Dask scheduler address, ``tcp://host:8786``)
    spreads the runs over that cluster's workers, ``CHUNK_RUNS`` to a task, and gives the
    same simulation as running them here (None)."""
    n_runs = int(runs)
    if scheduler in (None, "", "sync"):
        return _simulate_runs(plan, range(n_runs), seed, cancel_boost)
    from dask.distributed import Client

    with Client(scheduler) as client:
        plan_f = client.scatter(plan, broadcast=True)
        futures = [client.submit(_simulate_runs, plan_f, range(a, min(a + CHUNK_RUNS, n_runs)),
                                 seed, cancel_boost, pure=False)
                   for a in range(0, n_runs, CHUNK_RUNS)]
        parts = client.gather(futures)
    if not parts:
        return _simulate_runs(plan, range(0), seed, cancel_boost)
    return Simulation(*(np.concatenate([getattr(s, f) for s in parts])
                        for f in Simulation.__dataclass_fields__))


def _simulate_runs(plan: Plan, run_ids: range, seed: int,
                   cancel_boost: float) -> Simulation:
    """The runs ``run_ids`` of ``simulate`` (each seeded by ``(seed, run)``)."""
    p: Prepared = plan.prepared
    cfg = p.instance.config
    d = p.days
    seq = plan.sequence()
    # each (team, task)'s share of the task's work in the plan
    share = {}
    if seq:
        gain = p.effective_rate(plan.team, plan.task) * plan.days
        tot: dict[int, float] = {}
        per: dict[tuple[int, int], float] = {}
        for t, k, g in zip(plan.team.tolist(), plan.task.tolist(), gain.tolist(), strict=True):
            per[t, k] = per.get((t, k), 0.0) + g
            tot[k] = tot.get(k, 0.0) + g
        share = {key: v / tot[key[1]] if tot[key[1]] > 0 else 0.0 for key, v in per.items()}
    base = expected_shares(p.instance, cancel_boost)
    sigma = np.sqrt(np.log(1 + cfg.productivity_cv ** 2))
    n_runs = len(run_ids)
    done_all = np.full((n_runs, p.n_tasks), np.inf)
    sett = np.full((n_runs, len(p.settlement_areas)), np.inf)
    comp = np.zeros(n_runs)
    items = np.zeros(n_runs)
    cleared = np.zeros(n_runs)
    cleared_eo = np.zeros(n_runs)
    area_has_clear = np.zeros(p.n_areas, dtype=bool)
    area_has_clear[p.task_area[p.task_stage == 2]] = True
    p_cont = np.array([a.contamination_probability for a in p.instance.areas])
    for r, run in enumerate(run_ids):
        rng = np.random.default_rng((seed, run))
        c = _beta(rng, base.cancel, cfg.share_concentration)
        red = _beta(rng, base.reduce, cfg.share_concentration)
        a_rem = p.remaining
        nts_w = a_rem
        ts_w = a_rem * (1 - c)
        cl_w = a_rem * (1 - c) * (1 - red)
        work = np.where(p.task_stage == 0, nts_w[p.task_area],
                        np.where(p.task_stage == 1, ts_w[p.task_area], cl_w[p.task_area]))
        free = np.zeros(p.n_teams)
        done = np.full(p.n_tasks, np.inf)
        finish = np.zeros(p.n_tasks)
        factor = rng.lognormal(-sigma ** 2 / 2, sigma, size=len(seq)) if seq else []
        for (t, k), f in zip(seq, factor, strict=True):
            pred = p.task_pred[k]
            ready = 0.0
            if pred >= 0:
                if not np.isfinite(done[pred]):
                    continue
                ready = (done[pred] + 1) * d
            a = p.task_area[k]
            start = max(free[t], ready)
            days = share[t, k] * (p.setup[t, a] + work[k] / p.rate[t, a]) / f
            end = start + days
            free[t] = end
            finish[k] = max(finish[k], end)
            # the task is done when its last team finishes; teams of one task are adjacent
            # enough in the sequence that marking each time is right once all have run
            done[k] = max(0, int(np.ceil(finish[k] / d - 1e-9)) - 1)
        done_all[r] = done
        area_week = np.where(p.area_last >= 0, done[np.maximum(p.area_last, 0)], 0.0)
        for j, ar in enumerate(p.settlement_areas):
            sett[r, j] = area_week[ar].max() if ar.size else 0.0
        fin = area_week[np.isfinite(area_week)]
        comp[r] = fin.max() if fin.size and np.isfinite(area_week).all() else np.inf
        contaminated = rng.random(p.n_areas) < p_cont
        cleared_now = np.where(area_has_clear & np.isfinite(area_week), cl_w, 0.0)
        cleared[r] = cleared_now.sum()
        cleared_eo[r] = cleared_now[contaminated].sum()
        items[r] = rng.poisson(cfg.items_per_contaminated_m2 * cleared_now[contaminated]).sum()
    return Simulation(done_all, sett, comp, items, cleared, cleared_eo)


@dataclass(frozen=True)
class Forecast:
    """Completion and returns at P10 / P50 / P90 (P10: the optimistic tenth of runs)."""

    completion_week: dict[str, float]
    completion_date: dict[str, date | None]
    people_returned: dict[int, dict[str, float]]      # year -> {P10, P50, P90}
    share_cleared_with_eo: float
    items_found_p50: float
    runs: int

    def rows(self) -> list[dict]:
        """One row per quantile: its completion date and the people able to return by each
        year (the table ``safeground plan forecast`` prints and ``forecast.csv`` holds)."""
        return [{"quantile": q, "completion_date": self.completion_date[q],
                 **{f"people_year_{y}": v[q] for y, v in self.people_returned.items()}}
                for q in ("P10", "P50", "P90")]

    def as_dict(self) -> dict:
        return {"completion_week": self.completion_week,
                "completion_date": {k: v.isoformat() if v else None
                                    for k, v in self.completion_date.items()},
                "people_returned": {f"year_{y}": v for y, v in self.people_returned.items()},
                "share_cleared_with_eo": round(self.share_cleared_with_eo, 4),
                "items_found_p50": self.items_found_p50, "runs": self.runs}


def forecast(plan: Plan, runs: int = 200, seed: int = 0, *, cancel_boost: float = 0.0,
             years: tuple[int, ...] = (1, 3, 5), scheduler: str | None = None) -> Forecast:
    """P10 / P50 / P90 completion and people returned by each year, from ``simulate`` (on the
    Dask cluster at ``scheduler``, when given)."""
    sim = simulate(plan, runs, seed, cancel_boost=cancel_boost, scheduler=scheduler)
    p = plan.prepared
    start: date = p.instance.start
    q = {"P10": 10, "P50": 50, "P90": 90}
    comp = {k: float(np.percentile(sim.completion_week, v)) for k, v in q.items()}
    dates = {k: (start + timedelta(days=7 * (int(w) + 1) - 1)) if np.isfinite(w) else None
             for k, w in comp.items()}
    people = {}
    for y in years:
        got = (sim.settlement_return_week < 52 * y) @ p.settlement_people
        # more people is the optimistic side: P10 is the 90th percentile of people
        people[y] = {"P10": float(np.percentile(got, 90)), "P50": float(np.percentile(got, 50)),
                     "P90": float(np.percentile(got, 10))}
    tot = sim.cleared_m2.sum()
    return Forecast(comp, dates, people, float(sim.cleared_m2_with_eo.sum() / tot) if tot else 0.0,
                    float(np.median(sim.items_found)), int(runs))


def _extra_teams(instance: Instance, asset: str, n: int, tag: str) -> list[Team]:
    """``n`` more teams of ``asset``, based where the fleet's teams of that asset are (else
    any), working at their mean rate (a plan from the record: the rate measured there), else
    at the config's."""
    same = [t for t in instance.teams if t.asset == asset]
    like = same or list(instance.teams)
    cfg = instance.config
    rate = (float(np.mean([t.productivity_m2_per_day for t in same])) if same
            else cfg.team_rate[asset])
    out = []
    for i in range(n):
        src = like[i % len(like)]
        out.append(Team(f"{tag}{i:03d}", asset, rate, src.base_x, src.base_y,
                        cfg.monthly_cost[asset]))
    return out


def what_if_instances(instance: Instance, *, more_teams: float = 0.2, extra_dogs: int = 2,
                      extra_machines: int = 2) -> dict[str, tuple[Instance, float]]:
    """Variant instances: (instance, cancel boost) by name."""
    teams = list(instance.teams)
    n_more = max(1, round(len(teams) * more_teams))
    # the fleet's mix: each asset's share of the extra teams by largest remainder
    by_asset: dict[str, list[Team]] = {}
    for t in teams:
        by_asset.setdefault(t.asset, []).append(t)
    quota = {a: n_more * len(ts) / len(teams) for a, ts in by_asset.items()}
    count = {a: int(q) for a, q in quota.items()}
    for a in sorted(quota, key=lambda a: (count[a] - quota[a], a))[:n_more - sum(count.values())]:
        count[a] += 1
    more = [replace(by_asset[a][i % len(by_asset[a])], id=f"X{a}{i:03d}")
            for a in sorted(count) for i in range(count[a])]
    return {
        "baseline": (instance, 0.0),
        f"+{n_more} teams (same mix)": (instance.with_teams(teams + more), 0.0),
        f"+{extra_dogs} dog teams": (instance.with_teams(
            teams + _extra_teams(instance, "dog", extra_dogs, "D")), 0.0),
        f"+{extra_machines} machine teams": (instance.with_teams(
            teams + _extra_teams(instance, "machine", extra_machines, "M")), 0.0),
        "NTS cancels 10 % more": (instance, 0.10),
    }


def what_if(instance: Instance, *, runs: int = 100, seed: int = 0, seconds: float = 2.0,
            on_variant: Callable[[str], object] | None = None,
            scheduler: str | None = None, **variants: float) -> list[dict]:
    """Plan and forecast every variant; one row per variant. ``on_variant(name)`` is called
    as each variant is done (progress); the forecasts run on the Dask cluster at
    ``scheduler`` when given."""
    from safeground.planning.heuristic import BACKFILL_MAX_TEAMS, plan_heuristic

    rows = []
    # every variant decodes as the baseline does, so that only the resources differ
    backfill = len(instance.teams) <= BACKFILL_MAX_TEAMS
    for name, (inst, boost) in what_if_instances(instance, **variants).items():
        prep = Prepared(inst, expected_shares(inst, boost)) if boost else Prepared(inst)
        plan = plan_heuristic(inst, seconds=seconds, seed=seed, prepared=prep,
                              local=seconds > 0, backfill=backfill)
        f = forecast(plan, runs=runs, seed=seed, cancel_boost=boost, scheduler=scheduler)
        rows.append({"scenario": name, "teams": len(inst.teams),
                     "objective_person_weeks": round(plan.objective, 1),
                     "completion_P10": f.completion_date["P10"],
                     "completion_P50": f.completion_date["P50"],
                     "completion_P90": f.completion_date["P90"],
                     **{f"people_year_{y}_P50": v["P50"] for y, v in f.people_returned.items()}})
        if on_variant is not None:
            on_variant(name)
    return rows
