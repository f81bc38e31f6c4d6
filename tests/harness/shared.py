"""Where the real data lives: ``../shared/data`` beside the checkout (CI lays a copy there),
else the workplace's /work/shared/data. Read in place, never copied into the repository."""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    for candidate in (_ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    return _ROOT.parent / "shared" / "data"


SHARED_DATA = shared_data()
