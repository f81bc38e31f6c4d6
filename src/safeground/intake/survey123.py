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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from safeground.forms.spec import FORM_ID_FIELD, FORMS
from safeground.intake.errors import FileProblem
from safeground.intake.limits import SafeZip, load_json
from safeground.intake.submissions import Submission
from safeground.settings import Settings

_SYSTEM = {"objectid", "globalid", "parentglobalid", "CreationDate", "Creator", "EditDate",
           "Editor", "OBJECTID", "GlobalID"}
_GEO_KIND = {"Point": "geopoint", "Polygon": "geoshape", "MultiPolygon": "geoshape",
             "LineString": "geotrace"}


def is_survey123(doc: Any) -> bool:
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        return False
    feats = doc.get("features")
    props = _properties(feats[0]) if isinstance(feats, list) and feats else {}
    return "globalid" in props or "GlobalID" in props


def _features(doc: dict[str, Any]) -> list[Any]:
    feats = doc.get("features")
    return feats if isinstance(feats, list) else []


def _properties(feature: Any) -> dict[str, Any]:
    """A feature's properties; {} when the feature or its properties are not objects."""
    props = feature.get("properties") if isinstance(feature, dict) else None
    return props if isinstance(props, dict) else {}


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
    props = {k: v for k, v in _properties(feature).items()
             if k not in _SYSTEM and v is not None}
    geom = feature.get("geometry") if isinstance(feature, dict) else None
    kind = geom.get("type") if isinstance(geom, dict) else None
    q = _geo_question(form_id, kind if isinstance(kind, str) else None, repeat)
    if q and geom:
        props[q] = geom
    return props


def read(path: Path, settings: Settings | None = None) -> Iterator[Submission | FileProblem]:
    """A ``.geojson`` layer, or a zip / folder of the main layer and repeat tables."""
    layers = _load_layers(path, settings)
    main_name, main = next(((n, d) for n, d in layers.items() if _is_main(d)),
                           (None, None))
    if main is None or main_name is None:
        raise FileProblem("COLUMN_MISSING", path.name, column=FORM_ID_FIELD)
    feats = _features(main)
    form_id = next((str(_properties(f)[FORM_ID_FIELD]) for f in feats
                    if _properties(f).get(FORM_ID_FIELD)), None)
    children: dict[str, dict[str, list[tuple[str, dict[str, Any]]]]] = {}
    for name, doc in layers.items():
        if name == main_name:
            continue
        for i, f in enumerate(_features(doc), start=1):
            parent = str(_properties(f).get("parentglobalid", ""))
            children.setdefault(parent.strip("{}").lower(), {}).setdefault(name, []).append(
                (f"{path.name}:{name} feature {i}", _props(f, form_id, name)))
    for i, f in enumerate(feats, start=1):
        where = f"{path.name} feature {i}"
        props = _properties(f)
        if not (props.get("globalid") or props.get("GlobalID")):
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
    if isinstance(ms, int | float) and not isinstance(ms, bool):
        try:
            return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()
        except (OverflowError, OSError, ValueError):  # out of the calendar: kept as given
            return str(ms)[:40]
    return str(ms)[:40] if ms else None


def _is_main(doc: dict[str, Any]) -> bool:
    return any(FORM_ID_FIELD in _properties(f) for f in _features(doc))


def _load_layers(path: Path, settings: Settings | None = None) -> dict[str, dict[str, Any]]:
    raw: dict[str, tuple[str, bytes]] = {}
    try:
        if path.is_dir():
            raw = {p.stem: (p.name, p.read_bytes()) for p in sorted(path.glob("*.geojson"))}
        elif path.suffix.lower() == ".zip":
            with SafeZip(path, settings) as zf:
                raw = {Path(i.filename).stem: (f"{path.name}:{i.filename[:80]}", zf.read(i))
                       for i in zf.infos if i.filename.lower().endswith((".geojson", ".json"))}
        else:
            raw = {path.stem: (path.name, path.read_bytes())}
    except OSError as exc:
        raise FileProblem("FILE_UNREADABLE", path.name, reason=str(exc)[:120]) from exc
    out: dict[str, dict[str, Any]] = {}
    for name, (label, data) in raw.items():
        doc = load_json(data, label, settings)
        if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
            out[name] = doc
    return out
