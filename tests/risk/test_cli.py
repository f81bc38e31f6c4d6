"""The public CLI (``safeground risk ...``) on small real and synthetic inputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import rasterio
from typer.testing import CliRunner

from safeground.risk.cli import app

runner = CliRunner()


def ok(args: list[str]):
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output + repr(res.exception)
    return res


def test_fit_and_score_a_grid_csv(reland_small, tmp_path):
    grid = tmp_path / "grid.csv"
    reland_small.to_csv(grid, index=False)
    ok(["fit", "--grid", grid, "--model-dir", tmp_path / "m", "--kind", "both", "--seed", 3])
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["seed"] == 3 and set(meta["models"]) == {"logistic", "lightgbm"}
    assert (tmp_path / "m" / "lightgbm.txt").exists()
    other = tmp_path / "other.csv"
    reland_small.drop(columns="mines_outcome").head(50).to_csv(other, index=False)
    ok(["score", "--model-dir", tmp_path / "m", "--grid", other, "--out", tmp_path / "s.csv"])
    scored = pd.read_csv(tmp_path / "s.csv")
    assert len(scored) == 50 and scored["probability"].between(0, 1).all()


def test_evaluate_a_grid_leaving_one_municipality_out(reland_small, tmp_path):
    grid = tmp_path / "grid.csv"
    reland_small.to_csv(grid, index=False)
    ok(["fit", "--grid", grid, "--model-dir", tmp_path / "m", "--kind", "logistic"])
    ok(["evaluate", "--grid", grid, "--kind", "logistic", "--json", tmp_path / "e.json",
        "--model-dir", tmp_path / "m"])
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert "logistic" in meta["metrics"]["summary"]
    out = json.loads((tmp_path / "e.json").read_text())
    assert set(out["summary"]) >= {"logistic", "baseline: density of past events"}
    assert len({r["fold"] for r in out["folds"]}) == 6


def test_events_fit_map_rank_explain(programme, tmp_path):
    m = tmp_path / "m"
    ok(["fit", "--events", programme, "--as-of", "2021-12-31", "--horizon-years", 0.5,
        "--step", 200, "--model-dir", m])
    meta = json.loads((m / "model.json").read_text())
    assert meta["source"]["format"] == "reports" and meta["as_of"] == "2021-12-31"
    tif = tmp_path / "risk.tif"
    res = ok(["map", "--model-dir", m, "--out", tif, "--resolution", 100, "--scheduler", "sync",
              "--extent", "601000,4401000,611000,4407000"])
    assert "COG valid: True" in res.output.replace("\n", " ")
    with rasterio.open(tif) as src:
        assert (src.width, src.height) == (100, 60)
    ok(["rank", "--model-dir", m, "--out", tmp_path / "rank.csv"])
    ranked = pd.read_csv(tmp_path / "rank.csv").set_index("object_id")
    assert ranked.loc["HA-FRONT", "rank"] == 1
    assert ranked.loc["HA-FRONT", "mean_probability"] > ranked.loc["HA-FAR", "mean_probability"]
    res = ok(["explain", "HA-FRONT", "--model-dir", m])
    assert "raises risk" in res.output and "proposed:" in res.output


def test_evaluate_forward_in_time_and_twin(programme, tmp_path):
    ok(["evaluate", "--events", programme, "--train-until", "2021-08-31",
        "--test-until", "2021-12-31", "--horizon-years", 0.4, "--step", 200,
        "--kind", "logistic", "--json", tmp_path / "f.json"])
    forward = json.loads((tmp_path / "f.json").read_text())["summary"]
    assert set(forward) == {"logistic", "baseline: distance to front line",
                            "baseline: density of past events"}
    ok(["evaluate", "--twin", programme, "--step", 200, "--kind", "logistic",
        "--json", tmp_path / "t.json"])
    twin = json.loads((tmp_path / "t.json").read_text())["summary"]
    assert twin["logistic"]["roc_auc"] > 0.8


@pytest.mark.parametrize(("args", "code"), [
    (["map", "--model-dir", "{m}", "--out", "{t}/x.tif", "--extent", "1,2,3"], "RISK_EXTENT"),
    (["fit", "--model-dir", "{t}/m2"], "FIELD_REQUIRED"),
    (["score", "--model-dir", "{t}/none", "--grid", "{t}/g.csv", "--out", "{t}/o.csv"],
     "RISK_MODEL_DIR"),
    (["fit", "--events", "{t}", "--as-of", "2021-01-01", "--model-dir", "{t}/m3", "--kind",
      "forest"], "RISK_MODEL_KIND"),
])
def test_errors_are_coded_with_exit_code_2(programme, tmp_path, args, code):
    m = tmp_path / "m"
    if "{m}" in " ".join(args):
        ok(["fit", "--events", programme, "--as-of", "2021-12-31", "--horizon-years", 0.5,
            "--step", 400, "--model-dir", m, "--kind", "logistic"])
    res = runner.invoke(app, [a.format(m=m, t=tmp_path) for a in args])
    assert res.exit_code == 2, res.output
    assert code in res.output
