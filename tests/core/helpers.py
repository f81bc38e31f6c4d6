"""Small builders that read like the specification: a programme with one area, then reports."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import box

LON, LAT = 46.90, 39.90
D = 0.01  # ~850 m x 1100 m


def rec(rtype: str, oid: str, date: str, geometry: Any = None, **payload: Any) -> dict[str, Any]:
    r = {"report_type": rtype, "object_id": oid, "date_of_information": date,
         "organisation": "ANAMA", "author": "surveyor", **payload}
    if geometry is not None:
        r["geometry"] = geometry
    return r


def area_box(x0: float = 0.0, x1: float = 1.0, y0: float = 0.0, y1: float = 1.0):
    """A box given as fractions of the test area (0..1 on each axis)."""
    return box(LON + x0 * D, LAT + y0 * D, LON + x1 * D, LAT + y1 * D)


def point(fx: float, fy: float) -> shapely.Point:
    return shapely.Point(LON + fx * D, LAT + fy * D)


def base(cls: str = "SHA") -> list[dict[str, Any]]:
    return [
        rec("organisation", "ORG-1", "2021-01-01", name="ANAMA", kind="national_authority"),
        rec("hazardous_area", "HA-1", "2021-01-05", area_box(), classification=cls,
            contamination=["AP"]),
    ]


def activity(aid: str, atype: str, date: str, status: str = "completed",
             area: str = "HA-1") -> dict[str, Any]:
    return rec("activity", aid, date, activity_type=atype, organisation_id="ORG-1",
               hazardous_area_id=area, start_date=date, status=status)


def release(lid: str, act: str, kind: str, date: str, geom: Any, **kw: Any) -> dict[str, Any]:
    method = {"cancelled": "nts", "reduced": "ts", "cleared": "manual"}[kind]
    if kind == "cleared":
        kw.setdefault("depth_cm", 20)
        kw.setdefault("qa_passed", True)
    return rec("land_release", lid, date, geom, activity_id=act, hazardous_area_id="HA-1",
               release=kind, method=method, **kw)


def load(ledger, records, submitter: str = "alice", approver: str = "bob"):
    res = ledger.submit(records, user=submitter)
    assert not res.rejected, [p.message for r in res.rejected for p in r.problems]
    return ledger.approve(res.accepted, user=approver)


def programme() -> list[dict[str, Any]]:
    """One organisation, one area with an NTS activity, an accident and its victim."""
    return [*base(),
            activity("A1", "nts", "2021-02-01"),
            rec("accident", "ACC-1", "2021-02-20", point(0.5, 0.5), hazardous_area_id="HA-1",
                device_category="AP_mine", context="civilian"),
            rec("victim", "V1", "2021-02-20", accident_id="ACC-1", outcome="injured",
                sex="male", status="civilian")]
