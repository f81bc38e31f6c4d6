"""The ranking baselines against the optimised plan on the operations twin.

Three steps, each resumable (runs already in the ``--out`` file are not run again):

``tune``      the best weights a centre could find for its weighted-score ranking: a random
              search over the six criteria's weights and the displaced-people scale, scored on
              twin seeds 0–9 only. Every candidate runs on the first seeds (``--screen-seeds``,
              0–2); the best ``--keep`` of them, and today's weights, then run on the rest
              (3–9). The best on all ten is frozen in
              ``src/safeground/planning/tuned_weights.toml`` (``--write``), with how it was
              found.
``evaluate``  the policies (today's practice, the tuned ranking, nearest-first, greedy and the
              optimised plan) on seeds 10–29, which the search never saw.
``report``    per policy the mean and spread, then the optimised plan against the tuned
              ranking paired by seed, with a bootstrap interval and the seeds it wins.

A candidate's score is its mean people returned by year 3, less 2,500 people for each casualty
by which its mean exceeds today's practice on the same seeds (the planner's value of a
casualty, 200,000 person-weeks, over the 78 weeks a person returned within three years gains
on average): the best ranking must not buy returns with casualties.

    python benchmarks/bench_planning_baselines.py tune --workers 2 --out tune.jsonl --write
    python benchmarks/bench_planning_baselines.py evaluate --workers 2 --out eval.jsonl
    python benchmarks/bench_planning_baselines.py report --runs eval.jsonl

CPU heavy (one twin run takes 15–60 s): run it under ``nice``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from safeground.planning.evaluation import (
    TwinRun,
    paired,
    run_policy,
    summarise,
    twin_config,
)
from safeground.planning.priority import CRITERIA, with_priorities

PEOPLE_PER_CASUALTY = 2500.0
POLICIES = "weighted_score,tuned_ranking,nearest_first,greedy,optimised"
WEIGHTS_FILE = Path(__file__).resolve().parents[1] / "src/safeground/planning/tuned_weights.toml"

_SCENARIO: Any = None


def _init() -> None:
    global _SCENARIO
    from safeground.scenario import ScenarioConfig, generate

    _SCENARIO = generate(ScenarioConfig(seed=0))


def _run(job: dict[str, Any]) -> dict[str, Any]:
    config = twin_config()
    if job.get("weights"):
        config = with_priorities(config, job["weights"], job.get("scales"))
    # the tuned ranking with a candidate's weights given is today's ranking with those weights
    policy = "weighted_score" if job.get("weights") else job["policy"]
    r = run_policy(_SCENARIO, policy, seed=job["seed"], years=job["years"],
                   period_weeks=job["period_weeks"], seconds=job["seconds"], config=config)
    return {**job, "run": {**r.as_dict(), "policy": job["policy"]}}


def _done(path: Path) -> dict[tuple[str, int], dict[str, Any]]:
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out[(d["label"], d["seed"])] = d
    return out


def _execute(jobs: list[dict[str, Any]], out: Path, workers: int) -> list[dict[str, Any]]:
    """Run the jobs not yet in ``out`` with ``workers`` processes, appending each result."""
    have = _done(out)
    todo = [j for j in jobs if (j["label"], j["seed"]) not in have]
    results = [have[(j["label"], j["seed"])] for j in jobs if (j["label"], j["seed"]) in have]
    if not todo:
        return results
    t0 = time.perf_counter()
    print(f"{len(todo)} twin runs to do ({len(results)} already in {out}), {workers} processes",
          file=sys.stderr, flush=True)
    with mp.get_context("fork").Pool(workers, initializer=_init) as pool:
        for i, res in enumerate(pool.imap_unordered(_run, todo), 1):
            with out.open("a", encoding="utf-8") as f:
                f.write(json.dumps(res) + "\n")
            results.append(res)
            el = time.perf_counter() - t0
            r = res["run"]
            print(f"[{i}/{len(todo)}] {res['label']} seed {res['seed']}: "
                  f"{r['people_year_3']:,} people by year 3, {r['casualties']} casualties "
                  f"({r['seconds']:.0f} s; {el / 60:.1f} min elapsed, about "
                  f"{el / i * (len(todo) - i) / 60:.0f} min to go)", file=sys.stderr, flush=True)
    return results


#: Weightings a centre would try first: today's, resettlement first (people home), and people
#: well ahead of everything else. The search adds random ones to them.
DESIGNED = [
    {"casualties": 6.0, "socio_economic": 5.0, "resettlement": 4.0, "reconstruction": 3.0,
     "food_security": 2.0, "other": 1.0},
    {"casualties": 5.0, "socio_economic": 4.0, "resettlement": 6.0, "reconstruction": 3.0,
     "food_security": 2.0, "other": 1.0},
    {"casualties": 4.0, "socio_economic": 2.0, "resettlement": 12.0, "reconstruction": 1.0,
     "food_security": 1.0, "other": 1.0},
]


def candidates(n: int, seed: int) -> list[dict[str, Any]]:
    """Today's weights, two weightings that put displaced people first, then random ones:
    weights drawn uniformly on the simplex (scaled to sum to 21, as today's 6:5:4:3:2:1) and
    the displaced-people scale log or rank."""
    rng = np.random.default_rng(seed)
    out = [{"label": f"c{i:02d}", "weights": dict(w), "scales": {"displaced": "log"}}
           for i, w in enumerate(DESIGNED[:n])]
    for i in range(len(out), n):
        w = rng.dirichlet(np.ones(len(CRITERIA))) * 21.0
        out.append({"label": f"c{i:02d}",
                    "weights": {c: round(float(x), 2) for c, x in zip(CRITERIA, w, strict=True)},
                    "scales": {"displaced": str(rng.choice(["log", "rank"]))}})
    return out


def _score(res: list[dict[str, Any]], label: str, ref: dict[int, dict[str, Any]]
           ) -> tuple[float, float, float, int]:
    mine = {r["seed"]: r["run"] for r in res if r["label"] == label}
    seeds = sorted(set(mine) & set(ref))
    people = float(np.mean([mine[s]["people_year_3"] for s in seeds]))
    cas = float(np.mean([mine[s]["casualties"] for s in seeds]))
    ref_cas = float(np.mean([ref[s]["casualties"] for s in seeds]))
    return people - PEOPLE_PER_CASUALTY * max(0.0, cas - ref_cas), people, cas, len(seeds)


def tune(args: argparse.Namespace) -> None:
    cands = candidates(args.candidates, args.search_seed)
    common = {"policy": "weighted_score", "years": args.years,
              "period_weeks": args.period_weeks, "seconds": args.seconds}
    screen = list(range(args.screen_seeds))
    rest = [s for s in range(args.tune_seeds) if s not in screen]
    jobs = [{**common, **c, "seed": s} for c in cands for s in screen]
    res = _execute(jobs, args.out, args.workers)

    def ref(rs: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        return {r["seed"]: r["run"] for r in rs if r["label"] == "c00"}

    ranked = sorted(cands, key=lambda c: -_score(res, c["label"], ref(res))[0])
    keep = ranked[:args.keep] + [c for c in cands if c["label"] == "c00"
                                 and c not in ranked[:args.keep]]
    print("screened on seeds " + ", ".join(map(str, screen)) + ":", file=sys.stderr)
    for c in ranked:
        sc, p, cas, _ = _score(res, c["label"], ref(res))
        print(f"  {c['label']} score {sc:,.0f} (people {p:,.0f}, casualties {cas:.1f}) "
              f"{c['weights']} {c['scales']}", file=sys.stderr)
    jobs = [{**common, **c, "seed": s} for c in keep for s in rest]
    res = res + _execute(jobs, args.out, args.workers)
    final = sorted(keep, key=lambda c: -_score(res, c["label"], ref(res))[0])
    print(f"on seeds 0–{args.tune_seeds - 1}:")
    for c in final:
        sc, p, cas, n = _score(res, c["label"], ref(res))
        print(f"  {c['label']} score {sc:,.0f} (people by year 3 {p:,.0f}, casualties "
              f"{cas:.1f}, {n} seeds) {c['weights']} {c['scales']}")
    best = final[0]
    if args.write:
        _write(best, final, res, ref(res), args)
        print(f"wrote {WEIGHTS_FILE}")


def _write(best: dict[str, Any], final: list[dict[str, Any]], res: list[dict[str, Any]],
           ref: dict[int, dict[str, Any]], args: argparse.Namespace) -> None:
    _, p, cas, n = _score(res, best["label"], ref)
    _, p0, cas0, _ = _score(res, "c00", ref)
    lines = [
        "# The tuned ranking: the weights a mine action centre could find for its weighted-score",
        "# ranking (priority.py), searched on the operations twin and frozen here. Policy",
        "# `tuned_ranking` ranks areas with them; `weighted_score` keeps priorities.toml.",
        "#",
        f"# Found by `benchmarks/bench_planning_baselines.py tune` on {dt.date.today()}:",
        f"# random search, {args.candidates} candidates (today's 6:5:4:3:2:1, 5:4:6:3:2:1,",
        f"# 4:2:12:1:1:1 and {args.candidates - 3} drawn uniformly on the simplex of the six",
        "# weights, scaled to sum 21, with the displaced-people scale log or rank;",
        f"# search seed {args.search_seed}), each run on twin seeds "
        f"0–{args.screen_seeds - 1}; the best {args.keep}",
        f"# and today's then on seeds {args.screen_seeds}–{args.tune_seeds - 1}. "
        f"Twin runs of {args.years} years, re-planned",
        f"# every {args.period_weeks} weeks. Score: mean people returned by year 3, less "
        f"{PEOPLE_PER_CASUALTY:,.0f} people",
        "# per casualty above today's practice on the same seeds. Seeds 10-29 were never used.",
        "# The weights are in the order of priorities.toml: casualties, socio-economic needs,",
        "# resettlement, reconstruction, food security, other.",
        f"# On seeds 0–{args.tune_seeds - 1} ({n} seeds): {p:,.0f} people by year 3 and "
        f"{cas:.1f} casualties,",
        f"# against {p0:,.0f} and {cas0:.1f} with today's weights (candidate {best['label']}).",
        "",
        "[weights]",
        *[f"{c} = {best['weights'][c]}" for c in CRITERIA],
        "",
        "[scales]",
        f"displaced = \"{best['scales']['displaced']}\"",
        "",
        "[search]",
        f"candidates = {args.candidates}",
        f"search_seed = {args.search_seed}",
        f"screen_seeds = {args.screen_seeds}",
        f"tune_seeds = {args.tune_seeds}",
        f"kept = {args.keep}",
        f"years = {args.years}",
        f"period_weeks = {args.period_weeks}",
        f"people_per_casualty = {PEOPLE_PER_CASUALTY}",
        f"people_year_3_mean = {p:.1f}",
        f"casualties_mean = {cas:.2f}",
        f"today_people_year_3_mean = {p0:.1f}",
        f"today_casualties_mean = {cas0:.2f}",
        "",
    ]
    WEIGHTS_FILE.write_text("\n".join(lines), encoding="utf-8")


def evaluate(args: argparse.Namespace) -> None:
    extra: dict[str, Any] = {}
    if args.candidate:    # the tuned ranking with one candidate's weights, before it is frozen
        (cand,) = [c for c in candidates(args.candidates, args.search_seed)
                   if c["label"] == args.candidate]
        extra = {"candidate": cand["label"], "weights": cand["weights"],
                 "scales": cand["scales"]}
    jobs = [{"label": name, "policy": name, "seed": s, "years": args.years,
             "period_weeks": args.period_weeks, "seconds": args.seconds,
             **(extra if name == "tuned_ranking" else {})}
            for s in range(args.first_seed, args.first_seed + args.seeds)
            for name in args.policies.split(",")]
    _execute(jobs, args.out, args.workers)
    report(argparse.Namespace(runs=[args.out], common=False, policies=None))


def report(args: argparse.Namespace) -> None:
    by_key: dict[tuple[str, int], TwinRun] = {}     # one run per policy and seed
    for path in args.runs:
        for d in _done(Path(path)).values():
            if d["label"] == d["policy"] and (not args.policies
                                               or d["policy"] in args.policies.split(",")):
                by_key[(d["policy"], d["seed"])] = TwinRun(**d["run"])
    if args.common:    # only the seeds every policy ran
        names = {p for p, _ in by_key}
        seeds = {s for _, s in by_key if all((p, s) in by_key for p in names)}
        by_key = {k: r for k, r in by_key.items() if k[1] in seeds}
    runs = [by_key[k] for k in sorted(by_key)]
    print(f"{len(runs)} runs, seeds {sorted({r.seed for r in runs})}")
    names = list(dict.fromkeys(r.policy for r in runs))
    if getattr(args, "markdown", False):
        _markdown(runs)
        return
    print(json.dumps(summarise(runs), indent=1))
    for base in ("tuned_ranking", "weighted_score"):
        if base in names and "optimised" in names:
            print(f"optimised − {base}:")
            print(json.dumps(paired(runs, base, "optimised"), indent=1))


def _markdown(runs: list[TwinRun]) -> None:
    """The tables of docs/planning.md §8: per policy mean ± sd, then optimised paired with
    each ranking."""
    print("| policy | seeds | people by year 1 | by year 3 | casualties | of them civilian | "
          "share of cleared m² that held EO (25 m cells) | share of cleared land in areas "
          "with EO | items found | cleared km² |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in summarise(runs):
        def f(key: str, fmt: str = "{:,.0f}", scale: float = 1.0,
              r: dict[str, Any] = r) -> str:
            return (f"{fmt.format(r[key + '_mean'] * scale)} ± "
                    f"{fmt.format(r[key + '_sd'] * scale)}")
        print(f"| {r['policy']} | {r['runs']} | {f('people_year_1')} | {f('people_year_3')} | "
              f"{f('casualties', '{:,.1f}')} | {f('civilian_casualties', '{:,.1f}')} | "
              f"{f('share_cleared_with_eo', '{:.3f}')} | "
              f"{f('share_cleared_areas_with_eo', '{:.3f}')} | {f('items_found')} | "
              f"{f('cleared_m2', '{:,.2f}', 1e-6)} |")
    names = {r.policy for r in runs}
    print()
    print("| optimised − | figure | mean difference | 95 % bootstrap interval | sd | min | max | "
          "optimised ahead on |")
    print("|---|---|---|---|---|---|---|---|")
    for base in ("tuned_ranking", "weighted_score", "greedy", "nearest_first"):
        if base not in names or "optimised" not in names:
            continue
        for p in paired(runs, base, "optimised"):
            if p["figure"] == "people_year_5":
                continue
            print(f"| {base} | {p['figure']} | {p['mean_difference']:+,.1f} | "
                  f"{p['ci95_low']:+,.1f} to {p['ci95_high']:+,.1f} | {p['sd']:,.1f} | "
                  f"{p['min']:+,.0f} | {p['max']:+,.0f} | "
                  f"{p['optimised_ahead_on']} of {p['seeds']} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="step", required=True)
    for name in ("tune", "evaluate"):
        p = sub.add_parser(name)
        p.add_argument("--workers", type=int, default=2)
        p.add_argument("--years", type=float, default=3)
        p.add_argument("--period-weeks", type=int, default=13)
        p.add_argument("--seconds", type=float, default=1.0)
        p.add_argument("--out", type=Path, required=True)
    t = sub.choices["tune"]
    t.add_argument("--candidates", type=int, default=10, help="at least 3")
    t.add_argument("--keep", type=int, default=3)
    t.add_argument("--screen-seeds", type=int, default=3)
    t.add_argument("--tune-seeds", type=int, default=10)
    t.add_argument("--search-seed", type=int, default=0)
    t.add_argument("--write", action="store_true", help="freeze the best in tuned_weights.toml")
    e = sub.choices["evaluate"]
    e.add_argument("--first-seed", type=int, default=10)
    e.add_argument("--seeds", type=int, default=20)
    e.add_argument("--policies", default=POLICIES)
    e.add_argument("--candidate", help="run tuned_ranking with this search candidate's weights "
                                       "(as `tune` numbers them) instead of the frozen ones")
    e.add_argument("--candidates", type=int, default=10)
    e.add_argument("--search-seed", type=int, default=0)
    r = sub.add_parser("report")
    r.add_argument("--runs", type=Path, action="append", required=True)
    r.add_argument("--common", action="store_true", help="only the seeds every policy ran")
    r.add_argument("--policies", help="only these policies (comma-separated)")
    r.add_argument("--markdown", action="store_true", help="the tables of docs/planning.md")
    args = ap.parse_args()
    {"tune": tune, "evaluate": evaluate, "report": report}[args.step](args)


if __name__ == "__main__":
    main()
