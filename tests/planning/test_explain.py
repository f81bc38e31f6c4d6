"""Why a plan leaves a high-priority area for later (``planning.explain``), and what
``plan.json`` records of how the plan was made."""

from __future__ import annotations

import json

import numpy as np

from safeground.planning.explain import (
    benefit_per_team_day,
    config_hash,
    explain_unscheduled,
    risk_provenance,
)
from safeground.planning.heuristic import plan_heuristic, split_span
from safeground.planning.instance import build_instance
from safeground.planning.model import Prepared
from safeground.planning.plan import plan_from_rows


def _instance(areas, teams, settlements=(), horizon=12):
    base = {"classification": "CHA", "x": 0.0, "y": 0.0, "contamination_probability": 0.9}
    return build_instance([{**base, **a} for a in areas], list(settlements),
                          [{"base_x": 0.0, "base_y": 0.0, **t} for t in teams],
                          horizon_weeks=horizon)


def _plan(inst, work):
    """A plan by hand: ``work`` lists (team index, area id, stage, first day, last day)."""
    prep = Prepared(inst)
    index = inst.area_index()
    rows = []
    for t, area, stage, start, end in work:
        k = next(k for k in prep.area_tasks[index[area]] if prep.task_stage[k] == stage)
        rows.extend((t, k, w, x) for w, x in split_span(start, end, prep.days))
    arr = np.array(rows, dtype=float).reshape(-1, 4)
    return plan_from_rows("by hand", prep, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])


def _why(plan, area_id):
    return next(w for w in explain_unscheduled(plan) if w["area_id"] == area_id)


def test_an_area_no_team_can_work_says_so():
    inst = _instance([{"id": "X", "remaining_m2": 10_000, "casualties_nearby": 2}],
                     [{"id": "N", "asset": "nts"}, {"id": "M", "asset": "manual"}])
    w = _why(_plan(inst, []), "X")
    assert w["reason"] == "no_team" and w["stage"] == "ts"
    assert w["priority_rank"] == 1


def test_an_area_too_large_for_the_horizon_is_a_capacity_reason():
    inst = _instance([{"id": "X", "remaining_m2": 50_000_000, "stages_done": 2}],
                     [{"id": "M", "asset": "manual"}])
    w = _why(_plan(inst, []), "X")
    assert w["reason"] == "capacity" and w["stage"] == "clearance"
    assert w["benefit_person_weeks"] == 0          # it could not be released in the horizon


def test_an_area_waiting_on_its_previous_stage_is_a_precedence_reason():
    """Its NTS ends in week 8 of 12; TS and clearance then need five weeks."""
    inst = _instance([{"id": "X", "classification": "SHA", "remaining_m2": 1_000_000,
                       "contamination_probability": 0.2}],
                     [{"id": "N", "asset": "nts", "productivity_m2_per_day": 25_000},
                      {"id": "T", "asset": "ts", "productivity_m2_per_day": 100_000},
                      {"id": "M", "asset": "machine", "productivity_m2_per_day": 50_000}])
    plan = _plan(inst, [(0, "X", 0, 0.0, 41.0)])
    assert plan.outcome.task_done_week[0] == 8
    w = _why(plan, "X")
    assert w["reason"] == "precedence" and w["stage"] == "ts" and w["waits_on"] == "nts"


def _busy_instance(base_km: float = 0.0, x_m2: float = 5_000):
    """One manual team; A lets a settlement of 50,000 people return, X (casualties: the
    authority's first priority) and Y hold nobody."""
    at = base_km * 1000.0
    areas = [{"id": "A", "remaining_m2": 30_000, "stages_done": 2, "settlement_ids": "S1",
              "x": at}, {"id": "X", "remaining_m2": x_m2, "stages_done": 2,
                         "casualties_nearby": 3, "x": at},
             {"id": "Y", "remaining_m2": 30_000, "stages_done": 2, "x": at}]
    sett = [{"id": "S1", "x": at, "y": 0.0, "pre_conflict_population": 60_000,
             "displaced_population": 50_000}]
    return _instance(areas, [{"id": "M", "asset": "manual"}], sett, horizon=24)


