"""scripts/system-packages.sh: as root it installs what is missing; as anyone else it says what
is missing and the command to install it, and lets the run go on (the tests that need those
packages then skip, saying why)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.postgis import PostgisUnavailable, skip_reason

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "system-packages.sh"
PACKAGES = ("postgresql-15 postgresql-15-postgis-3 chromium chromium-driver "
            "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core "
            "default-jre-headless")


def _shim(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def _fake_system(folder: Path, *, installed: set[str], uid: int | None) -> Path:
    """A folder of stand-ins, put first on PATH: ``dpkg -s`` knows only ``installed``,
    ``apt-get`` writes its arguments to ``apt.log``, and ``id -u`` says ``uid``."""
    log = folder / "apt.log"
    cases = " ".join(installed) or "__none__"
    _shim(folder, "dpkg", f'for p in {cases}; do [ "$2" = "$p" ] && exit 0; done; exit 1')
    _shim(folder, "apt-get", f'echo "$@" >> {log}')
    if uid is not None:
        _shim(folder, "id", f"echo {uid}")
    return log


def _run(folder: Path, user: list[str] | None = None,
         script: Path = SCRIPT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}"}
    return subprocess.run([*(user or []), "bash", str(script)], env=env, capture_output=True,
                          text=True, timeout=60)


def test_a_user_who_is_not_root_is_told_what_is_missing_and_the_run_goes_on(tmp_path):
    log = _fake_system(tmp_path, installed={"chromium"}, uid=1000)
    res = _run(tmp_path)
    assert res.returncode == 0, res.stderr
    missing = "postgresql-15 postgresql-15-postgis-3 chromium-driver"
    assert f"Missing Debian packages: {missing}" in res.stderr
    assert f"sudo apt-get install -y --no-install-recommends {missing}" in res.stderr
    assert "skipped" in res.stderr
    assert not log.exists()                       # nothing installed, nothing tried


def test_root_installs_what_is_missing(tmp_path):
    log = _fake_system(tmp_path, installed=set(), uid=0)
    res = _run(tmp_path)
    assert res.returncode == 0, res.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "update -qq"
    assert calls[1] == f"install -y -qq --no-install-recommends {PACKAGES}"


def test_nothing_is_said_or_done_when_everything_is_installed(tmp_path):
    log = _fake_system(tmp_path, installed=set(PACKAGES.split()), uid=1000)
    res = _run(tmp_path)
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")
    assert not log.exists()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("runuser") is None,
                    reason="needs root and runuser to run the script as another user")
def test_the_script_run_by_a_real_user_who_is_not_root():
    """The same as the first test, with the real ``id`` of the user ``nobody``."""
    folder = Path(tempfile.mkdtemp(prefix="sg-packages-"))
    try:
        folder.chmod(0o755)
        log = _fake_system(folder, installed=set(), uid=None)
        script = Path(shutil.copy(SCRIPT, folder / SCRIPT.name))   # a checkout may be private
        res = _run(folder, script=script, user=["runuser", "-u", "nobody", "--", "env",
                                                f"PATH={folder}:{os.environ['PATH']}"])
        assert res.returncode == 0, res.stderr
        assert f"sudo apt-get install -y --no-install-recommends {PACKAGES}" in res.stderr
        assert not log.exists()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_postgis_tests_skip_where_it_is_not_installed_and_fail_under_ci():
    exc = PostgisUnavailable("PostgreSQL server programs were not found")
    reason = skip_reason(exc, {})
    assert reason and "not installed" in reason and "were not found" in reason
    assert skip_reason(exc, {"CI": "true"}) is None
    assert skip_reason(exc, {"CI": "true", "SAFEGROUND_SKIP_POSTGIS": "1"})
