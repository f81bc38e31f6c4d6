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


@pytest.mark.parametrize("doc", ["README.md", "CONTRIBUTING.md", "docs/DESIGN.md",
                                 "docs/data-model.md", "docs/report-format.md", "docs/errors.md",
                                 "docs/cli.md", "docs/domain.md", "docs/planning.md",
                                 "docs/web.md", "docs/intake.md", "docs/risk-model.md",
                                 "docs/scenario.md", "docs/reports.md", "docs/deploy.md"])
def test_doc_links_resolve(doc):
    path = ROOT / doc
    for target in re.findall(r"\]\(([^)#:]+\.md)\)", path.read_text()):
        assert (path.parent / target).exists(), (doc, target)


def test_readme_has_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert "make demo" in text and "make test" in text


# --------------------------------------------------------------------------- the README runs

#: README commands too slow or too long-lived to run inside a test: ``make demo`` builds a
#: 10,000 km² region and then serves the web app until stopped; ``make test`` is this suite.
#: Each is checked through ``make -n`` (the recipe make would run, built from the Makefile) and,
#: for the demo, the command it dispatches to (``safeground demo --help``).
DISPATCHED = {"make demo": ("safeground demo", ["demo", "--help"]),
              "make test": ("pytest", None)}


def readme_commands() -> list[str]:
    """Every command line in the README's ``sh`` blocks, comments and prompts stripped."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if line := line.split(" #")[0].strip():
                lines.append(line)
    return lines


def _safeground(argv: list[str], cwd: Path, env: dict[str, str]):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "safeground.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_readme_shows_only_commands_this_test_knows_how_to_run():
    cmds = readme_commands()
    assert cmds[:2] == ["make demo", "make test"]
    for cmd in cmds:
        assert cmd in DISPATCHED or cmd.startswith(("export ", ".venv/bin/safeground ")), cmd


def test_every_readme_command_runs(tmp_path):
    """The README's commands, in order, in an empty folder: the two ``make`` targets through
    ``make -n`` (see DISPATCHED), ``export`` into the environment of the next ones, and every
    ``.venv/bin/safeground`` command run for real (the CLI of this checkout), each exiting 0."""
    import os
    import shlex
    import shutil
    import subprocess

    env = dict(os.environ)
    for cmd in readme_commands():
        if cmd in DISPATCHED:
            recipe, dispatch = DISPATCHED[cmd]
            if shutil.which("make") is None:
                pytest.skip("make is not installed")
            dry = subprocess.run(["make", "-n", cmd.split()[1]], cwd=ROOT, capture_output=True,
                                 text=True, timeout=60)
            assert dry.returncode == 0 and recipe in dry.stdout, (cmd, dry.stdout, dry.stderr)
            if dispatch:
                res = _safeground(dispatch, tmp_path, env)
                assert res.returncode == 0 and "Usage" in res.stdout, res.stderr
        elif cmd.startswith("export "):
            name, _, value = cmd.removeprefix("export ").partition("=")
            env[name] = value
        else:
            res = _safeground(shlex.split(cmd)[1:], tmp_path, env)
            assert res.returncode == 0, (cmd, res.stdout[-2000:], res.stderr[-2000:])
    # what the tour says it makes is there
    assert (tmp_path / "var/example/record.sqlite").is_file()
    assert (tmp_path / "areas.geojson").is_file() and (tmp_path / "2021.html").is_file()


def test_the_readme_tour_fits_on_two_screens_and_its_pictures_exist():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = text.index("## Quick start"), text.index("## Documentation")
    assert len(text[start:end].splitlines()) <= 100
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
    assert {Path(p).name for p in pictures} >= {"map.png", "dashboard.png", "review.png",
                                                 "plan.png"}
    for p in pictures:
        data = (ROOT / p).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 400_000, p


def test_every_safeground_environment_variable_is_documented():
    """Variables the program reads are in docs/cli.md (Configuration); those only the tests
    and scripts read are in CONTRIBUTING.md."""
    pattern = re.compile(r"SAFEGROUND_[A-Z][A-Z_]*[A-Z]")

    def named(folder: str) -> set[str]:
        return {v for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".sh", ".toml"}
                for v in pattern.findall(p.read_text(encoding="utf-8"))}

    program = named("src")
    tests = named("tests") | named("scripts") | named("benchmarks")
    assert {"SAFEGROUND_EXTENT", "SAFEGROUND_UTM_EPSG"} <= program
    cli_doc = (ROOT / "docs/cli.md").read_text(encoding="utf-8")
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert not [v for v in program if f"`{v}`" not in cli_doc]
    assert not [v for v in tests - program if f"`{v}" not in contributing]
