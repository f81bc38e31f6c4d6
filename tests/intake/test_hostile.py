"""Hostile and malformed files: every one gives a coded answer, never a traceback or a 500,
and nothing is half-written.

``hostile.generate`` writes over a thousand damaged files of every format the importer reads
(seeded, into a temporary folder). Each goes through ``import_path`` in-process and through
``POST /api/v1/imports``; a sample goes through the ``safeground import`` command. For each:
either the whole file is refused with a catalogue code and the record holds not one report
more, or the import gives its normal summary and the record holds exactly the reports the
summary says it stored. ``importer.STRICT`` is set, so that an error no reader expected fails
the test instead of becoming IMPORT_FAILED.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import hostile
import pytest
from sqlalchemy import func, select

from safeground.intake import importer
from safeground.intake.cli import import_exit_code
from safeground.intake.errors import FileProblem
from safeground.intake.importer import import_path
from safeground.intake.limits import SafeZip, csv_rows, json_depth, load_json
from safeground.record.ledger import Ledger
from safeground.record.problems import CATALOGUE
from safeground.record.storage import Database
from safeground.record.storage.schema import reports
from safeground.settings import Settings

ORG = {"report_type": "organisation", "object_id": "ORG-1", "date_of_information": "2020-01-01",
       "organisation": "ORG-1", "author": "registrar", "name": "Field NGO", "kind": "ngo"}
#: the tester's smallest crash: a MultiPolygon with an empty second part
EMPTY_PART = {"type": "MultiPolygon", "coordinates": [
    [[[46.70, 39.60], [46.71, 39.61], [46.71, 39.60], [46.70, 39.60]]], []]}


sys.path.insert(0, str(Path(__file__).parents[1] / "web"))  # the web tests' programme
from websupport import build_site  # noqa: E402


def _record(tmp: Path, name: str) -> Ledger:
    led = Ledger(Database.open(f"sqlite:///{tmp}/{name}.sqlite"))
    led.approve(led.submit([ORG], user="registrar").accepted, user="approver")
    return led


def _count(ledger: Ledger) -> int:
    with ledger.db.read() as conn:
        return conn.execute(select(func.count()).select_from(reports)).scalar_one()


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return hostile.generate(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def strict(monkeypatch):
    monkeypatch.setattr(importer, "STRICT", True)


def test_the_generator_covers_every_format(cases):
    assert len(cases) >= 1000
    by_base = Counter(c.base for c in cases)
    assert set(by_base) == {"csv", "csv-xy", "reports", "geojson", "odk-zip", "odata",
                            "kobo-json", "kobo-csv", "survey123", "survey123-zip", "gpkg",
                            "shp-zip", "zip-csv", "zip-geojson", "zip-gpkg"}
    assert min(by_base.values()) >= 25, by_base
    # seeded: the same seed writes the same bytes
    assert len({c.path.name for c in cases}) == len(cases)


def test_every_hostile_file_in_process(cases, tmp_path, strict):
    ledger = _record(tmp_path, "record")
    outcomes: Counter[str] = Counter()
    failures = []
    for case in cases:
        before = _count(ledger)
        try:
            s = import_path(ledger, case.path, "alice", progress=False,
                            rejects_path=tmp_path / "rejects.csv")
        except Exception as exc:
            failures.append(f"{case.path.name} ({case.base}: {case.mutation}): "
                            f"{type(exc).__name__}: {str(exc)[:100]}")
            continue
        added = _count(ledger) - before
        if s.file_problem is not None:
            outcomes["refused"] += 1
            if s.file_problem.code not in CATALOGUE or added != 0 or s.stored != 0:
                failures.append(f"{case.path.name}: refused ({s.file_problem.code}) "
                                f"but {added} reports stored")
        else:
            outcomes["rows refused" if s.rejected else "taken in"] += 1
            gate_refused = s.stored - len(s.report_ids)
            if added != s.stored or gate_refused < 0 or \
                    len(s.report_ids) != s.accepted + s.needs_review:
                failures.append(f"{case.path.name}: {added} reports stored, the summary says "
                                f"{s.stored} ({s.accepted} + {s.needs_review} taken in)")
        if "IMPORT_FAILED" in s.codes:
            failures.append(f"{case.path.name}: IMPORT_FAILED")
    assert not failures, "\n".join(failures[:30])
    # the files exercise both sides: whole-file refusals and records taken in
    assert outcomes["refused"] >= 400 and outcomes["taken in"] >= 20, outcomes


def test_every_hostile_file_through_the_api(cases, site, strict):
    client = site.as_user("clerk")
    statuses: Counter[int] = Counter()
    failures = []
    for case in cases:
        before = _count(site.ledger)
        with case.path.open("rb") as fh:
            r = client.post("/api/v1/imports", files={"file": (case.path.name, fh)})
        statuses[r.status_code] += 1
        added = _count(site.ledger) - before
        body = r.json()
        if r.status_code == 201:
            if added != body["stored"]:
                failures.append(f"{case.path.name}: {added} stored, {body['stored']} said")
        elif r.status_code in (400, 422):
            if body["error"]["code"] not in CATALOGUE or added:
                failures.append(f"{case.path.name}: {r.status_code} {body['error']['code']}, "
                                f"{added} reports stored")
        else:
            failures.append(f"{case.path.name} ({case.base}: {case.mutation}): "
                            f"{r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures[:30])
    assert statuses[422] >= 400 and statuses[201] >= 100, statuses


def test_the_command_line_exit_codes(cases, tmp_path):
    """0: taken in; 1: some rows refused, the rest stored; 2: the file refused whole. With
    several files, the highest."""
    from typer.testing import CliRunner

    from safeground.cli import app

    probe = _record(tmp_path, "probe")
    want: dict[int, Path] = {}
    for case in cases:  # one file of each outcome, as an in-process import sees it
        s = import_path(probe, case.path, "alice", progress=False,
                        rejects_path=tmp_path / "r.csv")
        want.setdefault(import_exit_code(s), case.path)
        if len(want) == 3:
            break
    assert set(want) == {0, 1, 2}
    runner = CliRunner()
    for n, files in enumerate([[want[0]], [want[1]], [want[2]], [want[0], want[1]],
                               [want[2], want[0], want[1]]]):
        _record(tmp_path, f"cli{n}")
        out = runner.invoke(app, ["import", *map(str, files), "--no-progress", "--user", "al",
                                  "--db", f"sqlite:///{tmp_path}/cli{n}.sqlite"])
        code = max(import_exit_code(import_path(_record(tmp_path, f"p{n}{i}"), f, "al",
                                                progress=False, rejects_path=tmp_path / "r.csv"))
                   for i, f in enumerate(files))
        assert out.exit_code == code, (files, out.output[-800:])
        assert out.exception is None or isinstance(out.exception, SystemExit)


def test_the_command_line_as_a_process(cases, tmp_path):
    """A sample of the hostile files through ``safeground import``: no traceback, and 2 when
    one of them is refused whole."""
    sample = [c.path for c in cases[::45]]
    _record(tmp_path, "many")
    out = subprocess.run([sys.executable, "-m", "safeground.cli", "import", *map(str, sample),
                          "--no-progress", "--user", "alice",
                          "--db", f"sqlite:///{tmp_path}/many.sqlite"],
                         capture_output=True, text=True, timeout=600)
    assert "Traceback" not in out.stderr + out.stdout, out.stderr[-2000:]
    assert out.returncode == 2, out.stdout[-1000:]
    assert out.stdout.count("refused, nothing stored") >= 10


# ------------------------------------------------------------------- the limits one by one
def test_a_zip_bomb_is_refused_from_its_headers(ledger, tmp_path):
    bomb = tmp_path / "nts.zip"
    bomb.write_bytes(hostile.bomb_zip("nts.csv", 1024))  # 1 GiB of zeros in ~1 MB
    before = _count(ledger)
    s = import_path(ledger, bomb, "alice", progress=False)
    assert s.file_problem is not None and s.file_problem.code == "ARCHIVE_TOO_LARGE"
    assert _count(ledger) == before


def test_a_zip_whose_headers_lie_is_refused_while_reading(ledger, tmp_path):
    liar = tmp_path / "nts.zip"
    liar.write_bytes(hostile.bomb_zip("nts.csv", 300, declared=1024))
    s = import_path(ledger, liar, "alice", progress=False)
    assert s.file_problem is not None and s.file_problem.code == "ARCHIVE_CORRUPT"
    assert s.file_problem.where == "nts.zip:nts.csv"


def test_the_ratio_and_member_limits(ledger, tmp_path):
    ratio = tmp_path / "ratio.zip"
    ratio.write_bytes(hostile.bomb_zip("nts.csv", 40))
    s = import_path(ledger, ratio, "alice", progress=False)
    assert s.file_problem.code == "ARCHIVE_RATIO"
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(1_001):
            zf.writestr(f"t{i}.csv", "")
    assert import_path(ledger, many, "alice", progress=False).file_problem.code == \
        "ARCHIVE_TOO_MANY_MEMBERS"


def test_limits_hold_while_streaming(tmp_path):
    """Headers can lie: the same limits are measured on the bytes actually read."""
    path = tmp_path / "a.zip"
    rng = random.Random(5)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.csv", rng.randbytes(600_000).hex())  # 1.2 MB, compressed about half
        zf.writestr("b.csv", rng.randbytes(600_000).hex())
    with SafeZip(path, Settings()) as zf:
        zf.settings = Settings(intake_max_unpacked_bytes=2_000_000)  # as if headers said less
        zf.read("a.csv")
        with pytest.raises(FileProblem) as err:
            zf.read("b.csv")
    assert err.value.code == "ARCHIVE_TOO_LARGE"
    with SafeZip(path, Settings()) as zf:
        zf.settings = Settings(intake_max_ratio=1.5)
        with pytest.raises(FileProblem) as err:
            zf.read("a.csv")
    assert err.value.code == "ARCHIVE_RATIO" and err.value.problem.params["how"] == "read"


def test_encrypted_and_corrupt_members(ledger, tmp_path):
    from safeground.intake import field_exports as fx
    from safeground.intake import samples

    good = fx.odk_csv_zip([samples.nts(1, seed=3)], tmp_path / "good.zip").read_bytes()
    enc = tmp_path / "enc.zip"
    enc.write_bytes(hostile._patch_central(good, hostile._set_flag))
    assert import_path(ledger, enc, "alice", progress=False).file_problem.code == \
        "FILE_ENCRYPTED"
    bad = tmp_path / "bad.zip"
    bad.write_bytes(hostile._corrupt_deflate(random.Random(1), good))
    assert import_path(ledger, bad, "alice", progress=False).file_problem.code == \
        "ARCHIVE_CORRUPT"


def test_json_depth_and_size(tmp_path, ledger):
    assert json_depth(b'{"a": ["]]]]", {"b": "\\\\"}, [[1]]]}') == 4
    assert json_depth(b"[" * 100_000) == 100_000
    deep = tmp_path / "deep.geojson"
    deep.write_text('{"type": "FeatureCollection", "features": ' + "[" * 5000 + "]" * 5000 + "}")
    s = import_path(ledger, deep, "alice", progress=False)
    assert s.file_problem.code == "JSON_TOO_DEEP" and s.file_problem.params["value"] == 5001
    with pytest.raises(FileProblem) as err:
        load_json(b"[1, 2, 3]", "x.json", Settings(intake_max_json_bytes=4))
    assert err.value.code == "FILE_TOO_LARGE"


def test_a_huge_csv_cell_names_its_row():
    text = "a,b\n1,2\n3," + "x" * 2_000_000 + "\n"
    with pytest.raises(FileProblem) as err:
        list(csv_rows(text, "big.csv", Settings()))
    assert err.value.code == "CELL_TOO_LARGE" and err.value.problem.where == "big.csv row 3"
    assert len(list(csv_rows(text, "big.csv", Settings(intake_max_cell_chars=3_000_000)))) == 3


def test_a_multipolygon_with_an_empty_part_is_a_coded_rejection(ledger, tmp_path):
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": EMPTY_PART,
        "properties": {"report_type": "hazardous_area", "object_id": "HA-EMPTY-1",
                       "date_of_information": "2024-07-01", "organisation": "ORG-1",
                       "author": "surveyor", "classification": "SHA",
                       "contamination": ["AP"]}}]}
    path = tmp_path / "report.geojson"
    path.write_text(json.dumps(doc))
    s = import_path(ledger, path, "alice", progress=False)
    assert s.file_problem is None and s.rejected == 1 and s.stored == 1
    assert s.reasons == {"GEOM_UNPARSABLE": 1}
    assert import_exit_code(s) == 1


def test_too_many_vertices(ledger, tmp_path):
    import math

    ring = [[46.8 + 0.01 * math.cos(i / 200), 39.9 + 0.01 * math.sin(i / 200)]
            for i in range(1_001)]
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]},
        "properties": {"report_type": "hazardous_area", "object_id": "HA-V-1",
                       "date_of_information": "2024-07-01", "organisation": "ORG-1",
                       "author": "s", "classification": "SHA", "contamination": ["AP"]}}]}
    path = tmp_path / "long.geojson"
    path.write_text(json.dumps(doc))
    led = Ledger(ledger.db, Settings(max_vertices=1_000))
    s = import_path(led, path, "alice", progress=False)
    assert s.reasons == {"GEOM_TOO_MANY_VERTICES": 1}
    assert s.rejections[0][1][0].params == {"value": 1_002, "limit": 1_000}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The web tests' example programme, with the intake's organisation registered."""
    s = build_site(f"sqlite:///{tmp_path_factory.mktemp('site')}/site.sqlite")
    s.ledger.approve(s.ledger.submit([ORG], user="registrar").accepted, user="approver")
    yield s
    s.ledger.db.close()


