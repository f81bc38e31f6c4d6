"""A small built-in example programme: two districts, five settlements, eight hazardous areas
and the reports a year of work produces. ``make demo`` loads it through the normal report path
when no scenario is generated; the tests use it as a realistic fixture.

Town positions and pre-conflict populations are from GeoNames (CC BY 4.0); all hazardous areas,
activities, items and casualties are invented.
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import box

ORG = "ANAMA"


def _r(rtype: str, oid: str, date: str, geometry: Any = None, org: str = ORG,
       author: str = "field.officer", **payload: Any) -> dict[str, Any]:
    rec = {"report_type": rtype, "object_id": oid, "date_of_information": date,
           "organisation": org, "author": author, **payload}
    if geometry is not None:
        rec["geometry"] = geometry
    return rec


def _square(lon: float, lat: float, half_deg: float) -> shapely.Polygon:
    return box(lon - half_deg, lat - half_deg, lon + half_deg, lat + half_deg)


def records() -> list[dict[str, Any]]:
    """The example programme's reports, in the order a records officer would enter them."""
    out: list[dict[str, Any]] = [
        _r("organisation", "ORG-ANAMA", "2020-11-15", name="ANAMA", kind="national_authority",
           country="AZ"),
        _r("organisation", "ORG-NGO1", "2020-11-20", name="Demining NGO", kind="ngo"),
        _r("team", "T-NTS1", "2020-11-20", organisation_id="ORG-ANAMA", name="NTS 1",
           asset="nts", size=4),
        _r("team", "T-TS1", "2020-11-20", organisation_id="ORG-NGO1", name="TS 1", asset="ts",
           size=8),
        _r("team", "T-MAN1", "2020-11-20", organisation_id="ORG-NGO1", name="Manual 1",
           asset="manual", size=10),
        _r("team", "T-DOG1", "2020-11-20", organisation_id="ORG-ANAMA", name="MDD 1",
           asset="dog", size=6),
        _r("admin_area", "ADM-AGHDAM", "2020-11-15", box(46.75, 39.85, 47.15, 40.15),
           name="Aghdam", level=2, pcode="AZ-AGA"),
        _r("admin_area", "ADM-FUZULI", "2020-11-15", box(46.85, 39.45, 47.25, 39.75),
           name="Fuzuli", level=2, pcode="AZ-FUZ"),
    ]
    towns = [("SET-AGHDAM", "Aghdam", 46.9301, 39.9925, 37_700, "ADM-AGHDAM"),
             ("SET-QUZANLI", "Quzanli", 47.0600, 40.0300, 9_000, "ADM-AGHDAM"),
             ("SET-FUZULI", "Fuzuli", 47.1431, 39.6008, 25_100, "ADM-FUZULI"),
             ("SET-HORADIZ", "Horadiz", 47.0330, 39.4500, 5_200, "ADM-FUZULI"),
             ("SET-ALIKHANLI", "Alikhanli", 46.9800, 39.6300, 2_400, "ADM-FUZULI")]
    for sid, name, lon, lat, pop, adm in towns:
        out.append(_r("settlement", sid, "2020-12-01", shapely.Point(lon, lat), name=name,
                      admin_area_id=adm, pre_conflict_population=pop,
                      displaced_population=int(pop * 0.95), returned_population=0,
                      return_status="not_returned"))
    areas = [("HA-001", "SET-AGHDAM", 46.945, 39.985, "SHA", ["AP", "AT"], "farmland"),
             ("HA-002", "SET-AGHDAM", 46.915, 40.005, "CHA", ["AP"], "built_up"),
             ("HA-003", "SET-QUZANLI", 47.050, 40.020, "SHA", ["ERW"], "pasture"),
             ("HA-004", "SET-FUZULI", 47.130, 39.610, "CHA", ["AP", "AT"], "road"),
             ("HA-005", "SET-FUZULI", 47.160, 39.590, "SHA", ["cluster", "ERW"], "farmland"),
             ("HA-006", "SET-HORADIZ", 47.045, 39.460, "SHA", ["AT"], "farmland"),
             ("HA-007", "SET-ALIKHANLI", 46.990, 39.640, "CHA", ["AP"], "water"),
             ("HA-008", "SET-ALIKHANLI", 46.965, 39.620, "SHA", ["ERW"], "pasture")]
    for hid, sid, lon, lat, cls, cont, use in areas:
        out.append(_r("hazardous_area", hid, "2020-12-10", _square(lon, lat, 0.004),
                      classification=cls, contamination=cont, settlement_id=sid, land_use=use,
                      beneficiaries=500, name=f"{hid} near {sid[4:].title()}"))
    out += [
        _r("evidence", "EV-001", "2020-12-10", shapely.Point(46.916, 40.006),
           hazardous_area_id="HA-002", category="eo_observed", source="observed",
           reliability="high", description="PMN-2 seen at field edge"),
        _r("evidence", "EV-002", "2020-12-10", shapely.Point(46.946, 39.986),
           hazardous_area_id="HA-001", category="verbal", source="verbal", reliability="medium"),
        _r("evidence", "EV-003", "2020-12-12", shapely.Point(47.131, 39.611),
           hazardous_area_id="HA-004", category="marking", source="observed",
           reliability="high"),
        _r("evidence", "EV-004", "2020-12-12", shapely.Point(46.991, 39.641),
           hazardous_area_id="HA-007", category="records_reliable", source="records",
           reliability="high"),
        # an accident, its victims and referrals
        _r("accident", "ACC-001", "2021-01-14", shapely.Point(47.0455, 39.4605),
           hazardous_area_id="HA-006", device_category="AT_mine", context="civilian",
           activity_at_time="driving a tractor"),
        _r("victim", "VIC-001", "2021-01-14", accident_id="ACC-001", outcome="killed",
           sex="male", age=46, status="civilian", activity_at_time="farming",
           name="(withheld)", address="Horadiz"),
        _r("victim", "VIC-002", "2021-01-14", accident_id="ACC-001", outcome="injured",
           sex="male", age=17, status="civilian", activity_at_time="farming"),
        _r("referral", "REF-001", "2021-01-20", victim_id="VIC-002", provider="Regional hospital",
           service="medical", status="completed"),
        _r("referral", "REF-002", "2021-02-15", victim_id="VIC-002",
           provider="Prosthetic centre", service="rehabilitation", status="in_progress"),
        # risk education
        _r("risk_education", "EORE-001", "2021-01-25", shapely.Point(47.03, 39.45),
           organisation_id="ORG-ANAMA", settlement_id="SET-HORADIZ", method="session",
           girls=34, boys=41, women=22, men=30),
        _r("risk_education", "EORE-002", "2021-02-03", shapely.Point(46.93, 39.99),
           organisation_id="ORG-NGO1", settlement_id="SET-AGHDAM", method="school",
           girls=120, boys=131),
    ]
    # NTS cancels part of HA-001 and all of HA-008
    out += [
        _r("activity", "ACT-NTS-001", "2021-02-10", shapely.Point(46.945, 39.985),
           activity_type="nts", organisation_id="ORG-ANAMA", team_id="T-NTS1",
           hazardous_area_id="HA-001", asset="nts", start_date="2021-02-08",
           end_date="2021-02-10", status="completed"),
        _r("land_release", "LR-001", "2021-02-10", box(46.941, 39.981, 46.945, 39.989),
           activity_id="ACT-NTS-001", hazardous_area_id="HA-001", release="cancelled",
           method="nts"),
        _r("activity", "ACT-NTS-002", "2021-02-12", shapely.Point(46.965, 39.620),
           activity_type="nts", organisation_id="ORG-ANAMA", team_id="T-NTS1",
           hazardous_area_id="HA-008", asset="nts", start_date="2021-02-11",
           end_date="2021-02-12", status="completed"),
        _r("land_release", "LR-002", "2021-02-12", _square(46.965, 39.620, 0.004),
           activity_id="ACT-NTS-002", hazardous_area_id="HA-008", release="cancelled",
           method="nts"),
    ]
    # TS on HA-005 finds a submunition (-> CHA) and reduces the east half
    out += [
        _r("activity", "ACT-TS-001", "2021-03-01", shapely.Point(47.16, 39.59),
           activity_type="ts", organisation_id="ORG-NGO1", team_id="T-TS1",
           hazardous_area_id="HA-005", asset="ts", start_date="2021-03-01", status="ongoing"),
        _r("ordnance", "EO-001", "2021-03-09", shapely.Point(47.158, 39.589),
           activity_id="ACT-TS-001", category="submunition", model="M77", condition="armed",
           depth_cm=5, disposal="destroyed_in_situ", quantity=1),
        _r("activity", "ACT-TS-001", "2021-03-20", activity_type="ts",
           organisation_id="ORG-NGO1", hazardous_area_id="HA-005", start_date="2021-03-01",
           end_date="2021-03-20", status="completed"),
        _r("land_release", "LR-003", "2021-03-20", box(47.160, 39.586, 47.164, 39.594),
           activity_id="ACT-TS-001", hazardous_area_id="HA-005", release="reduced",
           method="ts"),
    ]
    # manual clearance of HA-002 (CHA) in two parts, with items and QA; the area closes
    out += [
        _r("activity", "ACT-CLR-001", "2021-04-01", shapely.Point(46.915, 40.005),
           activity_type="clearance", organisation_id="ORG-NGO1", team_id="T-MAN1",
           hazardous_area_id="HA-002", asset="manual", start_date="2021-04-01",
           status="ongoing"),
        _r("ordnance", "EO-002", "2021-04-15", shapely.Point(46.9155, 40.0052),
           activity_id="ACT-CLR-001", category="AP_mine", model="PMN-2", condition="armed",
           depth_cm=8, disposal="destroyed_in_situ", quantity=3),
        _r("ordnance", "EO-003", "2021-05-02", shapely.Point(46.9130, 40.0030),
           activity_id="ACT-CLR-001", category="UXO", model="122 mm projectile",
           condition="damaged", depth_cm=20, disposal="removed_and_destroyed", quantity=1),
        _r("land_release", "LR-004", "2021-05-10", box(46.911, 40.001, 46.915, 40.009),
           activity_id="ACT-CLR-001", hazardous_area_id="HA-002", release="cleared",
           method="manual", depth_cm=20, qa_passed=True),
        _r("qa_visit", "QA-001", "2021-05-12", activity_id="ACT-CLR-001", kind="QC",
           result="pass", nonconformities=0),
        _r("land_release", "LR-005", "2021-06-20", box(46.915, 40.001, 46.919, 40.009),
           activity_id="ACT-CLR-001", hazardous_area_id="HA-002", release="cleared",
           method="manual", depth_cm=20, qa_passed=True),
        _r("activity", "ACT-CLR-001", "2021-06-20", activity_type="clearance",
           organisation_id="ORG-NGO1", hazardous_area_id="HA-002", start_date="2021-04-01",
           end_date="2021-06-20", status="completed"),
        _r("qa_visit", "QA-002", "2021-06-25", activity_id="ACT-CLR-001", kind="QA",
           result="pass", nonconformities=1, notes="marking incomplete at NE corner"),
        _r("settlement", "SET-AGHDAM", "2021-09-01", shapely.Point(46.9301, 39.9925),
           name="Aghdam", pre_conflict_population=37_700, returned_population=1_200,
           return_status="partial"),
    ]
    return out
