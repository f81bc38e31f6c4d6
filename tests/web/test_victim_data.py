"""Victims' personal data is protected by what it is, not by how it was spelt.

Victim reports go in in every spelling of their type and field names and every way of failing
the gate (a trailing space, capitals, ``Name`` / ``Date of birth`` columns, aliases, a dangling
accident, a bad, future or out-of-order birth date, an unknown type, a birth date in another
type's report), through the JSON API, a CSV and a GeoJSON file uploaded to the API and the
command line's importer, each carrying sentinel values (a name, birth dates, an address) found
nowhere else. Then every GET route of the app — API, OGC API, exports, web pages — is asked,
with its path parameters filled from the record, as every role: no response carries a
sentinel except to a ``victim_data`` user, and each response that carries one to that user is
written to the audit trail (``victim_read``).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from itertools import product

import pytest
from fastapi.routing import APIRoute
from websupport import build_site

from safeground.record.vocabulary import ReportStatus, ReportType
from safeground.web.app import route_table

NAME = "Zorbulat Quenvix"
ADDRESS = "17 Yarrowick Close"
BIRTH = "1931-07-23"
BAD_BIRTH = "23/07/1931"
FUTURE_BIRTH = "2099-07-23"
LATE_BIRTH = "2021-01-13"        # after its report's date of information (2021-01-02)
SENTINELS = (NAME, ADDRESS, BIRTH, BAD_BIRTH, FUTURE_BIRTH, LATE_BIRTH, "Zorbulat", "Yarrowick")
#: every role, anonymous included: (name or None, may read victims' data)
WHO = [(None, False), ("visitor", False), ("clerk", False), ("analyst", False),
       ("chief", False), ("root", False), ("va", True)]


def _victim(oid: str, **kw) -> dict:
    rec = {"report_type": "victim", "object_id": oid, "date_of_information": "2021-01-14",
           "organisation": "ORG-ANAMA", "author": "J. Doe", "accident_id": "ACC-001",
           "outcome": "injured", "sex": "female", "status": "civilian", "age": 40,
           "name": NAME, "date_of_birth": BIRTH, "address": ADDRESS}
    rec.update(kw)
    return rec


def _renamed(rec: dict, names: dict[str, str]) -> dict:
    return {names.get(k, k): v for k, v in rec.items()}


SPELT = {"name": "Name", "date_of_birth": "Date_of_birth", "address": "Address"}
API_RECORDS = [
    # rejected (dangling accident) in every spelling of the type and the names
    _victim("VIC-S01", report_type="victim ", accident_id="ACC-NOPE"),
    _victim("VIC-S02", report_type="Victim", accident_id="ACC-NOPE"),
    _renamed(_victim("VIC-S03", accident_id="ACC-NOPE"), SPELT),
    _renamed(_victim("VIC-S04", report_type=" VICTIM", accident_id="ACC-NOPE"),
             {"name": "Full Name", "date_of_birth": "date-of-birth", "address": "Home address"}),
    _victim("VIC-S05", report_type="casualty", accident_id="ACC-NOPE"),
    # rejected for the birth date itself: its problem must not repeat it
    _victim("VIC-S06", date_of_birth=BAD_BIRTH),
    _victim("VIC-S07", date_of_birth=FUTURE_BIRTH),
    _victim("VIC-S08", date_of_birth=LATE_BIRTH, date_of_information="2021-01-02"),
    # a type nobody knows, and a birth date and address in another type's report
    _victim("VIC-S09", report_type="Victimm"),
    {"report_type": "organisation", "object_id": "ORG-S10", "date_of_information": "2021-01-14",
     "organisation": "ORG-ANAMA", "author": "J. Doe", "kind": "ngo", "name": NAME,
     "Date of birth": BIRTH, "address": ADDRESS},
    # taken in: one approved below, one left in the review queue
    _renamed(_victim("VIC-S11", report_type="Victim "), SPELT),
    _renamed(_victim("VIC-S12", report_type="victim", outcome="killed"),
             {"name": "full_name", "date_of_birth": "dob", "address": "home_address"}),
]
CSV = ("Report Type,Object ID,Date of information,Organisation,Author,Accident_ID,Outcome,Sex,"
       "Status,Name,Date of birth,Address\n"
       f"Victim ,VIC-C01,2021-01-14,ORG-ANAMA,J. Doe,ACC-NOPE,injured,male,civilian,{NAME},"
       f"{BIRTH},{ADDRESS}\n"
       f"victim,VIC-C02,2021-01-14,ORG-ANAMA,J. Doe,ACC-001,injured,male,civilian,{NAME},"
       f"{BAD_BIRTH},{ADDRESS}\n")
GEOJSON = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "geometry": None, "properties": {
        "report_type": "VICTIM", "object_id": "VIC-G01", "date_of_information": "2021-01-14",
        "organisation": "ORG-ANAMA", "author": "J. Doe", "accident_id": "ACC-NOPE",
        "outcome": "killed", "sex": "male", "status": "civilian", "Name": NAME,
        "Date-of-birth": BIRTH, "ADDRESS": ADDRESS}}]}


def _found(body: bytes) -> set[str]:
    """The sentinels in a response (the members of a zip file too: xlsx)."""
    texts = [body]
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            texts += [z.read(n) for n in z.namelist()]
    return {s for s in SENTINELS for t in texts if s.encode() in t}


@pytest.fixture(scope="module")
def victims(tmp_path_factory):
    """A site of its own holding the sentinel reports; the submitters' answers with it."""
    from safeground.intake.importer import import_path

    tmp = tmp_path_factory.mktemp("victims")
    site = build_site(f"sqlite:///{tmp}/record.sqlite")
    clerk = site.as_user("clerk")
    answers = [clerk.post("/api/v1/reports", json={"records": API_RECORDS})]
    answers.append(clerk.post("/api/v1/imports", files={"file": ("people.csv", CSV.encode())}))
    answers.append(clerk.post("/api/v1/imports", files={
        "file": ("people.geojson", json.dumps(GEOJSON).encode())}))
    (tmp / "field.csv").write_text(CSV.replace("VIC-C0", "VIC-K0"))
    summary = import_path(site.ledger, tmp / "field.csv", "clerk", progress=False,
                          rejects_path=tmp / "field.rejects.csv")
    taken = [r for r in site.ledger.reports(status=ReportStatus.SUBMITTED)
             if r.object_id == "VIC-S11"]
    assert len(taken) == 1 and not site.ledger.approve([taken[0].id], "chief").refused
    yield site, answers, summary
    site.ledger.db.close()


