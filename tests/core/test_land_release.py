"""Land release rules (IMAS 07.11 practice, docs/domain.md §2): each row is a story of reports and
the outcome the rules demand. Areas are fractions of a ~0.94 km² test area."""

import pytest
from helpers import activity, area_box, load, point, rec, release

from safeground.errors import TransitionError


def _ev(eid, date, where, category="eo_observed"):
    return rec("evidence", eid, date, where, hazardous_area_id="HA-1", category=category,
               source="observed", reliability="high")


ALLOWED = [
    # (story, expected classification, status, cancelled, reduced, cleared share of original)
    ("NTS cancels half an SHA",
     [activity("A1", "nts", "2021-02-01"),
      release("L1", "A1", "cancelled", "2021-02-01", area_box(0, 0.5))],
     "SHA", "open", (0.5, 0, 0)),
    ("TS on an SHA finds an item: it becomes a CHA, the rest is reduced",
     [activity("A1", "ts", "2021-02-01", status="ongoing"),
      rec("ordnance", "EO1", "2021-02-03", point(0.9, 0.9), activity_id="A1",
          category="AP_mine", disposal="destroyed_in_situ"),
      release("L1", "A1", "reduced", "2021-02-10", area_box(0, 0.6))],
     "CHA", "worked_on", (0, 0.6, 0)),
    ("direct evidence turns an SHA into a CHA",
     [_ev("E1", "2021-02-01", point(0.5, 0.5), "accident")], "CHA", "open", (0, 0, 0)),
    ("indirect evidence leaves an SHA suspected",
     [_ev("E1", "2021-02-01", point(0.5, 0.5), "verbal")], "SHA", "open", (0, 0, 0)),
    ("survey then clearance of the rest closes the area",
     [_ev("E1", "2021-02-01", point(0.8, 0.5)),
      activity("A1", "nts", "2021-02-02"),
      release("L1", "A1", "cancelled", "2021-02-02", area_box(0, 0.3)),
      activity("A2", "ts", "2021-02-10"),
      release("L2", "A2", "reduced", "2021-02-10", area_box(0.3, 0.6)),
      activity("A3", "clearance", "2021-03-01"),
      release("L3", "A3", "cleared", "2021-03-20", area_box(0.6, 1.0))],
     "CHA", "closed", (0.3, 0.3, 0.4)),
    ("new direct evidence reopens a closed area",
     [activity("A1", "nts", "2021-02-01"),
      release("L1", "A1", "cancelled", "2021-02-01", area_box()),
      _ev("E1", "2021-06-01", point(0.5, 0.5), "accident")],
     "CHA", "open", (1.0, 0, 0)),
]


@pytest.mark.parametrize("story,reports,cls,status,shares", ALLOWED, ids=[a[0] for a in ALLOWED])
def test_allowed_transitions(with_area, story, reports, cls, status, shares):
    out = load(with_area, reports)
    assert not out.refused, out.refused
    a = with_area.get("hazardous_area", "HA-1")
    assert (a["classification"], a["status"]) == (cls, status)
    for kind, share in zip(("cancelled", "reduced", "cleared"), shares, strict=True):
        assert a[f"{kind}_m2"] == pytest.approx(share * a["original_m2"], rel=0.02, abs=1)
    balance = a["original_m2"] + a["reopened_m2"] - a["cancelled_m2"] - a["reduced_m2"] \
        - a["cleared_m2"] - a["remaining_m2"]
    assert abs(balance) < 1e-3


REFUSED = [
    ("a cancelled part cannot later be cleared",
     [_ev("E1", "2021-01-20", point(0.9, 0.9)), activity("A1", "nts", "2021-02-01"),
      release("L1", "A1", "cancelled", "2021-02-01", area_box(0, 0.5)),
      activity("A2", "clearance", "2021-03-01")],
     release("L2", "A2", "cleared", "2021-03-10", area_box(0.2, 0.7)), "LR_ALREADY_RELEASED"),
    ("clearance of a suspected (SHA) area",
     [activity("A1", "clearance", "2021-02-01")],
     release("L1", "A1", "cleared", "2021-02-05", area_box()), "LR_CLEARANCE_ON_SHA"),
    ("TS cannot cancel",
     [activity("A1", "ts", "2021-02-01")],
     release("L1", "A1", "cancelled", "2021-02-05", area_box(0, 0.2)), "LR_METHOD_MISMATCH"),
    ("NTS cannot cancel over direct evidence",
     [_ev("E1", "2021-01-20", point(0.1, 0.1)), activity("A1", "nts", "2021-02-01")],
     release("L1", "A1", "cancelled", "2021-02-05", area_box(0, 0.5)),
     "LR_CANCEL_OVER_DIRECT_EVIDENCE"),
    ("a closed area takes no more release",
     [activity("A1", "nts", "2021-02-01"),
      release("L1", "A1", "cancelled", "2021-02-01", area_box())],
     release("L2", "A1", "cancelled", "2021-02-05", area_box(0, 0.1)), "LR_AREA_CLOSED"),
    ("cleared land must have passed QA",
     [_ev("E1", "2021-01-20", point(0.1, 0.1)), activity("A1", "clearance", "2021-02-01")],
     release("L1", "A1", "cleared", "2021-02-05", area_box(0, 0.5), qa_passed=False),
     "LR_QA_REQUIRED"),
    ("a release polygon outside the area",
     [activity("A1", "nts", "2021-02-01")],
     release("L1", "A1", "cancelled", "2021-02-05", area_box(2, 3)), "LR_OUTSIDE_AREA"),
    ("the perimeter cannot change after release",
     [activity("A1", "nts", "2021-02-01"),
      release("L1", "A1", "cancelled", "2021-02-01", area_box(0, 0.3))],
     rec("hazardous_area", "HA-1", "2021-03-01", area_box(0, 2), classification="SHA",
         contamination=["AP"]), "LR_GEOMETRY_AFTER_RELEASE"),
]


@pytest.mark.parametrize("story,before,report,code", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_transitions(with_area, story, before, report, code):
    load(with_area, before)
    area_before = with_area.get("hazardous_area", "HA-1")
    res = with_area.submit([report], user="alice")
    out = with_area.approve(res.accepted, user="bob")
    assert out.approved == []
    assert out.refused[0][1][0]["code"] == code
    assert with_area.get("hazardous_area", "HA-1") == area_before


def test_engine_refusal_is_a_coded_transition_error():
    from safeground.record import land_release as lr
    from safeground.record.vocabulary import ActivityType, HazardClass, ReleaseKind
    from safeground.settings import Settings

    state = lr.open_area("HA-X", HazardClass.SHA, area_box())
    with pytest.raises(TransitionError) as e:
        lr.release(state, kind=ReleaseKind.CLEARED, activity_type=ActivityType.CLEARANCE,
                   geometry=area_box(), date=None, report_id=1, depth_cm=20, qa_passed=True,
                   settings=Settings())
    assert e.value.code == "LR_CLEARANCE_ON_SHA" and e.value.http_status == 409
