"""Planning benchmark: the national instance by the heuristic, and small-instance MILP solve times.

    .venv/bin/python benchmarks/bench_planning.py [--quick] [--milp-seeds N] [--time-limit S]
        [--areas 40] [--weeks 26] [--first-seed 0] [--moves 6000,20000] [--no-national]

Prints, for the national instance (5,000 areas, 300 settlements, 100 teams, 520 weeks):
build, greedy and local-search times, total planning time against the 60 s target, peak
resident memory against 4 GB; then for small instances (4 teams; by default 10 seeds of 40
areas x 26 weeks, 300 s each, about an hour) the LP relaxation's bound at the root, the MILP's
objective, bound, status and solve time, and for each budget of local-search moves the
heuristic's objective, time, gap to the best plan found and to the MILP's bound (``--time-limit
0``: the heuristic only).
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import psutil

from safeground.planning.heuristic import plan_heuristic
from safeground.planning.milp import plan_milp
from safeground.planning.synthetic import national_instance, synthetic_instance


class PeakMemory:
    """Samples this process's resident memory every 50 ms."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def national(search_seconds: float) -> None:
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        inst = national_instance(seed=0)
        t_build = time.perf_counter() - t0
        plan = plan_heuristic(inst, seconds=search_seconds, seed=0)
        total = time.perf_counter() - t0
    s = plan.summary()
    print("National instance: 5,000 areas, 300 settlements, 100 teams, 520 weeks")
    print(f"  instance built             {t_build:6.1f} s")
    print(f"  heuristic (local search {search_seconds:.0f} s) {plan.seconds:6.1f} s")
    print(f"  total                      {total:6.1f} s   (target <= 60 s: "
          f"{'met' if total <= 60 else 'MISSED'})")
    print(f"  peak memory                {mem.peak / 2**30:6.2f} GB (target <= 4 GB: "
          f"{'met' if mem.peak <= 4 * 2**30 else 'MISSED'})")
    print(f"  plan rows (team x area x week) {len(plan.team):,}")
    for key in ("objective_person_weeks", "people_returned_year_1", "people_returned_year_3",
                "people_returned_year_5", "people_returned_in_horizon",
                "settlements_returned_in_horizon", "areas_released_in_horizon"):
        if key in s:
            print(f"  {key:34s} {s[key]:,.0f}")


def small(seeds: int, n_areas: int, weeks: int, time_limit: float, moves: list[int],
          first_seed: int = 0) -> None:
    """The heuristic with each budget of local-search moves against the MILP (warm-started
    with the first budget's plan; ``time_limit`` 0 runs the heuristic only)."""
    milp = time_limit > 0
    print(f"\nSmall instances: {n_areas} areas, {max(3, n_areas // 5)} settlements, 4 teams, "
          f"{weeks} weeks; heuristic with {', '.join(f'{m:,}' for m in moves)} local-search "
          "moves" + (f"; MILP by HiGHS {highspy_version()} (1 thread, limit {time_limit:.0f} s, "
                     f"warm start = the {moves[0]:,}-move heuristic)" if milp else ""))
    print("  best = the best plan found (MILP or heuristic); gap = 1 - heuristic / best; "
          "to bound = 1 - heuristic / MILP bound (the optimum lies between best and bound)")
    head = f"  {'seed':>4}"
    if milp:
        head += (f" {'LP root':>11} {'milp':>11} {'bound':>11} {'MILP gap':>8} {'milp s':>7} "
                 f"{'status':>8}")
    for m in moves:
        head += f" | {f'heur {m:,}':>12} {'s':>5} {'gap':>6} {'to bound':>8}"
    print(head)
    for seed in range(first_seed, first_seed + seeds):
        inst = synthetic_instance(n_areas, max(3, n_areas // 5), 4, weeks, seed)
        hs = [plan_heuristic(inst, seconds=3600, iterations=m, seed=0) for m in moves]
        line = f"  {seed:>4}"
        best, bound = max(h.objective for h in hs), float("nan")
        if milp:
            lp = plan_milp(inst, relax=True, prepared=hs[0].prepared)
            m = plan_milp(inst, time_limit=time_limit, start=hs[0], prepared=hs[0].prepared)
            best, bound = max(best, m.objective), m.bound
            status = "optimal" if m.status == "Optimal" else "limit"
            line += (f" {lp.bound:>11,.0f} {m.objective:>11,.0f} {m.bound:>11,.0f} "
                     f"{1 - m.objective / m.bound:>8.2%} {m.seconds:>7.1f} {status:>8}")
        for h in hs:
            to_bound = f"{1 - h.objective / bound:>8.2%}" if milp else f"{'-':>8}"
            line += (f" | {h.objective:>12,.0f} {h.seconds:>5.1f} "
                     f"{1 - h.objective / best:>6.2%} {to_bound}")
        print(line, flush=True)


def highspy_version() -> str:
    from importlib.metadata import version

    return version("highspy")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer, smaller MILP instances")
    ap.add_argument("--search", type=float, default=20.0, help="national local search, s")
    ap.add_argument("--milp-seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--areas", type=int, default=40)
    ap.add_argument("--weeks", type=int, default=26)
    ap.add_argument("--moves", default="6000,20000",
                    help="heuristic local-search moves, comma-separated budgets (the first "
                         "warm-starts the MILP)")
    ap.add_argument("--no-national", action="store_true", help="only the small instances")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} (2-core machine shared with others)")
    if not args.no_national:
        national(args.search)
    if args.quick:
        small(2, 12, 12, 60.0, [3000])
    else:
        small(args.milp_seeds, args.areas, args.weeks, args.time_limit,
              [int(m) for m in args.moves.split(",")], args.first_seed)


if __name__ == "__main__":
    main()
