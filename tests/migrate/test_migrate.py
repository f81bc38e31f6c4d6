"""Migration of legacy sources: inspect -> check -> run -> re-run -> rollback, on an
IMSMA-Core-like File Geodatabase and an IMSMA-NG-like Excel export built by the tests."""

from __future__ import annotations

import csv
import shutil
import tomllib
from pathlib import Path

import pytest
from shapely.geometry import Polygon
from sqlalchemy import func, select
from typer.testing import CliRunner

from harness.accounts import CliAccounts
from harness.accounts import password as cli_password
from harness.migrate_sources import imsma_core_gdb, imsma_ng_xlsx, square
from safeground.cli import app
from safeground.errors import ConflictError, NotFoundError
from safeground.migrate.check import dry_run, write_csv, write_html
from safeground.migrate.inspect import inspect, starter_mapping
from safeground.migrate.mapping import from_dict, load
from safeground.migrate.run import rollback, run
from safeground.migrate.source import Source, SourceError
from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.record.storage.schema import audit_log, reports
from safeground.record.summary import status
from safeground.record.vocabulary import ReportType
from safeground.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "migrate"
CORE_MAP = EXAMPLES / "imsma_core.toml"
NG_MAP = EXAMPLES / "imsma_ng.toml"


@pytest.fixture
def core(tmp_path: Path):
    return imsma_core_gdb(tmp_path)


@pytest.fixture
def ng(tmp_path: Path):
    return imsma_ng_xlsx(tmp_path)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    url = f"sqlite:///{tmp_path}/record.sqlite"
    return Ledger(Database.open(url), Settings(database_url=url))


def _count(ledger: Ledger) -> int:
    with ledger.db.read() as conn:
        return conn.execute(select(func.count()).select_from(reports)).scalar_one()


def _state(ledger: Ledger) -> tuple:
    """Status and the number of objects of every type: equal states compare equal."""
    return (status(ledger).to_dict(), {t.value: len(ledger.objects(t)) for t in ReportType},
            _count(ledger))


def test_inspect_lists_every_layer_and_writes_a_starter_mapping_marked_for_review(core):
    path, _ = core
    src = Source(path)
    profiles = {p.name: p for p in inspect(src)}
    assert set(profiles) == {"Organisation", "Hazard", "HazardReduction", "Accident", "Victim",
                             "EO_Spot_Task", "Legacy_Accident"}
    hz = profiles["Hazard"]
    assert hz.rows == 14 and hz.geometry_type == "MultiPolygon" and hz.crs == "EPSG:3857"
    assert hz.guess is ReportType.HAZARDOUS_AREA and hz.id_column == "hazard_localid"
    col = {c.name: c for c in hz.columns}["hazard_type"]
    assert dict(col.top)["Подтвержденная опасная зона"] == 6 and col.distinct == 3
    assert hz.fields["hazard_type"] == "classification"
    assert hz.fields["dateofinfo"] == "date_of_information"
    assert profiles["Victim"].guess is ReportType.VICTIM
    assert profiles["Accident"].guess is ReportType.ACCIDENT
    text = starter_mapping(src, list(profiles.values()))
    data = tomllib.loads(text)
    assert all(layer["review"] is True for layer in data["layer"])
    hazard = next(layer for layer in data["layer"] if layer["source"] == "Hazard")
    guessed = hazard["report"][0]["fields"]["classification"]["values"]
    assert guessed == {"Подтвержденная опасная зона": "CHA", "Предполагаемая опасная зона": "SHA",
                       "Неизвестно": "CHANGE-ME"}
    # a starter mapping is not usable before review: its unknown labels say CHANGE-ME
    with pytest.raises(SourceError) as exc:
        from_dict(data)
    assert exc.value.code == "MIGRATE_MAPPING_INVALID"


