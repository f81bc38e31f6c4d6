"""``safeground scenario generate`` writes the files of a scenario."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from safeground.scenario.cli import app


def test_generate_small_rectangle(tmp_path):
    out = tmp_path / "scn"
    result = CliRunner().invoke(app, ["generate", "--seed", "4", "--out", str(out),
                                      "--region", "rectangle", "--settlements", "10"])
    assert result.exit_code == 0, result.output
    assert (out / "reports" / "05_hazardous_area.geojson").exists()
    assert (out / "context" / "elevation.tif").exists()
    manifest = json.loads((out / "scenario.json").read_text())
    assert manifest["seed"] == 4 and manifest["calibration"]["settlements"] == 10


def test_generate_bad_region_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "x"),
                                      "--region", str(tmp_path / "missing.geojson")])
    assert result.exit_code == 2
    assert "SCENARIO_REGION_INVALID" in result.output
