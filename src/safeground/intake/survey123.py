"""Survey123 / ArcGIS feature-layer GeoJSON.

The survey's layer is a FeatureCollection whose properties are the question names (Survey123
wants them unique across the form, so no group paths) plus ``objectid``, ``globalid``,
``CreationDate``/``EditDate`` (epoch milliseconds) and ``Creator``/``Editor``. A layer has one
geometry: it answers the first geo question of its type (Point -> the first geopoint, Polygon ->
the first geoshape). Each repeat is a related table of its own, ``<repeat>.geojson`` beside the
main layer (in a zip or a folder), linked by ``parentglobalid``. Dates are epoch milliseconds.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from safeground.forms.spec import FORM_ID_FIELD, FORMS
from safeground.intake.errors import FileProblem
from safeground.intake.submissions import Submission

_SYSTEM = {"objectid", "globalid", "parentglobalid", "CreationDate", "Creator", "EditDate",
           "Editor", "OBJECTID", "GlobalID"}
_GEO_KIND = {"Point": "geopoint", "Polygon": "geoshape", "MultiPolygon": "geoshape",
             "LineString": "geotrace"}


def is_survey123(doc: Any) -> bool:
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return False
    feats = doc.get("features") or []
    props = (feats[0].get("properties") or {}) if feats and isinstance(feats[0], dict) else {}
    return "globalid" in props or "GlobalID" in props


def _geo_question(form_id: str | None, geom_type: str | None, repeat: str | None) -> str | None:
    form = FORMS.get(form_id or "")
    kind = _GEO_KIND.get(geom_type or "")
    if form is None or kind is None:
        return None
    for s in form.sections:
        if s.geometry == kind and (s.name == repeat if repeat else not s.repeat):
            return s.geometry_question
    return None


def _props(feature: dict[str, Any], form_id: str | None, repeat: str | None) -> dict[str, Any]:
    props = {k: v for k, v in (feature.get("properties") or {}).items()
             if k not in _SYSTEM and v is not None}
    geom = feature.get("geometry")
    q = _geo_question(form_id, (geom or {}).get("type") if isinstance(geom, dict) else None,
                      repeat)
    if q and geom:
        props[q] = geom
    return props


def read(path: Path) -> Iterator[Submission | FileProblem]:
    """A ``.geojson`` layer, or a zip / folder of the main layer and repeat tables."""
    layers = _load_layers(path)
    main_name, main = next(((n, d) for n, d in layers.items() if _is_main(d)),
                           (None, None))
    if main is None or main_name is None:
        raise FileProblem("COLUMN_MISSING", path.name, column=FORM_ID_FIELD)
    feats = main.get("features") or []
    form_id = next((str(f.get("properties", {}).get(FORM_ID_FIELD)) for f in feats
                    if isinstance(f, dict) and (f.get("properties") or {}).get(FORM_ID_FIELD)),
                   None)
    children: dict[str, dict[str, list[tuple[str, dict[str, Any]]]]] = {}
    for name, doc in layers.items():
        if name == main_name:
            continue
        for i, f in enumerate(doc.get("features") or [], start=1):
            parent = str((f.get("properties") or {}).get("parentglobalid", ""))
            children.setdefault(parent.strip("{}").lower(), {}).setdefault(name, []).append(
                (f"{path.name}:{name} feature {i}", _props(f, form_id, name)))
    for i, f in enumerate(feats, start=1):
        where = f"{path.name} feature {i}"
        props = f.get("properties") if isinstance(f, dict) else None
        if not isinstance(props, dict) or not (props.get("globalid") or props.get("GlobalID")):
            yield FileProblem("SUBMISSION_MALFORMED", where, reason="no globalid")
            continue
        gid = str(props.get("globalid") or props.get("GlobalID")).strip("{}").lower()
        reps = children.get(gid, {})
        edited = props.get("EditDate") or props.get("CreationDate")
        yield Submission(
            key=gid, instance_id=f"{gid}@{edited}" if edited else gid, form_id=form_id,
            version=None, values=_props(f, form_id, None),
            repeats={r: [v for _, v in items] for r, items in reps.items()},
            repeat_where={r: [w for w, _ in items] for r, items in reps.items()},
            submitted_at=_iso(edited), where=where)


def _iso(ms: Any) -> str | None:
    if isinstance(ms, int | float):
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()
    return str(ms) if ms else None


def _is_main(doc: dict[str, Any]) -> bool:
    feats = doc.get("features") or []
    return any(FORM_ID_FIELD in (f.get("properties") or {}) for f in feats
               if isinstance(f, dict))


def _load_layers(path: Path) -> dict[str, dict[str, Any]]:
    raw: dict[str, bytes] = {}
    try:
        if path.is_dir():
            raw = {p.stem: p.read_bytes() for p in sorted(path.glob("*.geojson"))}
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                raw = {Path(n).stem: zf.read(n) for n in zf.namelist()
                       if n.lower().endswith((".geojson", ".json"))}
        else:
            raw = {path.stem: path.read_bytes()}
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise FileProblem("FILE_UNREADABLE", path.name, reason=str(exc)[:120]) from exc
    out: dict[str, dict[str, Any]] = {}
    for name, data in raw.items():
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise FileProblem("FILE_ENCODING", path.name, encoding="UTF-8",
                              reason=f"byte {exc.start}: {exc.reason}") from exc
        except json.JSONDecodeError as exc:
            raise FileProblem("FILE_UNREADABLE", path.name, reason=str(exc)[:120]) from exc
        if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
            out[name] = doc
    return out