@pytest.mark.parametrize("name", ["..", "a/..", ".", "a\\..", "/"])
def test_upload_names_that_name_no_file(site, name):
    r = site.as_user("clerk").post("/api/v1/imports",
                                         files={"file": (name, b"report_type\n")})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "UPLOAD_NAME_INVALID"


def test_a_refused_upload_is_a_422_envelope(site):
    r = site.as_user("clerk").post(
        "/api/v1/imports", files={"file": ("bomb.zip", hostile.bomb_zip("nts.csv", 512))})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "ARCHIVE_TOO_LARGE" and err["details"][0]["where"] == "bomb.zip"


def _reported(tmp: Path, kind: str) -> Path:
    """The files of the security review's report, one per crash it found."""
    from safeground.intake import field_exports as fx
    from safeground.intake import samples

    sub = samples.nts(4242, seed=9)
    if kind == "csv header not UTF-8":
        path = tmp / "areas.csv"
        path.write_bytes(b"report_type,object_id,\xff\xfewkt\nhazardous_area,HA-1,POINT (1 2)\n")
    elif kind == "csv cell not UTF-8":
        path = tmp / "areas.csv"
        path.write_bytes(b"report_type,object_id,wkt\nhazardous_area,HA-\xff1,POINT (1 2)\n")
    elif kind == "features not objects":
        path = tmp / "s123.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"globalid": "{A}", "sg_form_id": "sg_nts"}},
            1, "x", [None]]}))
    elif kind == "OData items not objects":
        doc = fx.odata_page([sub], "sg_nts")
        doc["value"] += [1, "x", None, []]
        path = tmp / "odata.json"
        path.write_text(json.dumps(doc))
    elif kind == "OData __system not an object":
        doc = fx.odata_page([sub], "sg_nts")
        doc["value"][0]["__system"] = [1, 2]
        path = tmp / "odata.json"
        path.write_text(json.dumps(doc))
    elif kind == "Kobo epoch too large":
        doc = fx.kobo_page([sub])
        doc["results"][0]["date_of_information"] = 10 ** 300
        path = tmp / "kobo.json"
        path.write_text(json.dumps(doc))
    elif kind == "coordinates 600 deep":
        doc = fx.odata_page([sub], "sg_nts")
        doc["value"][0]["hazardous_area"]["ha_geo"] = {"type": "Polygon", "coordinates": 0}
        text = json.dumps(doc).replace('"coordinates": 0', '"coordinates": ' + "[" * 600
                                       + "1" + "]" * 600)
        path = tmp / "odata.json"
        path.write_text(text)
    elif kind == "Kobo CSV cell of 2,000,000 characters":
        path = fx.kobo_csv([sub], tmp / "kobo.csv")
        lines = path.read_text().splitlines()
        path.write_text(lines[0] + "\n" + lines[1].replace(";", ";" + "A" * 2_000_000, 1) + "\n")
    else:
        raise AssertionError(kind)
    return path