def test_a_zipped_geodatabase_reads_as_the_folder_does(core, tmp_path):
    path, _ = core
    zipped = shutil.make_archive(str(tmp_path / "export"), "zip", tmp_path, path.name)
    a, b = Source(path), Source(zipped)
    assert a.layer_names() == b.layer_names()
    assert a.read("Hazard").rows == b.read("Hazard").rows
    with pytest.raises(SourceError) as exc:
        Source(tmp_path / "notes.txt").layer_names() if (tmp_path / "notes.txt").write_text(
            "x") else None
    assert exc.value.code == "MIGRATE_SOURCE_UNKNOWN"


def test_check_finds_every_geometry_fault_and_repairs_or_refuses_it_with_a_code(core, ledger,
                                                                                tmp_path):
    path, exp = core
    plan = dry_run(Source(path), load(CORE_MAP), ledger.settings, ledger)
    refused = {f.original_id: f.problem.code for f in plan.findings if f.severity == "refused"
               and f.layer == "Hazard"}
    assert refused == exp["refused_hazards"]
    repaired = {f.original_id: f.problem.params["repair"] for f in plan.findings
                if f.severity == "repaired"}
    assert set(repaired) == set(exp["repaired"])
    for oid, what in exp["repaired"].items():
        assert what in repaired[oid]
    crs = [f for f in plan.findings if f.problem.code == "MIGRATE_CRS_MISSING"]
    assert [f.layer for f in crs] == ["Legacy_Accident"]
    dangling = {f.original_id for f in plan.findings if f.problem.code == "MIGRATE_LINK_DANGLING"
                and f.severity == "refused"}
    assert dangling == exp["dangling"]
    unmapped = [f for f in plan.findings if f.problem.code == "MIGRATE_FIELD_UNMAPPED"]
    assert [f.problem.params["value"] for f in unmapped] == ["last_editor"]
    migrated = {r["object_id"] for r in plan.records if r["report_type"] == "hazardous_area"}
    assert len(migrated) == exp["hazards"] and not migrated & set(exp["refused_hazards"]) - {
        "HA-003"}
    # the repaired bowtie is a valid polygon now
    bowtie = next(r for r in plan.records if r["object_id"] == "HA-007")
    assert bowtie["geometry"].is_valid and bowtie["geometry"].area > 0
    write_html(plan, tmp_path / "check.html")
    write_csv(plan, tmp_path / "check.csv")
    rows = list(csv.DictReader((tmp_path / "check.csv").open(encoding="utf-8")))
    assert {r["code"] for r in rows} >= set(exp["refused_hazards"].values())
    assert "GEOM_VERTEX_GAP" in (tmp_path / "check.html").read_text(encoding="utf-8")
    assert _count(ledger) == 0   # a dry run writes nothing


