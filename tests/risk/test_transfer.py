"""Models that transfer: folds of the grid splits, the paired bootstrap, and the comparison
through the CLI on small synthetic grids and event records (real data: skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from harness.shared import SHARED_DATA, skip_unless
from safeground.errors import ValidationError
from safeground.risk import reland, transfer
from safeground.risk.cli import app

runner = CliRunner()


def ok(args: list[object]):
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


def test_municipality_names_match_across_spellings():
    assert transfer.name_key("NARI¥O") == transfer.name_key("NARIÑO") == "NARINO"
    assert transfer.name_key("SONSÓN") == transfer.name_key("sonson ") == "SONSON"


def test_grid_folds_of_each_split(reland_like, tmp_path):
    muni = transfer.grid_folds(reland_like, "municipality")
    assert [n for n, _, _ in muni] == [f"M{i}" for i in range(6)]
    region = transfer.grid_folds(reland_like, "region")
    assert len(region) == transfer.REGIONS
    held = np.sum([te for _, _, te in region], axis=0)
    assert (held == 1).all()                      # every cell held out exactly once
    for _, tr, te in region:
        assert not (tr & te).any()
    blocks = tmp_path / "train_val_stream" / "blockCV"
    blocks.mkdir(parents=True)
    (blocks / "val-0.txt").write_text("M1\n", encoding="utf-8")
    (blocks / "train-0.txt").write_text("M0\nM2\n", encoding="utf-8")
    (blocks / "val-1.txt").write_text("NOT HERE\n", encoding="utf-8")
    (blocks / "train-1.txt").write_text("M0\n", encoding="utf-8")
    folds = transfer.grid_folds(reland_like, "block", blocks.parent)
    assert len(folds) == 1
    _, tr, te = folds[0]
    muni_of = reland_like["Municipio"]
    assert set(muni_of[te]) == {"M1"} and set(muni_of[tr]) == {"M0", "M2"}
    with pytest.raises(ValidationError) as err:
        transfer.grid_folds(reland_like, "transfer", blocks.parent)
    assert err.value.problems[0].code == "RISK_SPLIT"


def test_paired_bootstrap_interval():
    rng = np.random.default_rng(0)
    lo, mid, hi = transfer.paired_bootstrap(np.array([0.05, 0.08, 0.02, 0.06, 0.04]), rng)
    assert 0 < lo < mid < hi and mid == pytest.approx(0.05)
    lo, mid, hi = transfer.paired_bootstrap(np.array([0.1, -0.1, 0.05, -0.05]), rng)
    assert lo < 0 < hi


def test_evaluate_compares_variants_with_plain_lightgbm(reland_like, tmp_path):
    grid = tmp_path / "grid.csv"
    reland_like.to_csv(grid, index=False)
    out = tmp_path / "e.json"
    res = ok(["evaluate", "--grid", grid, "--split", "municipality", "--variants",
              "simple lightgbm,(no pooling)", "--json", out])
    assert "plain LightGBM" in res.output and "paired bootstrap" in res.output
    data = json.loads(out.read_text())
    summary = data["summary"]
    assert set(summary) == {transfer.REFERENCE, "project LightGBM alone (no pooling)",
                            "simple LightGBM (4 leaves)", transfer.KDE_BASELINE,
                            "simple LightGBM as a project model (simple)",
                            transfer.BUILDINGS_BASELINE}
    ref = summary[transfer.REFERENCE]
    assert ref["folds"] == 6 and ref["d_roc_auc"] == 0
    s = summary["simple LightGBM (4 leaves)"]
    assert s["d_roc_auc_lo"] <= s["d_roc_auc"] <= s["d_roc_auc_hi"]
    # the reference is LightGBM's defaults on every column, surveyed cells only
    fold = next(r for r in data["folds"] if r["fold"] == "M2" and
                r["variant"] == transfer.REFERENCE)
    train = reland_like[(reland_like.Municipio != "M2") & (reland_like.mines_outcome >= 0)]
    test = reland_like[(reland_like.Municipio == "M2") & (reland_like.mines_outcome >= 0)]
    cols = reland.feature_columns(reland_like)
    m = lgb.LGBMClassifier(random_state=0, n_jobs=1, verbose=-1, deterministic=True,
                           force_row_wise=True).fit(train[cols].to_numpy(float),
                                                    train.mines_outcome)
    auc = roc_auc_score(test.mines_outcome, m.predict_proba(test[cols].to_numpy(float))[:, 1])
    assert fold["roc_auc"] == pytest.approx(auc)


def test_evaluate_transfer_to_another_file(reland_like, tmp_path):
    a = reland_like[reland_like.Municipio.isin(["M0", "M1", "M2", "M3"])]
    b = reland_like[reland_like.Municipio.isin(["M4", "M5"])].drop(
        columns=["railways_dist", "Vocacion_Forestal"])
    a.to_csv(tmp_path / "a.csv", index=False)
    b.to_csv(tmp_path / "b.csv", index=False)
    ok(["evaluate", "--grid", tmp_path / "a.csv", "--split", "transfer", "--test-grid",
        tmp_path / "b.csv", "--variants", "logistic", "--json", tmp_path / "t.json"])
    summary = json.loads((tmp_path / "t.json").read_text())["summary"]
    assert summary["project logistic (8 columns)"]["folds"] == 1
    assert all(np.isfinite(v["roc_auc"]) for v in summary.values())


def write_event_records(root: Path, seed: int = 0) -> Path:
    """Yearly event files of the AICMA schema: events around hot spots that persist, plus
    scattered ones, in one department, 2000-2008."""
    rng = np.random.default_rng(seed)
    spots = np.array([[-75.0, 6.0], [-74.7, 6.2], [-75.2, 6.4]])
    for year in range(2000, 2009):
        feats = []
        for i in range(90):
            if i < 70:
                lon, lat = spots[i % 3] + rng.normal(0, 0.03, 2)
            else:
                lon, lat = rng.uniform(-75.4, -74.5), rng.uniform(5.8, 6.6)
            feats.append({"type": "Feature", "geometry": {"type": "Point",
                                                          "coordinates": [lon, lat]},
                          "properties": {"TIPO_EVENTO": int(rng.choice([1, 4, 4, 5])),
                                         "DEPARTAMENTO": "ANTIOQUIA", "MUNICIPIO": "X",
                                         "AÑO": year}})
        (root / f"{year}.json").write_text(json.dumps(
            {"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return root


def test_self_exciting_intensity_decays_with_age_and_distance():
    ev = pd.DataFrame({"x": [0.0], "y": [0.0], "weight": [1.0],
                       "date": pd.to_datetime(["2010-01-01"])})
    at = pd.Timestamp("2010-01-01") + pd.Timedelta(days=730)
    xy = np.array([[0.0, 0.0], [2000.0, 0.0], [50_000.0, 0.0]])
    v = transfer.self_exciting(xy, ev, at, decay_years=1.0, bandwidth_m=2000.0)
    decay = np.exp(-730 / 365.25)
    assert v[0] == pytest.approx(decay)
    assert v[1] == pytest.approx(decay * np.exp(-0.5))
    assert v[2] == 0


def test_evaluate_forward_in_time_from_origins(tmp_path):
    records = write_event_records(tmp_path)
    out = tmp_path / "f.json"
    res = ok(["evaluate", "--events", records, "--origins", "2004:2006,2005:2008", "--step",
              4000, "--variants", "simple lightgbm,self-exciting intensity", "--json", out])
    assert "Δ top 10 %" in res.output
    data = json.loads(out.read_text())
    summary = data["summary"]
    assert {transfer.REFERENCE, transfer.EVENT_KDE_BASELINE,
            transfer.EVENT_DISTANCE_BASELINE, "simple LightGBM (4 leaves)",
            "simple LightGBM as a project model (simple)", "simple LightGBM, monotone",
            "self-exciting intensity alone (4 y)",
            "ensemble: simple + self-exciting intensity"} == set(summary)
    assert {r["fold"] for r in data["folds"]} == {"fit to 2004, score 2005-2006",
                                                  "fit to 2005, score 2006-2008"}
    # events return to the hot spots: past density puts most of them in the top 10 %
    assert summary[transfer.EVENT_KDE_BASELINE]["top10"] > 0.5


def test_bad_origins_and_splits_are_coded(reland_like, tmp_path):
    reland_like.to_csv(tmp_path / "g.csv", index=False)
    res = runner.invoke(app, ["evaluate", "--grid", str(tmp_path / "g.csv"), "--split",
                              "random"])
    assert res.exit_code == 2 and "RISK_SPLIT" in res.output
    res = runner.invoke(app, ["evaluate", "--events", str(tmp_path), "--origins", "2008:2004"])
    assert res.exit_code == 2 and "RISK_SPLIT" in res.output


RELAND = SHARED_DATA / "colombia-reland"


@skip_unless("colombia-reland")
def test_real_reland_block_split_and_transfer_lists():
    df = reland.load_grid(RELAND / "processed_dataset" / "train" / "train_all.csv")
    split_dir = transfer.find_split_dir(RELAND / "processed_dataset" / "train" /
                                        "train_all.csv")
    assert split_dir is not None
    folds = transfer.grid_folds(df, "block", split_dir)
    held = {name for n, _, te in folds for name in df.loc[te, "Municipio"].unique()}
    # names of the fold lists (accents) matched to the file's (none, or a broken Ñ)
    assert {"SONSON", "COCORNA", "NARI¥O"} <= held and len(folds) >= 10
    for _, tr, te in folds:
        assert not (tr & te).any()
    # the transfer folds are municipalities of another department, not in this file
    with pytest.raises(ValidationError):
        transfer.grid_folds(df, "transfer", split_dir)
    comp = transfer.evaluate_grid(df, folds[:2], transfer.pick(transfer.grid_variants(),
                                                               "simple"))
    table = comp.table()
    assert table.loc[transfer.REFERENCE, "folds"] == 2
    assert np.isfinite(table["roc_auc"]).all()