@pytest.mark.parametrize(("kind", "code", "whole"), [
    ("csv header not UTF-8", "FILE_ENCODING", True),
    ("csv cell not UTF-8", "FILE_ENCODING", False),
    ("features not objects", "SUBMISSION_MALFORMED", False),
    ("OData items not objects", "SUBMISSION_MALFORMED", False),
    ("OData __system not an object", "SUBMISSION_MALFORMED", False),
    ("Kobo epoch too large", "DATE_INVALID", False),
    ("coordinates 600 deep", "JSON_TOO_DEEP", True),
    ("Kobo CSV cell of 2,000,000 characters", "CELL_TOO_LARGE", True),
])
def test_the_reported_crashes(ledger, tmp_path, strict, kind, code, whole):
    before = _count(ledger)
    s = import_path(ledger, _reported(tmp_path, kind), "alice", progress=False)
    assert code in s.codes, (s.codes, s.rejections[:2])
    assert (s.file_problem is not None) == whole
    assert _count(ledger) - before == s.stored
    if whole:
        assert s.stored == 0 and import_exit_code(s) == 2


def test_an_unforeseen_error_is_logged_and_refused(ledger, tmp_path, monkeypatch, caplog, site):
    from safeground.intake import geodata

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a reader bug")

    monkeypatch.setattr(geodata, "read_csv", broken)
    path = tmp_path / "areas.csv"
    path.write_text("report_type,object_id\nhazardous_area,HA-1\n")
    before = _count(ledger)
    s = import_path(ledger, path, "alice", progress=False)
    assert s.file_problem.code == "IMPORT_FAILED" and s.file_problem.params == {
        "reason": "ZeroDivisionError"}
    assert _count(ledger) == before
    assert "a reader bug" in caplog.text  # the traceback goes to the log, not the user
    r = site.as_user("clerk").post("/api/v1/imports", files={"file": ("areas.csv", b"x\n")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "IMPORT_FAILED"