def test_run_migrates_then_a_second_run_changes_nothing_and_rollback_restores(core, ledger):
    path, exp = core
    before = _state(ledger)
    res = run(ledger, Source(path), load(CORE_MAP), "records.officer", "ops.chief")
    assert res.batch and not res.rejected and not res.refused
    assert res.approved == res.submitted == len(res.plan.records)
    s = status(ledger)
    assert s.areas_open == exp["open"] and s.areas_closed == exp["closed"]
    assert s.items == exp["items"]
    assert {k: s.casualties[k] for k in ("killed", "injured")} == exp["casualties"]
    assert all(s.released_m2[k] > 0 for k in exp["releases"])
    assert len(ledger.objects(ReportType.ACCIDENT)) == exp["accidents"]
    assert len(ledger.objects(ReportType.VICTIM)) == exp["victims"]
    # links held as text became real links; Russian code values became the vocabulary
    assert ledger.get(ReportType.LAND_RELEASE, "HR-001")["hazardous_area_id"] == "HA-001"
    assert ledger.get(ReportType.VICTIM, "V-1")["accident_id"] == "ACC-001"
    assert ledger.get(ReportType.ACCIDENT, "ACC-001")["hazardous_area_id"] == "HA-001"
    assert ledger.get(ReportType.ACCIDENT, "ACC-003").get("hazardous_area_id") is None
    ha = ledger.get(ReportType.HAZARDOUS_AREA, "HA-001")
    assert ha["classification"] == "CHA" and ha["contamination"] == ["AP", "AT"]
    assert ha["estimated_area_m2"] == pytest.approx(90_000)
    assert ledger.get(ReportType.HAZARDOUS_AREA, "HA-004")["status"] == "closed"
    # provenance and the source's own fields, with each report
    rep = ledger.history("HA-001")[0]
    assert rep.meta["_source_file"] == "imsma_core.gdb" and rep.meta["_source_layer"] == "Hazard"
    assert rep.meta["_original_id"] == "HA-001" and rep.meta["_migration_batch"] == res.batch
    assert rep.meta["_mapping"] == "IMSMA Core export v2026-12-01"
    assert rep.meta["_custom"] == {"province": "Физули", "imsma_guid": "{ha-001-guid}"}
    assert rep.submitted_by == "records.officer" and rep.decided_by == "ops.chief"
    after = _state(ledger)
    again = run(ledger, Source(path), load(CORE_MAP), "records.officer", "ops.chief")
    assert again.batch is None and _state(ledger) == after
    done = rollback(ledger, res.batch, "ops.chief")
    assert done.reports_removed == res.submitted
    assert _state(ledger) == before
    with ledger.db.read() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "rollback")).one()
    assert entry.detail["batch"] == res.batch and entry.user == "ops.chief"
    with pytest.raises(NotFoundError) as exc:
        rollback(ledger, res.batch, "ops.chief")
    assert exc.value.code == "BATCH_UNKNOWN"
    # after the rollback the same source migrates again, whole
    third = run(ledger, Source(path), load(CORE_MAP), "records.officer", "ops.chief")
    assert third.approved == res.approved and _state(ledger) == after


def test_rollback_is_refused_once_a_later_report_builds_on_the_batch(core, ledger):
    path, _ = core
    res = run(ledger, Source(path), load(CORE_MAP), "records.officer", "ops.chief")
    area = ledger.get(ReportType.HAZARDOUS_AREA, "HA-005")
    later = ledger.submit([{
        "report_type": "evidence", "object_id": "EV-NEW-1", "date_of_information": "2021-01-05",
        "organisation": "HALO", "author": "a.surveyor", "hazardous_area_id": "HA-005",
        "category": "eo_observed", "source": "observed", "reliability": "high",
        "geometry": area["geometry"].representative_point()}], "field.clerk")
    assert later.accepted, [p.message for r in later.rejected for p in r.problems]
    ledger.approve(later.accepted, "ops.chief")
    state = _state(ledger)
    with pytest.raises(ConflictError) as exc:
        rollback(ledger, res.batch, "ops.chief")
    assert exc.value.code == "BATCH_BUILT_ON"
    assert _state(ledger) == state


def test_the_approver_must_not_be_the_one_running_the_migration(core, ledger):
    path, _ = core
    with pytest.raises(ConflictError) as exc:
        run(ledger, Source(path), load(CORE_MAP), "ops.chief", "ops.chief")
    assert exc.value.code == "MIGRATE_APPROVER_IS_RUNNER"
    assert _count(ledger) == 0


def test_imsma_ng_excel_export_with_vertex_sheet_serial_dates_and_azerbaijani_labels(ng, ledger):
    path, exp = ng
    plan = dry_run(Source(path), load(NG_MAP), ledger.settings, ledger)
    refused = {f.original_id: f.problem.code for f in plan.findings if f.severity == "refused"}
    assert refused == exp["refused_hazards"]
    assert {f.original_id for f in plan.findings if f.severity == "repaired"} == \
        set(exp["repaired"])
    several = {f.original_id for f in plan.findings if f.problem.code == "MIGRATE_LINK_SEVERAL"}
    assert several == exp["several"]
    res = run(ledger, Source(path), load(NG_MAP), "records.officer", "ops.chief")
    assert not res.rejected and not res.refused
    s = status(ledger)
    assert s.areas_open == exp["open"] and s.areas_closed == exp["closed"]
    assert {k: s.casualties[k] for k in ("killed", "injured")} == exp["casualties"]
    for oid, day in exp["dates"].items():
        rtype = ReportType.ACCIDENT if oid.startswith("A-") else ReportType.HAZARDOUS_AREA
        assert ledger.get(rtype, oid)["first_date"].isoformat() == day
    for oid, m2 in exp["area_m2"].items():
        assert ledger.get(ReportType.HAZARDOUS_AREA, oid)["estimated_area_m2"] == \
            pytest.approx(m2)
    assert ledger.get(ReportType.HAZARDOUS_AREA, "HA-1001")["land_use"] == "farmland"
    for oid, target in exp["links"].items():
        assert ledger.get(ReportType.ACCIDENT, oid)["hazardous_area_id"] == target
    assert ledger.get(ReportType.VICTIM, "VA-1")["sex"] == "male"
    again = run(ledger, Source(path), load(NG_MAP), "records.officer", "ops.chief")
    assert again.batch is None


