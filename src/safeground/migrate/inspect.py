"""Inspecting a source: every layer and field with its type, counts and most common values,
and a starter mapping file with a guessed report type per layer and a guessed Safeground field
per column — every guess marked for review."""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeground.migrate.source import Layer, Source
from safeground.record.reports import REPORT_SPECS, FieldSpec
from safeground.record.vocabulary import ReportType

#: words in layer names (English, Russian, Azerbaijani, IMSMA's own) -> report type
LAYER_WORDS: list[tuple[str, ReportType]] = [
    (r"victim|casualt|жертв|пострадав|zərər|qurban", ReportType.VICTIM),
    (r"accident|incident|авари|несчаст|инцидент|qəza|hadisə", ReportType.ACCIDENT),
    (r"reduction|release|cancel|clear|сокращ|очищ|отмен|azad", ReportType.LAND_RELEASE),
    (r"hazard|sha|cha|minefield|опасн|минн|təhlük", ReportType.HAZARDOUS_AREA),
    (r"task|activit|spot|eod|задач|tapşırıq", ReportType.ACTIVITY),
    (r"item|ordnance|device|боеприпас|sursat", ReportType.ORDNANCE),
    (r"organi[sz]ation|operator|организац|təşkilat", ReportType.ORGANISATION),
    (r"settlement|village|locality|населен|kənd", ReportType.SETTLEMENT),
    (r"education|mre|eore", ReportType.RISK_EDUCATION),
]
#: other names a field goes by in legacy systems
SYNONYMS: dict[str, tuple[str, ...]] = {
    "date_of_information": ("date", "dateofinfo", "dataentrydate", "reportdate", "дата",
                            "tarix", "accidentdate", "startdate"),
    "organisation": ("org", "organization", "operator", "организация", "təşkilat"),
    "classification": ("hazardtype", "type", "class", "category", "тип", "növ"),
    "contamination": ("contaminationtype", "devicetype", "загрязнение", "çirklənmə"),
    "estimated_area_m2": ("area", "size", "площадь", "sahə", "area_ha", "area_m2"),
    "name": ("hazardname", "localname", "название", "ad"),
    "hazardous_area_id": ("hazard", "hazardid", "imsma_links", "links", "linkedhazard"),
    "accident_id": ("accident", "accidentid", "imsma_links", "links"),
    "sex": ("gender", "пол", "cins"),
    "outcome": ("injury", "killedinjured", "исход"),
    "age": ("возраст", "yaş"),
}

#: labels of legacy code lists (Russian, Azerbaijani, English) -> candidate Safeground codes;
#: the first one the field allows is the guess
LABELS: dict[str, tuple[str, ...]] = {
    "подтвержденная опасная зона": ("CHA",), "подтверждённая опасная зона": ("CHA",),
    "предполагаемая опасная зона": ("SHA",), "təsdiqlənmiş təhlükəli ərazi": ("CHA",),
    "şübhəli təhlükəli ərazi": ("SHA",), "confirmed hazardous area": ("CHA",),
    "suspected hazardous area": ("SHA",),
    "мужской": ("male",), "женский": ("female",), "kişi": ("male",), "qadın": ("female",),
    "погиб": ("killed",), "ранен": ("injured",), "həlak olub": ("killed",),
    "yaralanıb": ("injured",),
    "гражданский": ("civilian",), "военный": ("military",), "сапёр": ("deminer",),
    "mülki": ("civilian",), "hərbi": ("military",),
    "пп мина": ("AP_mine", "AP"), "пп мины": ("AP", "AP_mine"), "пт мина": ("AT_mine", "AT"),
    "пт мины": ("AT", "AT_mine"), "нвб": ("UXO", "ERW"), "суббоеприпас": ("submunition",),
    "pp mina": ("AP_mine", "AP"), "pp minalar": ("AP", "AP_mine"),
    "очищена": ("cleared",), "сокращена": ("reduced",), "отменена": ("cancelled",),
    "очистка": ("clearance",), "техническое обследование": ("ts",),
    "нетехническое обследование": ("nts",), "ручной": ("manual",),
    "уничтожен на месте": ("destroyed_in_situ",),
    "да": ("true",), "нет": ("false",), "bəli": ("true",), "xeyr": ("false",),
}


def label_guess(label: str, allowed: set[str]) -> str | None:
    """A Safeground code for a legacy label, when the table above knows one the field allows."""
    from safeground.migrate.mapping import norm

    return next((c for c in LABELS.get(norm(label), ()) if c in allowed), None)


@dataclass(slots=True)
class ColumnProfile:
    name: str
    type: str
    filled: int
    distinct: int
    top: list[tuple[str, int]] = field(default_factory=list)


@dataclass(slots=True)
class LayerProfile:
    name: str
    rows: int
    geometry_type: str | None
    crs: str | None
    columns: list[ColumnProfile]
    guess: ReportType | None = None
    id_column: str | None = None
    fields: dict[str, str] = field(default_factory=dict)   # column -> Safeground field


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-zа-яёəğıöşüç]", "", text.casefold())


def profile(layer: Layer, top: int = 10) -> LayerProfile:
    cols = []
    for c in layer.columns:
        values = [v for v in (r.get(c) for r in layer.rows) if v is not None]
        counts = Counter(str(v) for v in values)
        cols.append(ColumnProfile(c, layer.types.get(c, "?"), len(values), len(counts),
                                  counts.most_common(top)))
    return LayerProfile(layer.name, len(layer), layer.geometry_type, layer.crs, cols)


