"""The ledger: reports are the only way the record changes.

Runs on SQLite and PostGIS alike.
"""

import datetime as dt

import pytest
from helpers import activity, area_box, base, load, point, rec, release
from sqlalchemy import inspect

from safeground import example
from safeground.errors import ConflictError, NotFoundError
from safeground.record.summary import status
from safeground.record.vocabulary import ReportStatus


def test_submitted_reports_change_nothing_until_approved(ledger):
    res = ledger.submit(base(), user="alice")
    assert len(res.accepted) == 2 and not res.rejected
    assert ledger.objects("hazardous_area") == []
    assert {r.status for r in ledger.reports()} == {ReportStatus.SUBMITTED}
    ledger.approve(res.accepted, user="bob")
    area = ledger.get("hazardous_area", "HA-1")
    assert area["classification"] == "SHA" and area["status"] == "open"
    assert area["remaining_m2"] == pytest.approx(area["original_m2"])
    assert 800_000 < area["original_m2"] < 1_000_000  # ~850 m x 1,110 m, in UTM 38N


def test_approver_must_differ_from_submitter(ledger):
    res = ledger.submit(base(), user="alice")
    out = ledger.approve(res.accepted, user="alice")
    assert out.approved == []
    assert [(rid, [p["code"] for p in probs]) for rid, probs in out.refused] == [
        (rid, ["APPROVER_IS_SUBMITTER"]) for rid in res.accepted]
    assert ledger.objects("hazardous_area") == []
    assert {ledger.report(rid).status for rid in res.accepted} == {ReportStatus.SUBMITTED}


def test_the_two_person_rule_refuses_own_reports_one_by_one(ledger):
    mine = ledger.submit(base()[:1], user="alice").accepted
    theirs = ledger.submit(base()[1:], user="carol").accepted
    out = ledger.approve(mine + theirs, user="alice")
    assert out.approved == theirs
    assert [rid for rid, _ in out.refused] == mine
    assert ledger.report(mine[0]).status is ReportStatus.SUBMITTED


def test_decisions_are_recorded_once(ledger):
    res = ledger.submit(base(), user="alice")
    ledger.approve(res.accepted[:1], user="bob")
    assert ledger.reject(res.accepted[1:], user="carol", note="wrong polygon") == 1
    first, second = ledger.report(res.accepted[0]), ledger.report(res.accepted[1])
    assert (first.status, first.decided_by) == (ReportStatus.APPROVED, "bob")
    assert (second.status, second.decision_note) == (ReportStatus.REJECTED, "wrong polygon")
    again = ledger.approve([*res.accepted, 999_999], user="dave")
    assert again.approved == [] and again.refused == []
    assert again.already_decided == [(res.accepted[0], "approved", "bob"),
                                     (res.accepted[1], "rejected", "carol")]
    assert again.not_found == [999_999]
    assert [(o["report_id"], o["outcome"]) for o in again.outcomes([*res.accepted, 999_999])] \
        == [(res.accepted[0], "already_decided"), (res.accepted[1], "already_decided"),
            (999_999, "not_found")]
    assert ledger.report(res.accepted[0]).decided_by == "bob"   # nothing decided twice
    with pytest.raises(ConflictError) as e:
        ledger.reject(res.accepted[1:], user="bob", note="again")
    assert e.value.code == "REPORT_NOT_SUBMITTED"
    with pytest.raises(NotFoundError):
        ledger.reject([999_999], user="bob", note="none")


def test_attributes_merge_by_date_of_information(with_area):
    ledger = with_area
    load(ledger, [rec("hazardous_area", "HA-1", "2021-03-01", beneficiaries=900,
                      land_use="farmland", classification="SHA", contamination=["AP"])])
    # an older report entered late must not overwrite the newer beneficiaries figure
    load(ledger, [rec("hazardous_area", "HA-1", "2021-02-01", beneficiaries=100,
                      name="old paper record", classification="SHA", contamination=["AP"])])
    area = ledger.get("hazardous_area", "HA-1")
    assert area["beneficiaries"] == 900
    assert area["name"] == "old paper record"  # it still adds what nobody said later
    assert ledger.get("hazardous_area", "HA-1", as_of=dt.date(2021, 2, 15))["beneficiaries"] == 100


