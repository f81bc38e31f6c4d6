"""Synthetic submissions of every form, for the tests, the fake servers and the benchmarks.

Places fall inside the reference programme's extent (Azerbaijan, UTM 38N). Everything is
derived from ``seed`` and ``i``, so a sample is the same on every run.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid

from shapely.geometry import Point, box

from safeground.forms.spec import FORM_VERSION
from safeground.intake.submissions import Submission

ORIGIN = (46.80, 39.80)   # lon, lat near the former line of contact
DAY = dt.date(2025, 6, 2)


def _uuid(kind: str, i: int, seed: int) -> str:
    return "uuid:" + str(uuid.uuid5(uuid.NAMESPACE_OID, f"{kind}-{seed}-{i}"))


def _place(i: int, seed: int) -> tuple[float, float]:
    rng = random.Random(seed * 1_000_003 + i)
    # a 1 km grid of sites, jittered, so areas of different submissions do not overlap
    row, col = divmod(i, 300)
    return (ORIGIN[0] + col * 0.012 + rng.uniform(0, 0.002),
            ORIGIN[1] + row * 0.010 + rng.uniform(0, 0.002))


def _header(i: int, org: str, day: dt.date) -> dict:
    return {"organisation": org, "author": f"surveyor-{i % 7}",
            "date_of_information": day.isoformat()}


def nts(i: int, org: str = "ORG-1", seed: int = 0, day: dt.date = DAY) -> Submission:
    """An NTS: a ~200 m square SHA, two evidence points, one informant."""
    x, y = _place(i, seed)
    poly = box(x, y, x + 0.0024, y + 0.0018)
    key = _uuid("nts", i, seed)
    values = {**_header(i, org, day),
              "act_start_date": (day - dt.timedelta(days=3)).isoformat(),
              "act_end_date": day.isoformat(), "act_status": "completed", "act_asset": "nts",
              "act_geo": (Point(x, y), 4.0),
              "ha_name": f"Site {i}", "ha_classification": "CHA" if i % 3 == 0 else "SHA",
              "ha_contamination": "AP AT" if i % 2 else "ERW",
              "ha_land_use": "farmland", "ha_beneficiaries": 40 + i % 200,
              "ha_estimated_area_m2": 40000, "ha_benchmark": "road bend, white stone",
              "ha_geo": (poly, 3.5)}
    repeats = {
        "evidence": [
            {"ev_category": "eo_observed" if i % 3 == 0 else "combat_zone",
             "ev_source": "observed", "ev_reliability": "high",
             "ev_description": "tripwire seen at the field edge",
             "ev_geo": (Point(x + 0.001, y + 0.001), 5.0)},
            {"ev_category": "unused_land", "ev_source": "observed", "ev_reliability": "medium",
             "ev_geo": (Point(x + 0.0015, y + 0.0005), 6.0)}],
        "informant": [{"inf_reliability": "medium",
                       "inf_description": "shepherd: a cow was killed here in 2021",
                       "inf_geo": (Point(x + 0.0005, y + 0.0012), 8.0)}],
    }
    return Submission(key=key, instance_id=key, form_id="sg_nts", version=FORM_VERSION,
                      values=values, repeats=repeats, submitted_at=_ts(day, i), where="")


def clearance(i: int, area_id: str, area_xy: tuple[float, float], org: str = "ORG-1",
              seed: int = 0, day: dt.date = DAY, items: int = 3,
              activity_type: str = "clearance") -> Submission:
    """Progress of clearance in an area: one cleared strip and ``items`` items found."""
    x, y = area_xy
    key = _uuid("clr", i, seed)
    strip = box(x, y, x + 0.0024, y + 0.0006)
    values = {**_header(i, org, day), "act_activity_type": activity_type,
              "act_hazardous_area_id": area_id, "act_asset": "manual",
              "act_start_date": (day - dt.timedelta(days=20)).isoformat(),
              "act_status": "ongoing", "act_geo": (Point(x, y), 3.0)}
    release = "cleared" if activity_type in ("clearance", "bac") else "reduced"
    repeats = {
        "release": [{"rel_release": release, "rel_method": "manual",
                     "rel_depth_cm": 13 if release == "cleared" else None,
                     "rel_qa_passed": "yes" if release == "cleared" else None,
                     "rel_geo": (strip, 2.5)}],
        "item": [{"item_category": "AP_mine", "item_model": "PMN-2", "item_condition": "armed",
                  "item_depth_cm": 5, "item_disposal": "destroyed_in_situ", "item_quantity": 1,
                  "item_geo": (Point(x + 0.0002 * (k + 1), y + 0.0003), 2.0)}
                 for k in range(items)],
    }
    for r in repeats["release"]:
        for k in [k for k, v in r.items() if v is None]:
            del r[k]
    return Submission(key=key, instance_id=key, form_id="sg_clearance", version=FORM_VERSION,
                      values=values, repeats=repeats, submitted_at=_ts(day, i), where="")


def eod(i: int, org: str = "ORG-1", seed: int = 0, day: dt.date = DAY) -> Submission:
    x, y = _place(i, seed)
    key = _uuid("eod", i, seed)
    values = {**_header(i, org, day), "act_start_date": day.isoformat(),
              "act_end_date": day.isoformat(), "act_status": "completed", "act_asset": "eod",
              "act_geo": (Point(x, y), 5.0)}
    repeats = {"item": [{"item_category": "UXO", "item_model": "122mm rocket",
                         "item_condition": "damaged", "item_disposal": "removed_and_destroyed",
                         "item_quantity": 1, "item_geo": (Point(x, y), 5.0)}]}
    return Submission(key=key, instance_id=key, form_id="sg_eod", version=FORM_VERSION,
                      values=values, repeats=repeats, submitted_at=_ts(day, i), where="")


def accident(i: int, org: str = "ORG-1", seed: int = 0, day: dt.date = DAY) -> Submission:
    x, y = _place(i, seed)
    key = _uuid("acc", i, seed)
    values = {**_header(i, org, day), "acc_device_category": "AP_mine",
              "acc_context": "civilian", "acc_activity_at_time": "herding",
              "acc_geo": (Point(x, y), 10.0)}
    repeats = {"victim": [
        {"vic_outcome": "injured", "vic_sex": "male", "vic_age": 34, "vic_status": "civilian",
         "vic_name": "A. Aliyev", "vic_date_of_birth": "1991-03-04", "vic_address": "Fuzuli"},
        {"vic_outcome": "killed", "vic_sex": "female", "vic_age": 12, "vic_status": "civilian"},
    ]}
    return Submission(key=key, instance_id=key, form_id="sg_accident", version=FORM_VERSION,
                      values=values, repeats=repeats, submitted_at=_ts(day, i), where="")


def eore(i: int, org: str = "ORG-1", seed: int = 0, day: dt.date = DAY) -> Submission:
    x, y = _place(i, seed)
    key = _uuid("eore", i, seed)
    values = {**_header(i, org, day), "eore_method": "school", "eore_girls": 12,
              "eore_boys": 15, "eore_women": 2, "eore_men": 1, "eore_geo": (Point(x, y), 6.0)}
    return Submission(key=key, instance_id=key, form_id="sg_eore", version=FORM_VERSION,
                      values=values, submitted_at=_ts(day, i), where="")


def qa(i: int, activity_id: str, org: str = "ORG-1", seed: int = 0,
       day: dt.date = DAY) -> Submission:
    key = _uuid("qa", i, seed)
    values = {**_header(i, org, day), "qa_activity_id": activity_id, "qa_kind": "QA",
              "qa_result": "pass", "qa_nonconformities": 0, "qa_notes": "marking in place"}
    return Submission(key=key, instance_id=key, form_id="sg_qa", version=FORM_VERSION,
                      values=values, submitted_at=_ts(day, i), where="")


def _ts(day: dt.date, i: int) -> str:
    t = dt.datetime(day.year, day.month, day.day, 8, tzinfo=dt.UTC) + dt.timedelta(seconds=i)
    return t.isoformat().replace("+00:00", "Z")