def _guess_type(lp: LayerProfile) -> ReportType | None:
    for pattern, rtype in LAYER_WORDS:
        if re.search(pattern, lp.name.casefold()):
            return rtype
    best, score = None, 0
    for rtype, spec in REPORT_SPECS.items():
        names = {f.name for f in spec.fields}
        s = sum(1 for c in lp.columns if _squash(c.name) in {_squash(n) for n in names})
        if s > score:
            best, score = rtype, s
    return best


def _field_score(col: ColumnProfile, f: FieldSpec) -> float:
    name = _squash(col.name)
    names = [_squash(f.name), *(_squash(s) for s in SYNONYMS.get(f.name, ()))]
    score = max(difflib.SequenceMatcher(None, name, n).ratio() for n in names)
    if f.choices is not None and col.top:
        labels = {c.value.casefold() for c in f.choices}
        hits = sum(n for v, n in col.top if v.casefold() in labels)
        if hits and hits >= 0.5 * sum(n for _, n in col.top):
            score = max(score, 0.95)
    return score


def guess(lp: LayerProfile) -> LayerProfile:
    lp.guess = _guess_type(lp)
    # an id column is (nearly) unique: legacy exports hold the odd duplicate id
    ids = [c for c in lp.columns if c.distinct >= 0.9 * lp.rows and c.filled == lp.rows]
    named = [c for c in ids if re.search(r"id$|id\b|guid|code|номер|№", c.name, re.I)]
    lp.id_column = (named or ids or lp.columns)[0].name if lp.columns else None
    if lp.guess is None:
        return lp
    fields = [*REPORT_SPECS[lp.guess].fields,
              FieldSpec("date_of_information", "date"), FieldSpec("organisation")]
    taken: set[str] = set()
    scored = sorted(((_field_score(c, f), c.name, f.name) for c in lp.columns
                     for f in fields if c.name != lp.id_column), reverse=True)
    for score, col, fname in scored:
        if score < 0.6 or col in lp.fields or fname in taken:
            continue
        lp.fields[col] = fname
        taken.add(fname)
    return lp


def inspect(source: Source, top: int = 10) -> list[LayerProfile]:
    return [guess(profile(source.read(name), top)) for name in source.layer_names()]


def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def starter_mapping(source: Source, profiles: list[LayerProfile]) -> str:
    """A mapping file to review and complete: every guess is marked ``review = true``."""
    out = ["# Starter mapping written by `safeground migrate inspect` from "
           f"{source.name}.", "# Every guess is marked for review: check each layer, then set",
           "# review = false. Format: docs/migrate.md.", "",
           "[mapping]", f"name = {_q(source.path.stem)}", 'version = "1"',
           'organisation = "CHANGE-ME"  # the reporting organisation, or a column per layer',
           'author = "migration"', "max_vertex_gap_m = 5000", ""]
    for lp in profiles:
        out += [f"# layer {lp.name}: {lp.rows:,} rows, geometry {lp.geometry_type or 'none'}, "
                f"CRS {lp.crs or 'none'}"]
        out += ["[[layer]]", f"source = {_q(lp.name)}", f"id = {_q(lp.id_column or '')}",
                "review = true"]
        if lp.guess is None:
            out += ["skip = true  # no report type guessed: map it or leave it out", ""]
            continue
        date_col = next((c for c, f in lp.fields.items() if f == "date_of_information"), None)
        out.append(f"date_of_information = {{ column = {_q(date_col or 'CHANGE-ME')}, "
                   'format = ["iso", "%d.%m.%Y", "excel"] }')
        org_col = next((c for c, f in lp.fields.items() if f == "organisation"), None)
        if org_col:
            out.append(f"organisation = {{ column = {_q(org_col)} }}")
        if lp.geometry_type is None and lp.guess and REPORT_SPECS[lp.guess].geometry:
            out.append('# geometry = { x = "longitude", y = "latitude" }  # or wkt = "shape"')
        mapped = set(lp.fields)
        custom = [c.name for c in lp.columns if c.name not in mapped and c.name != lp.id_column]
        out.append(f"custom = {_q(custom)}  # kept with each report, shown on its page")
        out += ["", "[[layer.report]]", f"type = {_q(lp.guess.value)}  # guess: review", "",
                "[layer.report.fields]"]
        spec = REPORT_SPECS[lp.guess]
        prof = {c.name: c for c in lp.columns}
        for col, fname in lp.fields.items():
            if fname in ("date_of_information", "organisation"):
                continue
            fs = spec.field(fname)
            line = f"{fname} = {{ column = {_q(col)}"
            unit = re.search(r"(?:^|[_ (])(ha|km2|m2)\)?$", col.casefold())
            if fname.endswith("_m2") and unit:
                line += f", unit = {_q(unit.group(1))}"
            if fs is not None and fs.choices is not None:
                allowed = {c.value.casefold(): c.value for c in fs.choices}
                values = {v: allowed.get(v.casefold()) or label_guess(v, set(allowed.values()))
                          or "CHANGE-ME" for v, _ in prof[col].top}
                line += ", values = { " + ", ".join(
                    f"{_q(k)} = {_q(v)}" for k, v in values.items()) + " }"
            out.append(line + " }  # guess: review")
        missing = [f.name for f in spec.fields if f.required and f.name not in
                   lp.fields.values()]
        for fname in missing:
            out.append(f"# {fname} = {{ column = \"CHANGE-ME\" }}  # required, not guessed")
        out.append("")
    return "\n".join(out) + "\n"


def write_starter(source: Source, profiles: list[LayerProfile], path: Path) -> None:
    path.write_text(starter_mapping(source, profiles), encoding="utf-8")
