"""The repository stands alone: it names no folder of a particular machine, and the tests read
real data only from the two places tests/harness/shared.py allows."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import shared

ROOT = Path(__file__).resolve().parents[2]

#: The first folders of absolute paths that belong to one machine or one user (listed below).
#: A path under one of them works on the machine it was written on and nowhere else, so no
#: tracked file may name one. System
#: paths the Debian packages install to (/usr/bin/chromium, /usr/lib/postgresql, /dev/null,
#: /etc/...) are the same on every machine with those packages, and are allowed where they
#: are used on purpose. Examples write to relative folders (``--out karabakh``), never to a
#: machine's temporary folder.
MACHINE_ROOTS = ("work", "workspace", "home", "root", "Users", "tmp", "var/tmp", "var/folders",
                 "private", "mnt", "media", "srv", "opt", "scratch", "nfs")
_ABSOLUTE = re.compile(
    r"(?<![\w./:~$@-])/(?:" + "|".join(re.escape(r) for r in MACHINE_ROOTS) + r")(?=/|\b)")
_WINDOWS = re.compile(r"\b[A-Za-z]:\\(?:Users|Documents and Settings)\\")
#: Files whose leading slash means something else: .gitignore's ``/var/`` is anchored to the
#: repository's own root by git's rules.
_EXEMPT = {".gitignore"}
#: This file, whose examples of issue references and of the shared folder's spelling are the
#: rules' own (its machine-path examples are built at run time, so it is checked for those).
_SELF = Path(__file__).resolve()


def machine_paths(text: str) -> list[str]:
    """The absolute machine paths named in ``text`` (one per hit, with a little context)."""
    hits = [m for m in _ABSOLUTE.finditer(text)] + [m for m in _WINDOWS.finditer(text)]
    return [text[max(0, m.start() - 20):m.end() + 20].replace("\n", " ") for m in hits]


def _tracked() -> list[Path]:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                         capture_output=True).stdout.decode()
    return [ROOT / p for p in out.split("\0") if p]


def test_the_rule_finds_machine_paths_and_leaves_system_paths_and_urls_alone():
    # every root, in the places a path stands in docs and code (built here, so that this file
    # names no machine's folder itself and is checked like any other)
    for root in MACHINE_ROOTS:
        folder = "/" + root + "/amina"
        for bad in (folder, f"see {folder}/x.csv", f'"{folder}"', f"--out {folder}",
                    f"`{folder}`", f"({folder})", f"path={folder}", f"{folder}/data"):
            assert machine_paths(bad), bad
    assert machine_paths("C:" + "\\" + "Users" + "\\" + "amina")
    for fine in ("/usr/bin/chromium", "/usr/lib/postgresql/15/bin", "#!/usr/bin/env bash",
                 "sqlite:///var/demo/record.sqlite", "https://example.org/home/x",
                 "/api/v1/status", "src/safeground/tmp_helpers", "../shared/data/azerbaijan",
                 "var/demo/", "/objects/hazardous_area/HA-1", "2>/dev/null", "$HOME/x",
                 "/api/v2/assets/{uid}/data/"):
        assert not machine_paths(fine), fine


def test_no_tracked_file_names_a_folder_of_one_machine():
    found = {}
    for path in _tracked():
        if path.name in _EXEMPT or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue                                  # images and other binary files
        if hits := machine_paths(text):
            found[str(path.relative_to(ROOT))] = hits
    assert not found, f"absolute paths of one machine in tracked files: {found}"


def test_shared_data_is_the_environment_variable_or_the_folder_beside_the_checkout(tmp_path):
    assert shared.shared_data({}) == ROOT.parent / "shared" / "data"
    assert shared.shared_data({shared.ENV: str(tmp_path)}) == tmp_path.resolve()
    reason = shared.missing_reason("colombia-reland/x.csv", root=tmp_path)
    assert reason and str(tmp_path) in reason and shared.ENV in reason
    (tmp_path / "colombia-reland").mkdir()
    (tmp_path / "colombia-reland" / "x.csv").write_text("a\n")
    assert shared.missing_reason("colombia-reland/x.csv", root=tmp_path) is None


def test_only_the_harness_knows_where_the_shared_data_is():
    """Every test and benchmark reaches the real data through tests/harness/shared.py, so the
    two allowed places are decided in one file."""
    own = ROOT / "tests" / "harness" / "shared.py"
    spelled = re.compile(r"""shared["']?\s*/\s*["']?data|shared/data""")
    offenders = [str(p.relative_to(ROOT)) for p in _tracked()
                 if p.suffix == ".py" and p not in (own, _SELF)
                 and spelled.search(p.read_text("utf-8"))]
    assert not offenders, offenders


#: A reference to a tracker's issue: "issue 3", "Issue #4", "(issue 5; ...)", "issue 6 item 1".
#: Code, help and docs speak to users, who have no such tracker.
_ISSUE = re.compile(r"\bissues?\s*#?\d+", re.IGNORECASE)


def issue_references(text: str) -> list[str]:
    return [text[max(0, m.start() - 30):m.end() + 10].replace("\n", " ")
            for m in _ISSUE.finditer(text)]


def test_the_issue_rule_finds_references_and_leaves_words_alone():
    for bad in ("(issue 3)", "Issue 3 contract A", "issue #12", "issues 4 and 5"):
        assert issue_references(bad), bad
    for fine in ("let SQLAlchemy not issue BEGIN", "reports issued by", "colour: #1b3a5c",
                 "bugs.chromium.org/p/chromium/issues/detail?id=600120"):
        assert not issue_references(fine), fine


def test_no_issue_numbers_in_code_help_or_docs():
    found = {}
    for path in _tracked():
        rel = path.relative_to(ROOT)
        if rel.parts[:4] == ("src", "safeground", "web", "static") or \
                path.suffix not in {".py", ".md", ".toml", ".html", ".js", ".sh", ".cfg", ""}:
            continue
        if path == _SELF or not path.is_file():
            continue
        if hits := issue_references(path.read_text(encoding="utf-8")):
            found[str(rel)] = hits
    assert not found, found


def test_no_issue_numbers_in_command_help():
    import click

    from safeground.cli import command_tree

    def texts(cmd: click.Command):
        yield cmd.help or ""
        yield cmd.short_help or ""
        for p in cmd.params:
            yield getattr(p, "help", None) or ""
        for sub in getattr(cmd, "commands", {}).values():
            yield from texts(sub)

    found = [t for t in texts(command_tree()) if issue_references(t)]
    assert not found, found