def test_a_mapping_mistake_is_a_coded_error_naming_the_place(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[layer]]\nsource = "Hazard"\nid = "x"\ndate_of_information = "d"\n'
                   'organisation = "o"\nauthor = "a"\n[[layer.report]]\ntype = "hazard"\n',
                   encoding="utf-8")
    with pytest.raises(SourceError) as exc:
        load(bad)
    assert exc.value.code == "MIGRATE_MAPPING_INVALID" and "bad.toml layer 1" in \
        exc.value.message
    bad.write_text("[[layer]\n", encoding="utf-8")
    with pytest.raises(SourceError) as exc:
        load(bad)
    assert exc.value.code == "MIGRATE_MAPPING_INVALID"


def test_the_three_steps_from_the_command_line(ng, tmp_path, monkeypatch):
    """Run and rollback act as registered users: the runner (data entry) and the approver
    each give their own password; the approver cannot be the runner."""
    path, _ = ng
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/cli.sqlite"
    acc = CliAccounts.create(url)
    cli = CliRunner()
    r = cli.invoke(app, ["migrate", "inspect", str(path), "--out", "starter.toml"])
    assert r.exit_code == 0, r.output
    assert "review = true" in (tmp_path / "starter.toml").read_text(encoding="utf-8")
    r = acc.run(app, ["migrate", "check", str(path), "-m", str(NG_MAP)], user="carol")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "imsma_ng_export.check.html").exists()
    run_args = ["migrate", "run", str(path), "-m", str(NG_MAP)]
    r = acc.run(app, [*run_args, "--approver", "dana"], user="dana")
    assert r.exit_code == 2 and "MIGRATE_APPROVER_IS_RUNNER" in r.output
    r = acc.run(app, [*run_args, "--approver", "bob"], user="alice", typed="wrong")
    assert r.exit_code == 2 and "LOGIN_FAILED" in r.output
    r = acc.run(app, [*run_args, "--approver", "bob"], user="alice", input="wrong\n")
    assert r.exit_code == 2 and "LOGIN_FAILED" in r.output   # the approver's password
    r = acc.run(app, [*run_args, "--approver", "carol"], user="alice",
                input=cli_password("carol") + "\n")
    assert r.exit_code == 2 and "FORBIDDEN" in r.output      # an analyst cannot approve
    assert _count(Ledger(Database.open(url))) == 0
    r = acc.run(app, [*run_args, "--approver", "bob"], user="alice",
                input=cli_password("bob") + "\n")
    assert r.exit_code == 0, r.output
    batch = r.output.split("rollback ")[-1].split()[0]
    rep = Ledger(Database.open(url)).history("HA-1001")[0]
    assert (rep.submitted_by, rep.decided_by) == ("alice", "bob")
    r = acc.run(app, ["migrate", "rollback", batch], user="alice")
    assert r.exit_code == 2 and "FORBIDDEN" in r.output
    r = acc.run(app, ["migrate", "rollback", batch], user="bob")
    assert r.exit_code == 0, r.output
    r = acc.run(app, ["migrate", "rollback", batch], user="bob")
    assert r.exit_code == 2 and "BATCH_UNKNOWN" in r.output
    r = cli.invoke(app, ["migrate", "inspect", str(tmp_path / "missing.gdb")])
    assert r.exit_code == 2 and "FILE_UNREADABLE" in r.output


