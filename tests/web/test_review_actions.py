"""The review queue acts on its proposals: a link accepted links (the accident acts on the
area and is in its history), bulk decisions with a note, per-report outcomes and live counts,
and the risk ranking's classification proposals brought in as draft reports."""

from __future__ import annotations

import csv
import datetime as dt
import json

from safeground.record.vocabulary import ReportStatus, ReportType

#: a point inside HA-001, a suspected area of the example programme
INSIDE_SHA = [46.945, 39.985]


def _accident(oid: str = "ACC-LINK", point=None) -> dict:
    return {"report_type": "accident", "object_id": oid, "date_of_information": "2024-05-01",
            "organisation": "ANAMA", "author": "field team", "device_category": "AP_mine",
            "context": "civilian",
            "geometry": {"type": "Point", "coordinates": point or INSIDE_SHA}}


def _submit(site, records, who="clerk") -> list[int]:
    r = site.as_user(who).post("/api/v1/reports", json={"records": records})
    assert r.status_code == 201, r.text
    assert not r.json()["rejected"], r.json()
    return r.json()["accepted"]


def test_accepting_a_link_proposal_links_the_accident_and_turns_the_area_cha(site):
    """On SQLite and on PostGIS (the one test of this module that changes ``site``)."""
    assert site.ledger.get(ReportType.HAZARDOUS_AREA, "HA-001")["classification"] == "SHA"
    [rid] = _submit(site, [_accident()])
    queue = site.as_user("chief").get("/api/v1/review").json()
    item = next(r for r in queue["reports"] if r["id"] == rid)
    assert item["proposal"]["action"] == "link" and item["proposal"]["target"] == "HA-001"
    waiting = queue["counts"]["waiting"]
    assert waiting == len(site.waiting) + 1
    r = site.as_user("chief").post("/api/v1/reports/approve",
                                   json={"ids": [rid], "links": {str(rid): "HA-001"}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["approved"] == [rid]
    assert body["counts"]["waiting"] == waiting - 1
    area = site.ledger.get(ReportType.HAZARDOUS_AREA, "HA-001")
    assert area["classification"] == "CHA"
    assert rid in [h.id for h in site.ledger.history("HA-001")]
    rep = site.ledger.report(rid)
    assert rep.payload["hazardous_area_id"] == "HA-001"
    assert rep.meta["accepted_link"]["by"] == "chief"
    assert site.ledger.get(ReportType.ACCIDENT, "ACC-LINK")["hazardous_area_id"] == "HA-001"
    assert any(e["target"] == f"report {rid}" for e in site.audit("link"))


def test_approving_without_the_link_leaves_the_area_as_it_was(fresh_site):
    site = fresh_site
    [rid] = _submit(site, [_accident("ACC-NOLINK")])
    r = site.as_user("chief").post("/api/v1/reports/approve", json={"ids": [rid]})
    assert r.json()["approved"] == [rid]
    assert site.ledger.get(ReportType.HAZARDOUS_AREA, "HA-001")["classification"] == "SHA"
    assert rid not in [h.id for h in site.ledger.history("HA-001")]


def test_a_link_that_does_not_apply_refuses_only_its_report(fresh_site):
    site = fresh_site
    rid_acc, = _submit(site, [_accident("ACC-X")])
    other = site.waiting[0]
    r = site.as_user("chief").post("/api/v1/reports/approve", json={
        "ids": [rid_acc, other], "links": {str(rid_acc): "HA-NOPE", str(other): "HA-001"}})
    out = {o["report_id"]: o for o in r.json()["outcomes"]}
    assert out[rid_acc]["outcome"] == "refused"
    assert out[rid_acc]["problems"][0]["code"] == "REF_UNKNOWN"
    assert out[other]["outcome"] == "refused"
    assert out[other]["problems"][0]["code"] == "LINK_NOT_APPLICABLE"
    assert site.ledger.report(rid_acc).status is ReportStatus.SUBMITTED
    assert "hazardous_area_id" not in site.ledger.report(rid_acc).payload


def test_bulk_reject_with_a_note_and_the_counts(fresh_site):
    site = fresh_site
    ids = _submit(site, [_accident("ACC-B1", [47.5, 40.5]), _accident("ACC-B2", [47.6, 40.6])])
    chief = site.as_user("chief")
    before = chief.get("/api/v1/review").json()["counts"]
    r = chief.post("/api/v1/reports/reject", json={"ids": ids, "note": "entered twice"})
    assert r.status_code == 200
    assert r.json()["rejected"] == 2
    assert r.json()["counts"]["waiting"] == before["waiting"] - 2
    assert r.json()["counts"]["rejected"] == before["rejected"] + 2
    assert {site.ledger.report(i).decision_note for i in ids} == {"entered twice"}


def test_the_review_page_offers_each_proposal_its_action(fresh_site):
    site = fresh_site
    [rid] = _submit(site, [_accident("ACC-PAGE")])
    c = site.client()
    c.post("/login", data={"name": "chief", "password": "chief-password"})
    page = c.get("/review").text
    assert f'id="report-{rid}"' in page
    assert "Link to HA-001 and approve" in page
    assert 'id="approve-selected"' in page and 'id="reject-selected"' in page
    waiting = site.as_user("chief").get("/api/v1/review").json()["counts"]["waiting"]
    assert f'data-waiting="{waiting}"' in page


def _ranking(site, path):
    """A ranking as ``safeground risk rank`` writes it, its proposals made by the evidence
    rules from the record's areas and evidence."""
    import geopandas as gpd

    from safeground.risk.classification import classify

    areas = site.ledger.objects(ReportType.HAZARDOUS_AREA)
    ev = site.ledger.objects(ReportType.EVIDENCE) + [
        {**a, "category": "accident", "reliability": "high"}
        for a in site.ledger.objects(ReportType.ACCIDENT)]
    metric = site.ledger.settings.utm_epsg
    a = gpd.GeoDataFrame({"object_id": [x["id"] for x in areas]},
                         geometry=[x["geometry"] for x in areas], crs=4326).to_crs(metric)
    e = gpd.GeoDataFrame({"object_id": [x["id"] for x in ev],
                          "category": [x["category"] for x in ev],
                          "reliability": [x.get("reliability") or "high" for x in ev],
                          "hazardous_area_id": [x.get("hazardous_area_id") for x in ev]},
                         geometry=[x["geometry"] for x in ev], crs=4326).to_crs(metric)
    table = classify(a, e)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["object_id", "rank", "mean_probability", "proposed", "score",
                    "direct_evidence", "drivers"])
        for i, row in table.iterrows():
            w.writerow([row["object_id"], i + 1, 0.1, row["proposed"], row["score"],
                        row["direct_evidence"], json.dumps(row["drivers"])])
    return table


def test_classification_proposals_arrive_as_drafts_for_an_approver(fresh_site, tmp_path):
    from safeground.web import create_app

    site = fresh_site
    # an accident inside the suspected HA-001, approved without a link: the record keeps the
    # area SHA, the evidence rules (evidence within their buffer counts) propose CHA
    [acc] = _submit(site, [_accident("ACC-NEAR")])
    assert site.as_user("chief").post("/api/v1/reports/approve",
                                      json={"ids": [acc]}).json()["approved"] == [acc]
    table = _ranking(site, tmp_path / "area-risk.csv")
    current = {a["id"]: a for a in site.ledger.objects(ReportType.HAZARDOUS_AREA)}
    differ = [r for _, r in table.iterrows() if r["proposed"] in ("SHA", "CHA")
              and current[r["object_id"]]["status"] != "closed"
              and current[r["object_id"]]["classification"] != r["proposed"]
              and not (r["proposed"] == "SHA" and r["direct_evidence"])]
    assert "HA-001" in [r["object_id"] for r in differ]
    site.app = create_app(site.ledger.settings, ledger=site.ledger, work_dir=tmp_path)
    site.forget("chief")
    chief = site.as_user("chief")
    assert site.as_user("clerk").post("/api/v1/review/classification-proposals") \
        .status_code == 403
    r = chief.post("/api/v1/review/classification-proposals")
    assert r.status_code == 200, r.text
    got = r.json()
    assert len(got["submitted"]) == len(differ)
    again = chief.post("/api/v1/review/classification-proposals").json()
    assert again["submitted"] == []          # the same ranking brings nothing twice
    queue = {x["id"]: x for x in chief.get("/api/v1/review").json()["reports"]}
    rid = next(i for i in got["submitted"] if site.ledger.report(i).object_id == "HA-001")
    item = queue[rid]
    assert item["submitted_by"] == "risk-model" and item["proposal"]["action"] == "update"
    assert any(w.startswith("classification:") for w in item["proposal"]["reasons"])
    assert "proposal_score" in item["basis"]
    out = chief.post("/api/v1/reports/approve", json={"ids": [rid]}).json()
    assert out["approved"] == [rid]
    oid = site.ledger.report(rid).object_id
    want = next(r["proposed"] for r in differ if r["object_id"] == oid)
    assert site.ledger.get(ReportType.HAZARDOUS_AREA, oid)["classification"] == want
    assert dt.date.today() == site.ledger.report(rid).date_of_information


def test_the_command_line_brings_the_proposals_in_as_an_approver(cli_accounts, tmp_path):
    from safeground import example
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.risk.cli import app
    from safeground.settings import Settings

    url = cli_accounts.url
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    res = ledger.submit(example.records(), user="alice")
    ledger.approve(res.accepted, user="bob")
    ranking = tmp_path / "area-risk.csv"
    ranking.write_text("object_id,rank,mean_probability,proposed,score,direct_evidence,drivers\n"
                       'HA-003,1,0.4,CHA,2.0,True,"[]"\n')
    refused = cli_accounts.run(app, ["propose", str(ranking)], user="alice")   # no decide
    assert refused.exit_code != 0
    r = cli_accounts.run(app, ["propose", str(ranking)], user="bob")
    assert r.exit_code == 0, r.output
    assert "1 classification proposals" in r.output
    [draft] = [x for x in ledger.reports(status=ReportStatus.SUBMITTED)
               if x.submitted_by == "risk-model"]
    assert (draft.object_id, draft.payload["classification"]) == ("HA-003", "CHA")
    assert ledger.approve([draft.id], "bob").approved == [draft.id]
    assert ledger.get(ReportType.HAZARDOUS_AREA, "HA-003")["classification"] == "CHA"
    ledger.db.close()


def test_the_command_line_approves_with_a_link(cli_accounts):
    from safeground import example
    from safeground.cli import app
    from safeground.record.ledger import Ledger
    from safeground.record.storage import Database
    from safeground.settings import Settings

    url = cli_accounts.url
    ledger = Ledger(Database.open(url), Settings(database_url=url))
    res = ledger.submit(example.records(), user="alice")
    ledger.approve(res.accepted, user="bob")
    [rid] = ledger.submit([_accident("ACC-CLI")], user="alice").accepted
    bad = cli_accounts.run(app, ["approve", str(rid), "--link", "HA-001"], user="bob")
    assert bad.exit_code != 0 and ledger.report(rid).status is ReportStatus.SUBMITTED
    r = cli_accounts.run(app, ["approve", str(rid), "--link", f"{rid}=HA-001"], user="bob")
    assert r.exit_code == 0, r.output
    assert ledger.get(ReportType.HAZARDOUS_AREA, "HA-001")["classification"] == "CHA"
    assert ledger.report(rid).meta["accepted_link"]["by"] == "bob"
    ledger.db.close()
