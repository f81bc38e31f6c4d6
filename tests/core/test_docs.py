"""Docs are tested: a report field, problem code or CLI command without documentation fails."""

import importlib.util
import re
from pathlib import Path

import click
import pytest

from safeground.cli import command_tree
from safeground.record.problems import CATALOGUE
from safeground.record.reports import REPORT_SPECS

ROOT = Path(__file__).resolve().parents[2]


def _gen():
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts/gen_reference_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_report_field_is_in_the_data_model():
    text = (ROOT / "docs/data-model.md").read_text()
    for rtype, spec in REPORT_SPECS.items():
        assert f"## `{rtype.value}`" in text
        for f in spec.fields:
            assert f"`{f.name}`" in text, (rtype, f.name)


def test_every_problem_code_is_documented():
    _gen().import_all()
    text = (ROOT / "docs/errors.md").read_text()
    missing = [c for c in CATALOGUE if f"`{c}`" not in text]
    assert not missing, f"run scripts/gen_reference_docs.py; undocumented: {missing}"


def _commands(group: click.Command, prefix: str = "safeground") -> list[str]:
    out = []
    for name, cmd in getattr(group, "commands", {}).items():
        out.append(f"{prefix} {name}")
        out += _commands(cmd, f"{prefix} {name}")
    return out


def test_every_cli_command_is_documented():
    text = "".join(p.read_text() for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
    commands = _commands(command_tree())
    assert "safeground risk map" in commands and "safeground import" in commands
    for command in commands:
        assert f"`{command}" in text, command


@pytest.mark.parametrize("doc", ["README.md", "docs/DESIGN.md", "docs/data-model.md",
                                 "docs/report-format.md", "docs/errors.md", "docs/cli.md"])
def test_doc_links_resolve(doc):
    path = ROOT / doc
    for target in re.findall(r"\]\(([^)#:]+\.md)\)", path.read_text()):
        assert (path.parent / target).exists(), (doc, target)


def test_readme_has_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text
