"""The public CLI (``safeground risk ...``) on small real and synthetic inputs."""

from __future__ import annotations

import json

import numpy as np
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


def test_score_takes_a_file_lacking_one_hot_columns_and_values(reland_like, tmp_path):
    grid = tmp_path / "grid.csv"
    reland_like.to_csv(grid, index=False)
    m = tmp_path / "m"
    ok(["fit", "--grid", grid, "--model-dir", m, "--kind", "lightgbm,logistic,plain"])
    other = reland_like[reland_like["Municipio"].isin(["M1", "M4"])].drop(
        columns=["mines_outcome", "Vocacion_Forestal", "CLIMA_Frío muy húmedo",
                 "TIPO_RELIE_Vallecitos", "railways_dist", "rwi_missing"])
    other.loc[other.index[::2], "rwi"] = float("nan")
    other.loc[other.index[::3], "population_2020"] = float("nan")
    path = tmp_path / "other.csv"
    other.to_csv(path, index=False)
    for kind in ("lightgbm", "logistic", "plain"):
        out = tmp_path / f"{kind}.csv"
        res = ok(["score", "--model-dir", m, "--grid", path, "--out", out, "--kind", kind])
        text = " ".join(res.output.split())
        if kind != "logistic":      # its few features hold no one-hot class nor railways
            assert "counted as 0" in text and "TIPO_RELIE_Vallecitos" in text
            assert "railways_dist=" in text
        assert "imputed" in text and "population_2020 (80)" in text
        scored = pd.read_csv(out)
        assert len(scored) == len(other)
        assert scored["probability"].notna().all() and (scored["probability"] < 1).all()
        assert scored["score"].nunique() > 10
    meta = json.loads((m / "model.json").read_text())
    assert [s["model"] for s in meta["scored"]] == ["lightgbm", "logistic", "plain"]
    first = meta["scored"][0]
    assert "Vocacion_Forestal" in first["zero_filled"] and "railways_dist" in first["imputed"]
    assert first["missing_values"]["population_2020"] == len(other[::3]) == 80
    assert meta["models"]["logistic"]["imputation"]["fill_values"]["rwi"] is not None


def test_score_refuses_a_file_without_what_the_model_needs(reland_like, tmp_path):
    grid = tmp_path / "grid.csv"
    reland_like.to_csv(grid, index=False)
    ok(["fit", "--grid", grid, "--model-dir", tmp_path / "m", "--kind", "plain"])
    bare = reland_like[["LATITUD_Y", "LONGITUD_X", "Municipio", "railways_dist"]]
    bare.to_csv(tmp_path / "bare.csv", index=False)
    res = runner.invoke(app, ["score", "--model-dir", str(tmp_path / "m"), "--grid",
                              str(tmp_path / "bare.csv"), "--out", str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "RISK_FEATURE_MISSING" in res.output


def test_logistic_fits_and_scores_rows_with_missing_values(reland_like, tmp_path):
    df = reland_like.copy()
    df.loc[df.index[::2], "buildings_dist"] = float("nan")
    grid = tmp_path / "grid.csv"
    df.to_csv(grid, index=False)
    ok(["fit", "--grid", grid, "--model-dir", tmp_path / "m", "--kind", "logistic"])
    ok(["score", "--model-dir", tmp_path / "m", "--grid", grid, "--out", tmp_path / "s.csv"])
    s = pd.read_csv(tmp_path / "s.csv")
    assert s["score"].notna().all()
    # a missing distance stands in for the training mean: it adds nothing to the log-odds
    from safeground.risk import reland, store

    model = store.load(tmp_path / "m")[0]["logistic"]
    scored = reland.with_known_density(reland.load_grid(grid))[0]
    c = model.contributions(scored)["buildings_dist"]
    assert (c[df.index[::2]] == 0).all() and (c[df.index[1::2]] != 0).all()


def test_fit_chooses_the_configuration_from_the_command_line(reland_like, tmp_path):
    grid = tmp_path / "grid.csv"
    reland_like.to_csv(grid, index=False)
    ok(["fit", "--grid", grid, "--model-dir", tmp_path / "p", "--kind", "pooled"])
    meta = json.loads((tmp_path / "p" / "model.json").read_text())
    assert meta["models"]["pooled"]["config"]["pool_features"]
    ok(["fit", "--grid", grid, "--model-dir", tmp_path / "n", "--kind", "pooled,inner-cv",
        "--no-pool"])
    meta = json.loads((tmp_path / "n" / "model.json").read_text())
    assert meta["kinds"] == {"pooled": "alone", "inner-cv": "alone"}
    assert not meta["models"]["pooled"]["config"]["pool_features"]
    assert "selection" not in meta["models"]["inner-cv"]["train"]


def test_map_on_a_grid_the_user_chose_in_another_crs(programme, tmp_path):
    from pyproj import Transformer
    from rio_cogeo.cogeo import cog_validate

    m = tmp_path / "m"
    ok(["fit", "--events", programme, "--as-of", "2021-12-31", "--horizon-years", 0.5,
        "--step", 400, "--model-dir", m, "--kind", "lightgbm"])
    t = Transformer.from_crs("EPSG:32638", "EPSG:4326", always_xy=True)
    lon0, lat0 = t.transform(602000, 4401000)
    lon1, lat1 = t.transform(610000, 4407000)
    tif = tmp_path / "risk4326.tif"
    res = ok(["map", "--model-dir", m, "--out", tif, "--resolution", 200, "--scheduler",
              "sync", "--crs", "EPSG:4326", "--extent-crs", "EPSG:4326",
              "--extent", f"{lon0},{lat0},{lon1},{lat1}"])
    assert "COG valid: True" in " ".join(res.output.split())
    valid, errors, _ = cog_validate(str(tif), quiet=True)
    assert valid, errors
    with rasterio.open(tif) as src:
        assert src.crs.to_epsg() == 4326 and src.count == 2
        left, bottom, right, top = src.bounds
        assert abs(left - lon0) < 1e-6 and abs(top - lat1) < 1e-6
        assert right >= lon1 > right - src.res[0] and bottom <= lat0 < bottom + src.res[1]
        assert abs(src.res[0] - 200 / 111_320) < 1e-9
        p, z = src.read(1), src.read(2)
    inside = p >= 0
    assert inside.mean() > 0.95 and (p[inside] < 1).all()
    # the score orders the cells the way the probabilities do
    order = np.argsort(z[inside], kind="stable")
    assert (np.diff(p[inside][order]) >= -1e-7).all()
    assert not list(tmp_path.glob("*.model-crs.tif"))
