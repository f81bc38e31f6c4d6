"""Write submissions the way the field platforms export them.

The reverse of the parsers, used by the fake ODK Central / KoboToolbox servers in the tests, by
the round-trip test, the benchmarks and the demo: a ``Submission`` whose geo answers are
shapely geometries (or ``(geometry, accuracy)`` pairs) becomes an ODK Central CSV zip or OData
page, a KoboToolbox JSON page or CSV export, or a Survey123 layer with its repeat tables.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from safeground.forms.spec import FORM_ID_FIELD, FORM_VERSION_FIELD, FORMS, HEADER, FormSpec
from safeground.intake.submissions import Submission


def _geo(value: Any) -> tuple[BaseGeometry | None, float | None]:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], BaseGeometry):
        return value
    if isinstance(value, BaseGeometry):
        return value, None
    return None, None


def odk_string(geom: BaseGeometry, accuracy: float | None = None) -> str:
    """ODK ``"lat lon alt acc"`` for a point; ``;``-joined vertices for a line or polygon."""
    acc = 0.0 if accuracy is None else accuracy
    coords = shapely.get_coordinates(geom.exterior if geom.geom_type == "Polygon" else geom)
    # full double precision, as ODK Collect writes it: rounding could fold a thin polygon
    return ";".join(f"{float(y)!r} {float(x)!r} 0.0 {float(acc)!r}" for x, y in coords)


def _paths(form: FormSpec) -> dict[str, str]:
    """Question name -> group path (``hazardous_area/ha_name``) for non-repeat questions."""
    out = {h: h for h in HEADER}
    out[FORM_ID_FIELD] = FORM_ID_FIELD
    out[FORM_VERSION_FIELD] = FORM_VERSION_FIELD
    for s in form.sections:
        if s.repeat:
            continue
        for q, (sec, _) in form.question_map().items():
            if sec is s:
                out[q] = f"{s.name}/{q}"
    return out


def _scalar(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return " ".join(str(x) for x in v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _with_form(sub: Submission, form: FormSpec) -> dict[str, Any]:
    vals = dict(sub.values)
    vals.setdefault(FORM_ID_FIELD, form.form_id)
    vals.setdefault(FORM_VERSION_FIELD, form.version)
    return vals


def _geo_questions(form: FormSpec) -> dict[str, str]:
    return {s.geometry_question: s.geometry for s in form.sections if s.geometry}


# ---------------------------------------------------------------------------- ODK Central
def odk_csv_zip(subs: list[Submission], path: Path) -> Path:
    """An ODK Central "CSV zip" export of one form's submissions."""
    form = FORMS[subs[0].form_id or ""]
    paths = _paths(form)
    geos = _geo_questions(form)

    def columns(qs: list[str], prefix: bool) -> list[str]:
        cols: list[str] = []
        for q in qs:
            name = paths.get(q, q).replace("/", "-") if prefix else q
            if geos.get(q) == "geopoint":
                cols += [f"{name}-{p}" for p in ("Latitude", "Longitude", "Altitude",
                                                 "Accuracy")]
            else:
                cols.append(name)
        return cols

    def cells(vals: dict[str, Any], qs: list[str]) -> list[Any]:
        row: list[Any] = []
        for q in qs:
            g, acc = _geo(vals.get(q))
            if geos.get(q) == "geopoint":
                row += [g.y, g.x, 0, acc if acc is not None else ""] if g is not None \
                    else ["", "", "", ""]
            elif g is not None:
                row.append(odk_string(g, acc))
            else:
                row.append(_scalar(vals.get(q, "")))
        return row

    main_qs = list(paths)
    head = ["SubmissionDate", *columns(main_qs, True), "meta-instanceID", "KEY", "SubmitterID",
            "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status",
            "ReviewState", "DeviceID", "Edits", "FormVersion"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(head)
        for sub in subs:
            w.writerow([sub.submitted_at or "", *cells(_with_form(sub, form), main_qs),
                        sub.instance_id, sub.key, 5, "collector", 0, 0, "", "", "", 0,
                        form.version])
        zf.writestr(f"{form.form_id}.csv", buf.getvalue())
        for s in form.sections:
            if not s.repeat:
                continue
            qs = [q for q, (sec, _) in form.question_map().items() if sec is s]
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerow([*columns(qs, False), "PARENT_KEY", "KEY"])
            for sub in subs:
                for i, entry in enumerate(sub.repeats.get(s.name, []), start=1):
                    w.writerow([*cells(entry, qs), sub.key, f"{sub.key}/{s.name}[{i}]"])
            zf.writestr(f"{form.form_id}-{s.name}.csv", buf.getvalue())
    return path


def _geojson(value: Any) -> dict[str, Any] | None:
    g, acc = _geo(value)
    if g is None:
        return None
    out = dict(mapping(g))
    out["coordinates"] = json.loads(json.dumps(out["coordinates"]))
    if acc is not None:
        out["properties"] = {"accuracy": acc}
    return out


def odata_item(sub: Submission) -> dict[str, Any]:
    """One submission as ODK Central's OData JSON, repeats expanded."""
    form = FORMS[sub.form_id or ""]
    vals = _with_form(sub, form)
    item: dict[str, Any] = {"__id": sub.key, "__system": {
        "submissionDate": sub.submitted_at, "updatedAt": None, "submitterId": "5",
        "submitterName": "collector", "attachmentsPresent": 0, "attachmentsExpected": 0,
        "status": None, "reviewState": None, "deviceId": None, "edits": 0,
        "formVersion": form.version}, "meta": {"instanceID": sub.instance_id}}
    for q, path in _paths(form).items():
        v = vals.get(q)
        v = _geojson(v) or _scalar(v)
        parts = path.split("/")
        node = item
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    for s in form.sections:
        if not s.repeat:
            continue
        qs = [q for q, (sec, _) in form.question_map().items() if sec is s]
        item[s.name] = [
            {"__id": f"{sub.key}-{s.name}-{i}",
             **{q: _geojson(e.get(q)) or _scalar(e.get(q)) for q in qs}}
            for i, e in enumerate(sub.repeats.get(s.name, []), start=1)]
    return item


def odata_page(subs: list[Submission], form_id: str, base: str = "https://central.example",
               project: int = 1, next_link: str | None = None,
               count: int | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@odata.context": f"{base}/v1/projects/{project}/forms/{form_id}.svc/$metadata"
                          "#Submissions",
        "value": [odata_item(s) for s in subs]}
    if count is not None:
        doc["@odata.count"] = count
    if next_link:
        doc["@odata.nextLink"] = next_link
    return doc


# ---------------------------------------------------------------------------- KoboToolbox
def kobo_item(sub: Submission, numeric_id: int = 1) -> dict[str, Any]:
    """One submission as KoboToolbox's JSON (``/api/v2/assets/{uid}/data/``)."""
    form = FORMS[sub.form_id or ""]
    vals = _with_form(sub, form)
    item: dict[str, Any] = {"_id": numeric_id, "formhub/uuid": "f" * 32,
                            "__version__": "vKoboAssetVersion01",
                            "meta/instanceID": sub.instance_id,
                            "meta/rootUuid": sub.key,
                            "_uuid": sub.instance_id.removeprefix("uuid:"),
                            "_submission_time": sub.submitted_at, "_attachments": [],
                            "_status": "submitted_via_web", "_validation_status": {},
                            "_submitted_by": None, "_tags": [], "_notes": []}
    first_point = None
    for q, path in _paths(form).items():
        v = vals.get(q)
        g, acc = _geo(v)
        if g is not None:
            item[path] = odk_string(g, acc)
            if g.geom_type == "Point" and first_point is None:
                first_point = [g.y, g.x]
        elif v is not None:
            item[path] = _scalar(v)
    item["_geolocation"] = first_point or [None, None]
    for s in form.sections:
        if not s.repeat or not sub.repeats.get(s.name):
            continue
        entries = []
        for e in sub.repeats[s.name]:
            out = {}
            for q, v in e.items():
                g, acc = _geo(v)
                out[f"{s.name}/{q}"] = odk_string(g, acc) if g is not None else _scalar(v)
            entries.append(out)
        item[s.name] = entries
    return item


def kobo_page(subs: list[Submission], count: int | None = None, next_url: str | None = None,
              previous: str | None = None, start_id: int = 1) -> dict[str, Any]:
    return {"count": len(subs) if count is None else count, "next": next_url,
            "previous": previous,
            "results": [kobo_item(s, start_id + i) for i, s in enumerate(subs)]}


def kobo_csv(subs: list[Submission], path: Path, delimiter: str = ";") -> Path:
    """A KoboToolbox CSV export (no repeats), with split geopoint columns."""
    form = FORMS[subs[0].form_id or ""]
    paths = _paths(form)
    geos = _geo_questions(form)
    head: list[str] = []
    for q, p in paths.items():
        head.append(p)
        if geos.get(q) == "geopoint":
            head += [f"_{q}_latitude", f"_{q}_longitude", f"_{q}_altitude", f"_{q}_precision"]
    head += ["_id", "_uuid", "_submission_time", "_validation_status", "_status", "__version__",
             "_index"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(head)
        for n, sub in enumerate(subs, start=1):
            vals = _with_form(sub, form)
            row: list[Any] = []
            for q in paths:
                g, acc = _geo(vals.get(q))
                if g is not None:
                    row.append(odk_string(g, acc))
                    if geos.get(q) == "geopoint":
                        row += [g.y, g.x, 0, acc if acc is not None else ""]
                else:
                    row.append(_scalar(vals.get(q, "")))
                    if geos.get(q) == "geopoint":
                        row += ["", "", "", ""]
            row += [n, sub.instance_id.removeprefix("uuid:"), sub.submitted_at or "", "",
                    "submitted_via_web", "vKoboAssetVersion01", n]
            w.writerow(row)
    return path


# ------------------------------------------------------------------------------ Survey123
def survey123_zip(subs: list[Submission], path: Path) -> Path:
    """A Survey123 feature layer as GeoJSON, with one related table per repeat, zipped."""
    form = FORMS[subs[0].form_id or ""]
    geos = _geo_questions(form)
    main_geo = next((s.geometry_question for s in form.sections
                     if not s.repeat and s.geometry == "geoshape"),
                    next((s.geometry_question for s in form.sections
                          if not s.repeat and s.geometry), None))
    layers: dict[str, list[dict[str, Any]]] = {form.form_id: []}
    for n, sub in enumerate(subs, start=1):
        vals = _with_form(sub, form)
        gid = _guid(sub.key)
        props: dict[str, Any] = {"objectid": n, "globalid": gid}
        geom = None
        for q, v in vals.items():
            g, _ = _geo(v)
            if q == main_geo:
                geom = _geojson(v)
            elif g is None and q in geos:
                continue
            elif g is None:
                props[q] = _epoch(v) if isinstance(v, dt.date) else _scalar(v)
        ms = _iso_ms(sub.submitted_at)
        props.update({"CreationDate": ms, "EditDate": ms, "Creator": "collector",
                      "Editor": "collector"})
        layers[form.form_id].append({"type": "Feature", "geometry": geom, "properties": props})
        for s in form.sections:
            for i, e in enumerate(sub.repeats.get(s.name, []) if s.repeat else [], start=1):
                rprops: dict[str, Any] = {"objectid": i, "globalid": _guid(f"{sub.key}/{s.name}"
                                                                             f"[{i}]"),
                                          "parentglobalid": gid}
                rgeom = None
                for q, v in e.items():
                    if q == s.geometry_question:
                        rgeom = _geojson(v)
                    else:
                        rprops[q] = _epoch(v) if isinstance(v, dt.date) else _scalar(v)
                layers.setdefault(s.name, []).append(
                    {"type": "Feature", "geometry": rgeom, "properties": rprops})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, feats in layers.items():
            zf.writestr(f"{name}.geojson", json.dumps(
                {"type": "FeatureCollection", "features": feats}))
    return path


def _guid(key: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def _epoch(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000)


def _iso_ms(text: str | None) -> int | None:
    if not text:
        return None
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