def test_teams_busy_with_work_of_more_benefit_per_team_day_is_the_reason():
    inst = _busy_instance()
    ratio = benefit_per_team_day(Prepared(inst))
    idx = inst.area_index()
    assert ratio[idx["A"]] > ratio[idx["X"]] > ratio[idx["Y"]]
    plan = _plan(inst, [(0, "A", 2, 0.0, 24 * 5.0)])       # A fills the whole horizon
    w = _why(plan, "X")
    assert w["priority_rank"] == 1 and w["reason"] == "busy"
    assert [d["area_id"] for d in w["displaces"]] == ["A"]
    assert w["displaces"][0]["benefit_per_team_day"] > w["benefit_per_team_day"]
    assert w["benefit_person_weeks"] > 0 and w["team_days_needed"] > 0
    assert w["casualties_avoided_per_week"] > 0


def test_an_area_left_behind_work_of_less_benefit_is_an_order_reason():
    inst = _busy_instance()
    plan = _plan(inst, [(0, "Y", 2, 0.0, 24 * 5.0)])       # Y, worth less, fills the horizon
    w = _why(plan, "X")
    assert w["reason"] == "order"
    assert [d["area_id"] for d in w["displaces"]] == ["Y"]
    # and A, the last area in the way of S1's people, says how many it would free
    a = _why(plan, "A")
    assert a["people_it_would_free"] == 50_000 and a["settlements_it_would_free"] == ["S1"]


def test_a_far_team_busy_elsewhere_makes_travel_the_reason():
    inst = _busy_instance(base_km=300.0, x_m2=1_500)     # 5 set-up days for 6 of work
    plan = _plan(inst, [(0, "A", 2, 0.0, 24 * 5.0)])
    w = _why(plan, "X")
    assert w["reason"] == "travel" and w["distance_km"] == 300.0
    assert w["setup_share"] > 1 / 3


def test_released_areas_are_not_explained(small_instance):
    plan = plan_heuristic(small_instance, seconds=0.1)
    out = explain_unscheduled(plan, top=len(small_instance.areas))
    released = {a.id for i, a in enumerate(small_instance.areas)
                if plan.outcome.area_release_week[i] < plan.prepared.horizon}
    assert released and not released & {w["area_id"] for w in out}
    assert len(out) == len(small_instance.areas) - len(released)
    assert all(w["reason"] and w["text"] for w in out)


def test_plan_json_carries_weights_hash_record_and_risk_model(small_instance, tmp_path):
    from safeground.planning.outputs import read_meta, write_meta

    ranking = tmp_path / "area-risk.csv"
    ranking.write_text("object_id,mean_probability\nHA-1,0.5\n", encoding="utf-8")
    plan = plan_heuristic(small_instance, seconds=0.1)
    write_meta(plan, tmp_path / "plan.json", {"record_version": [7, 3, 3],
                                              "risk_model": risk_provenance(ranking)})
    meta = read_meta(tmp_path)
    assert meta["weights"]["priorities"]["weights"] == small_instance.config.priority_weights
    assert meta["weights"]["benefit"]["casualty_value"] == small_instance.config.casualty_value
    assert meta["config_sha256"] == config_hash(small_instance.config)
    assert meta["record_version"] == [7, 3, 3]
    assert meta["risk_model"]["kind"] == "risk_ranking"
    assert meta["risk_model"]["file"] == "area-risk.csv" and len(meta["risk_model"]["sha256"]) == 64
    assert meta["unscheduled_priority_areas"] == json.loads(json.dumps(
        explain_unscheduled(plan), default=str))
    assert risk_provenance(None)["kind"] == "classification"


def test_the_config_hash_follows_every_setting(small_instance):
    from dataclasses import replace

    cfg = small_instance.config
    assert config_hash(cfg) == config_hash(replace(cfg))
    assert config_hash(cfg) != config_hash(replace(cfg, casualty_value=cfg.casualty_value + 1))
