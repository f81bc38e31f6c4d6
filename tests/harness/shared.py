"""Where the real data lives, read in place and never copied into the repository.

Two places only, so that a run on a fresh clone reads nothing it was not told about:

1. ``$SAFEGROUND_SHARED_DATA``, when set (a folder holding ``colombia-reland/``,
   ``colombia-map-muse-events/``, ``azerbaijan-adm2/``, each with its SOURCE.md);
2. else ``../shared/data`` beside the checkout (where CI lays a copy).

Tests that need a data set ask for it with :func:`require`, which skips the test with a reason
naming the folder it looked in and how to provide it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
ENV = "SAFEGROUND_SHARED_DATA"


def shared_data(environ: dict[str, str] | None = None) -> Path:
    """The shared data folder: ``$SAFEGROUND_SHARED_DATA`` if set, else ``../shared/data``
    beside the checkout (which may not exist)."""
    env = os.environ if environ is None else environ
    if env.get(ENV):
        return Path(env[ENV]).expanduser().resolve()
    return _ROOT.parent / "shared" / "data"


SHARED_DATA = shared_data()


def missing_reason(relative: str, root: Path | None = None) -> str | None:
    """Why ``relative`` (a path inside the shared data) cannot be read, or None if it can."""
    base = SHARED_DATA if root is None else root
    if (base / relative).exists():
        return None
    return (f"real data {relative} not found in {base} (set {ENV} to the shared data folder, "
            "or lay it at ../shared/data beside the checkout)")


def require(relative: str) -> Path:
    """The path of ``relative`` in the shared data; skips the calling test when it is absent."""
    if reason := missing_reason(relative):
        pytest.skip(reason)
    return SHARED_DATA / relative


def skip_unless(relative: str) -> pytest.MarkDecorator:
    """A ``skipif`` mark for tests that need ``relative`` from the shared data."""
    reason = missing_reason(relative)
    return pytest.mark.skipif(reason is not None, reason=reason or "")
