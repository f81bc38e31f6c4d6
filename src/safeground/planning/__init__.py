"""Land-release planning: which land to release first so the most people go home safely soonest.

* ``config``      — productivity, travel, cost, stage shares, benefit and priority weights
                    (``defaults.toml``, ``priorities.toml``; ``load_config`` lays a user's file
                    over them);
* ``instance``    — the typed planning instance and ``build_instance`` from plain records;
* ``priority``    — the authority's weighted multi-criteria scores, with breakdown;
* ``model``       — expected work per stage, team rates, the shared evaluator of benefits;
* ``heuristic``   — benefit-per-team-day greedy plus local search (national scale);
* ``milp``        — the exact time-indexed MILP with HiGHS (small instances);
* ``uncertainty`` — Monte Carlo evaluation (the plan as made, or re-planned every period),
                    P10/P50/P90 forecasts, what-if;
* ``replan``      — rolling re-planning that keeps work in progress;
* ``explain``     — why a plan leaves a top-priority area for later; what a plan was made
                    with (weights, config hash, record version, risk model);
* ``outputs``     — CSV, GeoPackage, Gantt and returns charts;
* ``policies``, ``evaluation`` — policies compared on the operations twin;
* ``cli``         — ``safeground plan make | compare | forecast``.

See docs/planning.md.
"""

from safeground.planning.config import PlanningConfig, load_config
from safeground.planning.heuristic import plan_heuristic
from safeground.planning.instance import Area, Instance, Settlement, Team, build_instance
from safeground.planning.milp import plan_milp
from safeground.planning.plan import Assignment, Plan
from safeground.planning.priority import area_scores, settlement_scores
from safeground.planning.replan import replan
from safeground.planning.uncertainty import forecast, simulate, what_if

__all__ = [
    "Area", "Assignment", "Instance", "Plan", "PlanningConfig", "Settlement", "Team",
    "area_scores", "build_instance", "forecast", "load_config", "plan_heuristic", "plan_milp",
    "replan", "settlement_scores", "simulate", "what_if",
]