def test_every_spelling_is_known_for_what_it_is(victims):
    site, answers, summary = victims
    for r in answers:
        assert r.status_code == 201, r.text
    sent = answers[0].json()
    assert len(sent["accepted"]) == 2 and len(sent["rejected"]) == len(API_RECORDS) - 2
    stored = {r.object_id: r for r in site.ledger.reports(limit=100_000)
              if r.object_id.startswith(("VIC-", "ORG-S"))}
    assert set(stored) >= {"VIC-S01", "VIC-C01", "VIC-C02", "VIC-G01", "VIC-K01", "VIC-K02"}
    for oid, rep in stored.items():
        if oid.startswith("VIC-") and oid != "VIC-S09" and oid[4:] not in ("001", "002"):
            assert rep.type == ReportType.VICTIM, (oid, rep.type)
            assert "name" in rep.payload and "Name" not in rep.payload, (oid, rep.payload)
    assert stored["VIC-S09"].type == "victimm"
    assert stored["VIC-S11"].status is ReportStatus.APPROVED
    assert stored["VIC-S12"].status is ReportStatus.SUBMITTED
    codes = {p["code"] for r in sent["rejected"] for p in r["problems"]}
    assert {"REF_UNKNOWN", "DATE_INVALID", "DATE_FUTURE", "DATE_ORDER",
            "REPORT_TYPE_UNKNOWN", "FIELD_UNKNOWN"} <= codes
    # problems name the field, never the value
    for r in answers:
        assert _found(r.content) == set(), r.text
    assert not _found(json.dumps(summary.to_dict()).encode())
    order = next(p for r in sent["rejected"] for p in r["problems"] if p["code"] == "DATE_ORDER")
    assert "date_of_birth" in order["message"] and LATE_BIRTH not in order["message"]


def _samples(site) -> dict[str, list[str]]:
    """Values for each path parameter, from the record (and the sentinel reports)."""
    from safeground.web.mapview import LAYERS
    from safeground.web.ogc import COLLECTIONS

    ledger = site.ledger
    reps = ledger.reports(limit=100_000)
    mine = [r for r in reps if r.object_id.startswith(("VIC-", "ORG-S"))]
    objects = {t: [o["id"] for o in ledger.objects(t)][:2] for t in ReportType}
    return {
        "report_id": [str(r.id) for r in mine] + [str(reps[0].id)],
        "object_id": sorted({r.object_id for r in mine} | {"VIC-001", "ACC-001", "HA-001"}),
        "rtype": [t.value for t in ReportType],
        "pairs": [(t.value, i) for t, ids in objects.items() for i in ids]
                 + [("victim", r.object_id) for r in mine],
        # each collection and map layer with ids of its own type (and one of another)
        "collection_id": [(c, f) for c in COLLECTIONS
                          for f in [*objects[COLLECTIONS[c].rtype], "VIC-001"]],
        "layer": [(c, f) for c in LAYERS for f in [*objects[LAYERS[c]], "VIC-001"]],
        "settlement_id": objects[ReportType.SETTLEMENT],
        "name": ["gantt", "va"],
        "job_id": ["no-such-job"],
        "z": ["0"], "x": ["0"], "y": ["0"],      # map tiles
    }


