"""The risk model learns from a Safeground record database as well as from report files."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from shapely.geometry import shape
from typer.testing import CliRunner

from safeground.record.ledger import Ledger
from safeground.record.storage import Database
from safeground.risk import events as ev
from safeground.risk import sources
from safeground.risk.cli import app
from safeground.settings import Settings

from .conftest import CRS

PAYLOAD = {
    "accident": {"device_category": "AP_mine", "context": "civilian"},
    "ordnance": {"category": "AP_mine", "disposal": "destroyed_in_situ"},
    "evidence": {"source": "verbal"},
    "hazardous_area": {"contamination": ["AP"]},
}


def _records_of(programme):
    """The synthetic programme's report files as complete Safeground records."""
    base = {"organisation": "ORG-1", "author": "surveyor"}
    out = [{**base, "report_type": "organisation", "object_id": "ORG-1",
            "date_of_information": "2020-12-01", "name": "Survey NGO", "kind": "ngo"}]
    for path in sorted((programme / "reports").glob("*.geojson")):
        for feat in json.loads(path.read_text())["features"]:
            props = feat["properties"]
            rtype = props.get("report_type", "hazardous_area")
            rec = {**base, **PAYLOAD[rtype], **{k: v for k, v in props.items() if v is not None},
                   "report_type": rtype, "geometry": shape(feat["geometry"])}
            if rtype == "hazardous_area":
                rec["date_of_information"] = "2021-01-01"
            if rtype == "ordnance":
                rec["category"] = "AP_mine"
            out.append(rec)
    return out


@pytest.fixture(scope="module")
def record_url(programme, tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('record')}/record.sqlite"
    led = Ledger(Database.open(url), Settings(database_url=url))
    res = led.submit(_records_of(programme), user="alice")
    assert not res.rejected, [p.message for r in res.rejected for p in r.problems][:5]
    done = led.approve(res.accepted, user="bob")
    assert not done.refused
    return url


def test_events_from_the_record_equal_those_from_the_files(programme, record_url):
    src = sources.detect(record_url, programme / "context")
    assert src.format == "record" and src.crs == CRS
    from_db = src.load_events()
    from_files = ev.from_report_files(sources.detect(programme).files(), CRS)
    assert len(from_db) == len(from_files) > 200
    key = ["group", "date", "x", "y"]
    a = from_db.sort_values(key).reset_index(drop=True)
    b = from_files.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[[*key, "weight"]], b[[*key, "weight"]], atol=1e-6)
    # what was known on a date: the record's date of information decides
    assert len(ev.known_at(from_db, "2021-06-30")) == len(ev.known_at(from_files, "2021-06-30"))


def test_fit_rank_and_explain_from_the_record(programme, record_url, tmp_path):
    run = CliRunner()
    m_db, m_files = tmp_path / "db", tmp_path / "files"
    common = ["--as-of", "2021-12-31", "--horizon-years", "0.5", "--step", "200",
              "--kind", "logistic"]
    r = run.invoke(app, ["fit", "--db", record_url, "--context", str(programme / "context"),
                         "--model-dir", str(m_db), *common], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    r = run.invoke(app, ["fit", "--events", str(programme), "--model-dir", str(m_files),
                         *common], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    meta_db = json.loads((m_db / "model.json").read_text())
    meta_files = json.loads((m_files / "model.json").read_text())
    assert meta_db["source"]["format"] == "record"
    assert len(meta_db["data_sha256"]) == 64
    # the same evidence, the same fit
    assert meta_db["models"]["logistic"]["train"] == meta_files["models"]["logistic"]["train"]

    out = tmp_path / "rank.csv"
    r = run.invoke(app, ["rank", "--model-dir", str(m_db), "--kind", "logistic",
                         "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    ranked = pd.read_csv(out).set_index("object_id")
    assert set(ranked.index) == {"HA-FRONT", "HA-FAR"}
    assert ranked.loc["HA-FRONT", "mean_probability"] > ranked.loc["HA-FAR", "mean_probability"]
    r = run.invoke(app, ["explain", "HA-FRONT", "--model-dir", str(m_db), "--kind",
                         "logistic"], catch_exceptions=False)
    assert r.exit_code == 0 and "proposed:" in r.output