def test_late_direct_evidence_rebuilds_the_area(with_area):
    ledger = with_area
    load(ledger, [activity("ACT-1", "nts", "2021-02-01"),
                  release("LR-1", "ACT-1", "cancelled", "2021-02-01", area_box(0, 0.5))])
    # found in old paper: an item seen in the east half on 20 January
    load(ledger, [rec("evidence", "EV-1", "2021-01-20", point(0.75, 0.5),
                      hazardous_area_id="HA-1", category="eo_observed", source="observed",
                      reliability="high")])
    area = ledger.get("hazardous_area", "HA-1")
    assert area["classification"] == "CHA"
    assert area["cancelled_m2"] == pytest.approx(area["original_m2"] / 2, rel=0.01)
    assert ledger.get("hazardous_area", "HA-1", as_of=dt.date(2021, 1, 10))["classification"] \
        == "SHA"


def test_late_evidence_that_contradicts_a_cancellation_is_refused(with_area):
    ledger = with_area
    load(ledger, [activity("ACT-1", "nts", "2021-02-01"),
                  release("LR-1", "ACT-1", "cancelled", "2021-02-01", area_box(0, 0.5))])
    res = ledger.submit([rec("evidence", "EV-1", "2021-01-20", point(0.25, 0.5),
                             hazardous_area_id="HA-1", category="eo_observed",
                             source="observed", reliability="high")], user="alice")
    out = ledger.approve(res.accepted, user="bob")
    assert out.approved == []
    assert out.refused[0][1][0]["code"] == "LR_CANCEL_OVER_DIRECT_EVIDENCE"
    assert ledger.report(res.accepted[0]).status is ReportStatus.SUBMITTED
    assert ledger.get("hazardous_area", "HA-1")["classification"] == "SHA"


def test_links_are_real_foreign_keys(ledger):
    fks = {(t, fk["referred_table"]) for t in ("activities", "victims", "ordnance_items")
           for fk in inspect(ledger.db.engine).get_foreign_keys(t)}
    assert ("activities", "hazardous_areas") in fks
    assert ("victims", "accidents") in fks
    assert ("ordnance_items", "activities") in fks


def test_history_lists_linked_reports_in_date_order(with_area):
    ledger = with_area
    load(ledger, [activity("ACT-1", "ts", "2021-03-01", status="ongoing"),
                  release("LR-1", "ACT-1", "reduced", "2021-03-10", area_box(0, 0.3))])
    hist = ledger.history("HA-1")
    assert [r.type.value for r in hist] == ["hazardous_area", "activity", "land_release"]
    dates = [r.date_of_information for r in hist]
    assert dates == sorted(dates)
    with pytest.raises(NotFoundError):
        ledger.history("HA-404")


def test_example_programme_status(ledger):
    load(ledger, example.records(), submitter="records.officer", approver="ops.chief")
    s = status(ledger)
    assert s.areas_open == {"SHA": 2, "CHA": 4}
    assert s.areas_closed == 2
    assert s.items == {"AP_mine": 3, "UXO": 1, "submunition": 1}
    assert s.casualties["killed_civilian"] == 1 and s.casualties["injured_civilian"] == 1
    assert s.settlements == {"not_returned": 4, "partial": 1}
    assert s.released_m2["cleared"] > 600_000
    past = status(ledger, dt.date(2021, 3, 1))
    assert past.released_m2["cleared"] == 0 and past.areas_open["SHA"] == 3
    for a in ledger.objects("hazardous_area"):
        gap = (a["original_m2"] + a["reopened_m2"] - a["cancelled_m2"] - a["reduced_m2"]
               - a["cleared_m2"] - a["remaining_m2"])
        assert abs(gap) < 1e-3, a["id"]


def test_objects_where_filters_by_field_now_and_as_of(ledger):
    """``objects(..., where=...)`` gives the objects whose fields equal the values (a bound,
    indexed filter on the stored state; the same filter on a past state)."""
    load(ledger, example.records(), submitter="records.officer", approver="ops.chief")
    victims = ledger.objects("victim")
    accident = victims[0]["accident_id"]
    mine = ledger.objects("victim", where={"accident_id": accident})
    assert mine == [v for v in victims if v["accident_id"] == accident] and mine
    assert ledger.objects("victim", where={"accident_id": "no-such-accident"}) == []
    day = max(v["first_date"] for v in victims)
    assert ledger.objects("victim", day, {"accident_id": accident}) == [
        v for v in ledger.objects("victim", day) if v["accident_id"] == accident]
    with pytest.raises(ValueError):
        ledger.objects("victim", where={"no_such_field": 1})


def test_audit_trail_records_who_did_what(ledger):
    from sqlalchemy import select

    from safeground.record.storage.schema import audit_log

    load(ledger, base())
    with ledger.db.read() as conn:
        rows = conn.execute(select(audit_log.c.user, audit_log.c.action)).all()
    assert ("alice", "submit") in rows and ("bob", "approve") in rows