QUERIES = {
    "/api/v1/reports": ["", "status=rejected", "status=submitted", "status=approved",
                        "type=victim", "type=Victim", "status=rejected&type=victim"],
    "/api/v1/programme-report": [f"start=2020-01-01&format={f}" for f in ("html", "json",
                                                                           "xlsx")],
    "/api/v1/exports/land-release-summary": ["", "format=csv"],
    "/api/v1/exports/geopackage": [""],
    "/audit": ["", "action=victim_read", "action=submit"],
}


def _urls(site) -> list[str]:
    s = _samples(site)
    urls = []
    for method, path, route in route_table(site.app):
        if method != "GET" or not isinstance(route, APIRoute):
            continue
        names = re.findall(r"\{(\w+)\}", path)
        if "rtype" in names and "object_id" in names:
            combos = [dict(zip(("rtype", "object_id"), p, strict=True)) for p in s["pairs"]]
        elif "collection_id" in names or "layer" in names:
            key = "collection_id" if "collection_id" in names else "layer"
            combos = [{key: c, "feature_id": f} for c, f in s[key]]
            if "feature_id" not in names:
                combos = [{key: c} for c in dict.fromkeys(c[key] for c in combos)]
        else:
            combos = [dict(zip(names, vals, strict=True)) for vals in
                      product(*(s[n] for n in names))]
        for combo in combos:
            url = re.sub(r"\{(\w+)\}", lambda m, c=combo: c[m.group(1)], path)
            for q in QUERIES.get(path, [""]):
                urls.append(f"{url}?{q}" if q else url)
    return urls


def test_no_route_gives_victims_data_to_any_role_but_victim_data_and_each_read_is_audited(
        victims):
    site, _, _ = victims
    urls = _urls(site)
    assert len(urls) > 200
    assert any(u.startswith("/api/v1/reports/") for u in urls)
    assert any(u.startswith("/ogc/collections/accidents/items") for u in urls)
    assert "/review" in urls and "/api/v1/review" in urls
    leaks, unaudited, seen = [], [], set()
    for who, reader in WHO:
        c = site.as_user(who) if who else site.client()
        for url in urls:
            before = len(site.audit("victim_read")) if reader else 0
            r = c.get(url, follow_redirects=False)
            assert r.status_code < 500, (who, url, r.text[:300])
            found = _found(r.content)
            if found and not reader:
                leaks.append((who, url, sorted(found)))
            if found and reader:
                seen |= found
                if len(site.audit("victim_read")) == before:
                    unaudited.append((url, sorted(found)))
    assert leaks == []
    assert unaudited == []
    # the victim_data user did see them: the scan can find what it looks for
    assert {NAME, ADDRESS, BIRTH} <= seen
    for value in (BAD_BIRTH, FUTURE_BIRTH, LATE_BIRTH):   # kept in the stored payload
        assert value in seen


def test_others_are_told_what_was_withheld_and_the_victim_data_user_reads_it_all(victims):
    site, _, _ = victims
    rejected = {r.object_id: r.id for r in site.ledger.reports(status=ReportStatus.REJECTED)}
    for oid in ("VIC-S01", "VIC-S03", "VIC-S09", "ORG-S10", "VIC-C01", "VIC-G01"):
        rid = rejected[oid]
        body = site.as_user("analyst").get(f"/api/v1/reports/{rid}").json()
        assert body["redacted"] and "payload" in body, oid
        assert not {"name", "date_of_birth", "address"} & set(body["payload"]), oid
        before = len(site.audit("victim_read"))
        full = site.as_user("va").get(f"/api/v1/reports/{rid}").json()
        assert "redacted" not in full and NAME in json.dumps(full["payload"]), oid
        reads = site.audit("victim_read")[before:]
        assert len(reads) == 1 and reads[0]["detail"]["reports"] == [str(rid)]
    # an organisation's own name is no personal data: shown, unless the report also holds
    # victims' data (a birth date), as the rejected ORG-S10 does
    org = site.as_user("analyst").get("/api/v1/objects/organisation/ORG-ANAMA").json()
    assert org["properties"]["name"] == "ANAMA"
