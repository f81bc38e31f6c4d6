"""What the risk model and the plan say about one hazardous area, from the work directory.

* the risk ranking (``area-risk.csv``, ``safeground risk rank``): the area's rank among all
  ranked areas, its mean and highest probability of contamination, the expected contaminated
  m², the classification the evidence rules propose (SHA / CHA) and their score, and the
  factors raising and lowering its risk (log-odds);
* the current plan (``plan/plan_areas.csv``, ``plan/plan.json``): the activities and teams it
  puts on the area, their start and the area's planned release date.

Read once per version of each file. Nothing here changes the record: the outputs are
proposals, for people to act on through reports.
"""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path
from typing import Any

from safeground.record.labels import value as label

RISK_FILE = "area-risk.csv"
_cache: dict[Path, tuple[int, Any]] = {}
_lock = threading.Lock()


def _read(path: Path, parse: Any) -> Any:
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    with _lock:
        hit = _cache.get(path)
        if hit and hit[0] == mtime:
            return hit[1]
    value = parse(path)
    with _lock:
        _cache[path] = (mtime, value)
    return value


def _rows_by_id(column: str) -> Any:
    def parse(path: Path) -> dict[str, dict[str, str]]:
        with path.open(newline="", encoding="utf-8") as fh:
            return {r[column]: r for r in csv.DictReader(fh) if r.get(column)}
    return parse


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _factors(text: str | None) -> list[dict[str, Any]]:
    try:
        items = json.loads(text or "[]")
    except ValueError:
        return []
    return [{"feature": f.get("feature"), "label": feature_label(str(f.get("feature"))),
             "value": _float(f.get("value")), "log_odds": _float(f.get("log_odds"))}
            for f in items if isinstance(f, dict)]


def feature_label(name: str) -> str:
    """A model feature as people read it: ``dist_roads_km`` → "distance to roads (km)"."""
    text = name
    unit = ""
    for suffix, u in (("_km", " (km)"), ("_m", " (m)"), ("_1km", " within 1 km"),
                      ("_5km", " within 5 km")):
        if text.endswith(suffix):
            text, unit = text[: -len(suffix)], u
            break
    if text.startswith("dist_"):
        text = "distance to " + text[5:]
    elif text.startswith("density_"):
        text = "density of " + text[8:]
    return label(text) + unit


def area_risk(work_dir: Path | None, area_id: str) -> dict[str, Any] | None:
    """The area's row of the risk ranking, typed, with its factors (None without one)."""
    if work_dir is None:
        return None
    rows = _read(Path(work_dir) / RISK_FILE, _rows_by_id("object_id"))
    if not rows or area_id not in rows:
        return None
    r = rows[area_id]
    return {"rank": int(r["rank"]) if r.get("rank", "").isdigit() else None, "of": len(rows),
            "mean_probability": _float(r.get("mean_probability")),
            "max_probability": _float(r.get("max_probability")),
            "expected_contaminated_m2": _float(r.get("expected_contaminated_m2")),
            "proposed": r.get("proposed") or None, "score": _float(r.get("score")),
            "raising": _factors(r.get("raising")), "lowering": _factors(r.get("lowering"))}


def area_plan(work_dir: Path | None, area_id: str) -> dict[str, Any] | None:
    """What the current plan does with the area: None without a plan; ``scheduled`` False
    when the plan puts no team on it."""
    if work_dir is None:
        return None
    folder = Path(work_dir) / "plan"
    rows = _read(folder / "plan_areas.csv", _rows_by_id("area_id"))
    if rows is None:
        return None
    meta = _read(folder / "plan.json", lambda p: json.loads(p.read_text())) or {}
    r = rows.get(area_id)
    out: dict[str, Any] = {"made": meta.get("made"), "start": meta.get("start"),
                           "method": meta.get("method"), "scheduled": bool(r and r["teams"])}
    if r and r["teams"]:
        out.update(activities=[label(a) for a in r["activities"].split(",") if a],
                   teams=r["teams"], start_date=r.get("start_date") or None,
                   release_date=r.get("release_date") or None,
                   priority_rank=r.get("priority_rank") or None)
    return out
