"""Every risk command and problem code is documented (STYLE.md habit 10)."""

from __future__ import annotations

from pathlib import Path

from safeground.record import problems
from safeground.risk import errors  # noqa: F401  (registers the RISK_* codes)
from safeground.risk.cli import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "risk-model.md"


def test_every_command_is_in_the_risk_model_doc():
    text = DOC.read_text(encoding="utf-8")
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"fit", "evaluate", "score", "map", "rank", "explain"} <= set(names)
    for name in names:
        assert f"`risk {name}" in text, name


def test_risk_codes_are_registered_with_templates():
    codes = [c for c in problems.CATALOGUE if c.startswith("RISK_")]
    assert len(codes) >= 10
    p = problems.Problem("RISK_EXTENT", params={"value": "1,2,3"})
    assert "1,2,3" in p.message
