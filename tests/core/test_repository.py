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

#: Absolute folders that belong to one machine or one user: home directories, scratch and
#: mount points, temporary folders, a workplace's own trees. A path under one of them works on
#: the machine it was written on and nowhere else, so no tracked file may name one. System
#: paths the Debian packages install to (/usr/bin/chromium, /usr/lib/postgresql, /dev/null,
#: /etc/...) are the same on every machine with those packages, and are allowed where they
#: are used on purpose. Examples write to relative folders (``--out karabakh``), never to /tmp.
MACHINE_ROOTS = ("work", "workspace", "home", "root", "Users", "tmp", "var/tmp", "var/folders",
                 "private", "mnt", "media", "srv", "opt", "scratch", "nfs")
_ABSOLUTE = re.compile(
    r"(?<![\w./:~$@-])/(?:" + "|".join(re.escape(r) for r in MACHINE_ROOTS) + r")(?=/|\b)")
_WINDOWS = re.compile(r"\b[A-Za-z]:\\(?:Users|Documents and Settings)\\")
#: Files whose leading slash means something else: .gitignore's ``/var/`` is anchored to the
#: repository's own root by git's rules.
_EXEMPT = {".gitignore"}


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
    for bad in ("/work/shared/data", "see /home/amina/x.csv", '"/root/.cache"',
                "--out /tmp/karabakh", "`/Users/x`", "(/mnt/disk)", "C:\\Users\\amina",
                "path=/opt/safeground", "/scratch/reland.csv"):
        assert machine_paths(bad), bad
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
                 if p.suffix == ".py" and p != own and spelled.search(p.read_text("utf-8"))]
    assert not offenders, offenders