def test_run_and_rollback_on_both_backends(database_url, tmp_path):
    """The batch and its rollback are plain report and object rows: SQLite and PostGIS alike."""
    path, exp = imsma_ng_xlsx(tmp_path)
    ledger = Ledger(Database.open(database_url), Settings(database_url=database_url))
    before = _state(ledger)
    res = run(ledger, Source(path), load(NG_MAP), "records.officer", "ops.chief")
    assert res.approved == len(res.plan.records) and not res.refused
    assert status(ledger).areas_open == exp["open"]
    after = _state(ledger)
    assert run(ledger, Source(path), load(NG_MAP), "records.officer", "ops.chief").batch is None
    assert _state(ledger) == after
    rollback(ledger, res.batch, "ops.chief")
    assert _state(ledger) == before


def test_rollback_derives_again_an_object_the_record_held_before_the_batch(ng, ledger):
    path, _ = ng
    pre = ledger.submit([
        {"report_type": "organisation", "object_id": "ORG-HALO", "name": "HALO Trust",
         "kind": "ngo", "date_of_information": "2010-01-01", "organisation": "HALO",
         "author": "a"},
        {"report_type": "hazardous_area", "object_id": "HA-1001", "classification": "SHA",
         "contamination": ["AT"], "date_of_information": "2013-01-01", "organisation": "HALO",
         "author": "a", "geometry": Polygon(square(50))}], "field.clerk")
    assert len(pre.accepted) == 2, [p.message for r in pre.rejected for p in r.problems]
    ledger.approve(pre.accepted, "ops.chief")
    before = _state(ledger)
    old = ledger.get(ReportType.HAZARDOUS_AREA, "HA-1001")
    res = run(ledger, Source(path), load(NG_MAP), "records.officer", "ops.chief")
    assert not res.refused
    assert ledger.get(ReportType.HAZARDOUS_AREA, "HA-1001")["classification"] == "CHA"
    done = rollback(ledger, res.batch, "ops.chief")
    assert done.objects_rebuilt >= 1   # the area the batch updated
    assert _state(ledger) == before
    again = ledger.get(ReportType.HAZARDOUS_AREA, "HA-1001")
    assert {k: again[k] for k in ("classification", "contamination", "status",
                                  "last_report_id")} == \
        {k: old[k] for k in ("classification", "contamination", "status", "last_report_id")}


def test_a_csv_source_with_wkt_and_hostile_text_is_reported_escaped(tmp_path, ledger):
    ring = square(3)
    wkt = "POLYGON ((" + ", ".join(f"{x} {y}" for x, y in ring) + "))"
    (tmp_path / "areas.csv").write_text(
        "id,kind,when,shape\n"
        f"A1,CHA,2019-01-02,\"{wkt}\"\n"
        f"A2,<script>alert(1)</script>,2019-01-03,\"{wkt.replace('47.0', '47.1')}\"\n",
        encoding="utf-8")
    mapping = from_dict({
        "mapping": {"name": "csv", "organisation": "HALO", "author": "m"},
        "layer": [{"source": "areas", "id": "id", "date_of_information": {"column": "when"},
                   "geometry": {"wkt": "shape"},
                   "report": [{"type": "hazardous_area", "fields": {
                       "classification": "kind", "contamination": {"value": "AP"}}}]}]})
    plan = dry_run(Source(tmp_path / "areas.csv"), mapping, ledger.settings, ledger)
    assert [r["object_id"] for r in plan.records] == ["A1"]
    assert [f.problem.code for f in plan.findings if f.severity == "refused"] == \
        ["MIGRATE_VALUE_UNMAPPED"]
    write_html(plan, tmp_path / "check.html")
    text = (tmp_path / "check.html").read_text(encoding="utf-8")
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)" in text
