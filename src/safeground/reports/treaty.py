"""Treaty reporting: the Article 7 forms of the Anti-Personnel Mine Ban Convention and the
Landmine Monitor's figures, for one calendar year, from the approved record.

States Parties report every year in the Article 7 forms; a country outside the Convention may
report voluntarily in the same forms (the report is then labelled *voluntary*). The record
fills the forms that speak of mined land and of what was done about it:

* **Form C** — mined areas: each suspected (SHA) or confirmed (CHA) hazardous area still open on
  31 December that is recorded with anti-personnel mines, or with no known type; its location
  (administrative area, settlement, centroid), its remaining area and the types of mine known
  from the items found in it; and the same totalled by administrative area.
* **Form F** — land released in the year (cancelled / reduced / cleared, m²) by administrative
  area and method; explosive items by category and how they were disposed of; the hazardous
  land remaining at year end by administrative area.
* **Form G** — anti-personnel mines destroyed in the year during clearance, by type (model).
* **Form I** — risk education sessions and the people reached, by sex and age (under 18 /
  18 and over), by administrative area and settlement.
* **Landmine Monitor** — land released by kind, items by category, casualties by status
  (civilian, deminer, military), sex and age, killed and injured.

The standing figures are the record as known on 31 December of the year
(``Ledger.objects(..., as_of=...)``); the year's events are those whose date of information
falls in the year — the same rules as the programme report, so the figures reconcile with it.
Victims appear only as counts: never names, birth dates or addresses.

``build`` returns an ``Article7Report`` (plain typed values); ``render_html``,
``write_workbook`` and ``write`` turn it into HTML, xlsx and PDF.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from shapely.strtree import STRtree

from safeground.errors import ConfigError, ValidationError
from safeground.i18n import N_
from safeground.intake.export import land_release_summary
from safeground.record.ledger import Ledger
from safeground.record.problems import Problem, register
from safeground.record.reports import HEADER_FIELDS, REPORT_SPECS
from safeground.record.storage.schema import object_tables
from safeground.record.vocabulary import (
    Contamination,
    Disposal,
    OrdnanceCategory,
    ReportType,
    VictimStatus,
)

register({
    "REPORT_CONFIG_INVALID": N_("report setting '{key}': {reason}"),
    "YEAR_INVALID": N_("the reporting year {value} is not between {low} and {high}"),
})

KINDS = ("cancelled", "reduced", "cleared")
CHILD_AGE = 18
#: disposals that destroy an item (Form G counts only these)
DESTROYED = (Disposal.DESTROYED_IN_SITU.value, Disposal.REMOVED_AND_DESTROYED.value)
NO_ADMIN = "(no administrative area recorded)"
NOT_RECORDED = "not recorded"
#: the settings ``[reports]`` may hold
SETTING_KEYS = {"article7_voluntary": bool, "country": str}


# ------------------------------------------------------------------------------------ values
@dataclass(frozen=True, slots=True)
class MinedArea:
    """Form C: one hazardous area with (possibly) anti-personnel mines, as at year end."""

    id: str
    name: str
    classification: str                  # SHA / CHA
    status: str                          # open / worked_on
    admin_area: str
    settlement: str
    lat: float
    lon: float
    area_m2: float                       # remaining at year end
    original_m2: float
    contamination: tuple[str, ...]       # as recorded: AP, AT, ... (empty: type unknown)
    mine_types: tuple[str, ...]          # models of AP mines found in the area, if any
    emplaced: str                        # date of emplacement: the record does not hold it


@dataclass(frozen=True, slots=True)
class AdminAreaTotal:
    """Hazardous areas and their remaining m² in one administrative area, at year end."""

    admin_area: str
    sha: int
    cha: int
    area_m2: float


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    """Form F: land released in the year in one administrative area by one method."""

    admin_area: str
    method: str
    cancelled_m2: float
    reduced_m2: float
    cleared_m2: float

    @property
    def released_m2(self) -> float:
        return self.cancelled_m2 + self.reduced_m2 + self.cleared_m2


@dataclass(frozen=True, slots=True)
class ItemRow:
    """Form F: items of one category found in the year, by how they were disposed of."""

    category: str
    by_disposal: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_disposal.values())


@dataclass(frozen=True, slots=True)
class MineTypeRow:
    """Form G: anti-personnel mines of one type destroyed in the year."""

    model: str
    quantity: int


@dataclass(frozen=True, slots=True)
class EducationRow:
    """Form I: risk education in one settlement (or, without one, one administrative area)."""

    admin_area: str
    settlement: str
    sessions: int
    girls: int
    boys: int
    women: int
    men: int

    @property
    def people(self) -> int:
        return self.girls + self.boys + self.women + self.men


@dataclass(frozen=True)
class MonitorFigures:
    """The Landmine Monitor's figures for the year. Casualties are counts only."""

    released_m2: dict[str, float]                 # cancelled / reduced / cleared
    items_by_category: dict[str, int]
    accidents: int
    #: killed / injured by status (civilian, deminer, military)
    casualties_by_status: dict[str, dict[str, int]]
    #: killed / injured by sex (female, male, unknown)
    casualties_by_sex: dict[str, dict[str, int]]
    #: killed / injured by age group: child (< 18), adult, age unknown
    casualties_by_age: dict[str, dict[str, int]]
    #: children (< 18) by sex
    children_by_sex: dict[str, int]

    @property
    def killed(self) -> int:
        return sum(v["killed"] for v in self.casualties_by_status.values())

    @property
    def injured(self) -> int:
        return sum(v["injured"] for v in self.casualties_by_status.values())


@dataclass(frozen=True)
class Article7Report:
    """The Article 7 forms and the Monitor's figures for one calendar year."""

    year: int
    country: str
    voluntary: bool
    form_c: list[MinedArea]
    form_c_by_admin: list[AdminAreaTotal]
    #: open hazardous areas not known to hold AP mines (AT only, ERW, cluster, IED), by admin
    other_areas_by_admin: list[AdminAreaTotal]
    form_f_release: list[ReleaseRow]
    form_f_items: list[ItemRow]
    form_f_remaining: list[AdminAreaTotal]        # every open hazardous area
    form_g: list[MineTypeRow]
    form_i: list[EducationRow]
    monitor: MonitorFigures
    generated: str = field(default="")

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def end(self) -> dt.date:
        return dt.date(self.year, 12, 31)

    @property
    def released_m2(self) -> dict[str, float]:
        return {k: round(sum(getattr(r, f"{k}_m2") for r in self.form_f_release), 1)
                for k in KINDS}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["monitor"]["killed"], out["monitor"]["injured"] = (self.monitor.killed,
                                                               self.monitor.injured)
        return out


# ---------------------------------------------------------------------------------- settings
@dataclass(frozen=True, slots=True)
class ReportSettings:
    """``[reports]`` in a settings file: ``article7_voluntary`` (the country is not a State
    Party and reports voluntarily) and ``country`` (the name on the forms)."""

    article7_voluntary: bool = False
    country: str = ""

    @classmethod
    def read(cls, path: str | Path | None) -> ReportSettings:
        """The ``[reports]`` table of a TOML file (defaults without a file).
        Raises ConfigError (``REPORT_CONFIG_INVALID``) for an unreadable file or a bad key."""
        if path is None:
            return cls()
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise _bad("file", f"cannot read {Path(path).name}: {exc}") from exc
        table = raw.get("reports", {})
        if not isinstance(table, dict):
            raise _bad("reports", "must be a table")
        values: dict[str, Any] = {}
        for key, value in table.items():
            kind = SETTING_KEYS.get(key)
            if kind is None:
                raise _bad(f"reports.{key}", f"unknown (known: {', '.join(SETTING_KEYS)})")
            if not isinstance(value, kind):
                raise _bad(f"reports.{key}", f"must be {kind.__name__}, not {value!r}")
            values[key] = value
        return cls(**values)


def _bad(key: str, reason: str) -> ConfigError:
    return ConfigError(f"report setting '{key}': {reason}", code="REPORT_CONFIG_INVALID",
                       details={"key": key})


# ------------------------------------------------------------------------------------- build
class _Places:
    """Names the administrative area and settlement of an object, as known at year end:
    its own ``admin_area_id``, else its settlement's, else the smallest administrative area
    whose polygon holds its centroid."""

    def __init__(self, ledger: Any, as_of: dt.date) -> None:
        self.admin = {a["id"]: a for a in ledger.objects(ReportType.ADMIN_AREA, as_of)}
        self.settlements = {s["id"]: s for s in ledger.objects(ReportType.SETTLEMENT, as_of)}
        polys = [(a, _geom(a["geometry"])) for a in self.admin.values()
                 if a.get("geometry") is not None]
        # the finest level first, so a point in a municipality is named by it, not its district
        polys.sort(key=lambda p: -(p[0].get("level") or 0))
        self._polys = polys
        self._tree = STRtree([g for _, g in polys]) if polys else None

    def admin_name(self, obj: dict[str, Any]) -> str:
        aid = obj.get("admin_area_id")
        if not aid and obj.get("settlement_id") in self.settlements:
            aid = self.settlements[obj["settlement_id"]].get("admin_area_id")
        if aid and aid in self.admin:
            return self.admin[aid].get("name") or aid
        if aid:
            return aid
        geom = obj.get("geometry")
        if geom is not None and self._tree is not None:
            point = _geom(geom).representative_point()
            hits = sorted(int(i) for i in self._tree.query(point, predicate="intersects"))
            if hits:
                a = self._polys[hits[0]][0]
                return a.get("name") or a["id"]
        return NO_ADMIN

    def settlement_name(self, obj: dict[str, Any]) -> str:
        s = self.settlements.get(obj.get("settlement_id") or "")
        return (s.get("name") or s["id"]) if s else ""


def _geom(g: Any) -> Any:
    return shape(g) if isinstance(g, dict) else g


def _in_year(obj: dict[str, Any], start: dt.date, end: dt.date) -> bool:
    return start <= obj["first_date"] <= end


class _AsOf:
    """The record as known on one day, replayed once and read by type, with the ledger's
    projector: what ``build`` and ``land_release_summary`` read (instead of a replay of the
    whole record for every type they ask for)."""

    def __init__(self, ledger: Ledger, as_of: dt.date) -> None:
        self.as_of = as_of
        self.projector = ledger.projector
        self._objects = ledger.snapshot(as_of)

    def objects(self, report_type: ReportType | str, as_of: dt.date | None = None,
                where: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        if as_of not in (None, self.as_of) or where:
            raise ValueError("a snapshot answers for its own day only")
        return self._objects.get(ReportType(report_type), [])


def _is_ap_or_unknown(area: dict[str, Any]) -> bool:
    cont = area.get("contamination") or []
    return not cont or Contamination.AP.value in cont


def build(ledger: Ledger, year: int, *, country: str = "",
          voluntary: bool = False) -> Article7Report:
    """The Article 7 forms and Monitor figures for calendar year ``year``."""
    today = dt.date.today()
    if not 1988 <= year <= today.year:
        raise ValidationError([Problem("YEAR_INVALID", field="year",
                                       params={"value": year, "low": 1988,
                                               "high": today.year})])
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    record: Any = _AsOf(ledger, end)
    places = _Places(record, end)
    areas = {a["id"]: a for a in record.objects(ReportType.HAZARDOUS_AREA, end)}
    activities = {a["id"]: a for a in record.objects(ReportType.ACTIVITY, end)}
    ordnance = record.objects(ReportType.ORDNANCE, end)

    # AP mine types known per area: the models of the AP mines found by its activities
    models: dict[str, set[str]] = defaultdict(set)
    for item in ordnance:
        area_id = activities.get(item.get("activity_id") or "", {}).get("hazardous_area_id")
        if area_id and item["category"] == OrdnanceCategory.AP_MINE.value:
            models[area_id].add(item.get("model") or "AP mine, model not recorded")

    form_c: list[MinedArea] = []
    by_admin: dict[str, Counter[str]] = defaultdict(Counter)
    other: dict[str, Counter[str]] = defaultdict(Counter)
    remaining: dict[str, Counter[str]] = defaultdict(Counter)
    for a in sorted(areas.values(), key=lambda a: a["id"]):
        if a.get("status") == "closed" or (a.get("remaining_m2") or 0) <= 0:
            continue
        admin = places.admin_name(a)
        m2 = float(a.get("remaining_m2") or 0)
        cls = a["classification"]
        for table in (remaining, by_admin if _is_ap_or_unknown(a) else other):
            table[admin][cls] += 1
            table[admin]["m2"] += m2
        if not _is_ap_or_unknown(a):
            continue
        centroid = _geom(a["geometry"]).centroid
        form_c.append(MinedArea(
            id=a["id"], name=a.get("name") or a["id"], classification=cls,
            status=a.get("status") or "open", admin_area=admin,
            settlement=places.settlement_name(a), lat=round(centroid.y, 6),
            lon=round(centroid.x, 6), area_m2=round(m2, 1),
            original_m2=round(float(a.get("original_m2") or 0), 1),
            contamination=tuple(a.get("contamination") or ()),
            mine_types=tuple(sorted(models.get(a["id"], ()))), emplaced=NOT_RECORDED))

    # Form F: releases by admin area and method (the same rows as the IMAS summary)
    release: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for lr in record.objects(ReportType.LAND_RELEASE, end):
        if not _in_year(lr, start, end) or lr.get("geometry") is None:
            continue
        admin = places.admin_name(areas.get(lr["hazardous_area_id"]) or lr)
        release[(admin, lr.get("method") or "")][lr["release"]] += \
            ledger.projector.area_m2(lr["geometry"])

    items: dict[str, Counter[str]] = defaultdict(Counter)
    ap_destroyed: Counter[str] = Counter()
    for item in ordnance:
        if not _in_year(item, start, end):
            continue
        n = int(item.get("quantity") or 1)
        items[item["category"]][item["disposal"]] += n
        if item["category"] == OrdnanceCategory.AP_MINE.value and item["disposal"] in DESTROYED:
            ap_destroyed[item.get("model") or "model not recorded"] += n

    education: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for s in record.objects(ReportType.RISK_EDUCATION, end):
        if not _in_year(s, start, end):
            continue
        row = education[(places.admin_name(s), places.settlement_name(s))]
        row["sessions"] += 1
        for k in ("girls", "boys", "women", "men"):
            row[k] += int(s.get(k) or 0)

    def totals(table: dict[str, Counter[str]]) -> list[AdminAreaTotal]:
        return [AdminAreaTotal(k, v["SHA"], v["CHA"], round(v["m2"], 1))
                for k, v in sorted(table.items())]

    return Article7Report(
        year=year, country=country, voluntary=voluntary,
        form_c=form_c, form_c_by_admin=totals(by_admin),
        other_areas_by_admin=totals(other),
        form_f_release=[ReleaseRow(adm, method, *(round(c[k], 1) for k in KINDS))
                        for (adm, method), c in sorted(release.items())],
        form_f_items=[ItemRow(cat, dict(sorted(c.items()))) for cat, c in sorted(items.items())],
        form_f_remaining=totals(remaining),
        form_g=[MineTypeRow(m, n) for m, n in sorted(ap_destroyed.items())],
        form_i=[EducationRow(adm, st, c["sessions"], c["girls"], c["boys"], c["women"],
                             c["men"]) for (adm, st), c in sorted(education.items())],
        monitor=_monitor(record, start, end),
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _monitor(ledger: Any, start: dt.date, end: dt.date) -> MonitorFigures:
    released: Counter[str] = Counter()
    items: Counter[str] = Counter()
    for row in land_release_summary(ledger, "year", as_of=end, since=start):
        for k in KINDS:
            released[k] += row[f"{k}_m2"]
        items.update(row["items_by_category"])
    accidents = {a["id"] for a in ledger.objects(ReportType.ACCIDENT, end)
                 if _in_year(a, start, end)}
    zero = {"killed": 0, "injured": 0}
    by_status = {s.value: dict(zero) for s in VictimStatus}
    by_sex: dict[str, dict[str, int]] = {s: dict(zero) for s in ("female", "male", "unknown")}
    by_age = {g: dict(zero) for g in ("child", "adult", "age unknown")}
    children: Counter[str] = Counter()
    for v in ledger.objects(ReportType.VICTIM, end):
        if v["accident_id"] not in accidents:
            continue
        outcome = v["outcome"]
        by_status.setdefault(v["status"], dict(zero))[outcome] += 1
        by_sex.setdefault(v["sex"], dict(zero))[outcome] += 1
        age = v.get("age")
        group = "age unknown" if age is None else "child" if age < CHILD_AGE else "adult"
        by_age[group][outcome] += 1
        if group == "child":
            children[v["sex"]] += 1
    return MonitorFigures(
        released_m2={k: round(released[k], 1) for k in KINDS},
        items_by_category=dict(sorted(items.items())), accidents=len(accidents),
        casualties_by_status=by_status, casualties_by_sex=by_sex, casualties_by_age=by_age,
        children_by_sex={s: children[s] for s in ("female", "male", "unknown")})


# ----------------------------------------------------------------------------------- outputs
def title(report: Article7Report) -> str:
    who = report.country or "the reporting country"
    kind = "Voluntary Article 7 report" if report.voluntary else "Article 7 report"
    return f"{kind} of {who} — calendar year {report.year}"


def render_html(report: Article7Report) -> str:
    """The forms as one self-contained, printable HTML page (no scripts, no network)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("safeground.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html"]))
    env.filters["m2"] = lambda v: f"{float(v or 0):,.0f}"
    env.filters["n"] = lambda v: f"{int(v or 0):,}"
    disposals = [d.value for d in Disposal]
    return env.get_template("article7.html").render(
        r=report, title=title(report), kinds=KINDS, disposals=disposals,
        statuses=list(report.monitor.casualties_by_status))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A text cell that a spreadsheet would read as a formula is written as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_workbook(report: Article7Report, path: str | Path) -> Path:
    """The forms in an Excel workbook, one sheet a table (``monitor``: the Monitor's)."""
    from openpyxl import Workbook

    wb = Workbook()
    sheets: list[tuple[str, list[str], list[list[Any]]]] = [
        ("cover", ["item", "value"], [
            ["report", title(report)], ["country", report.country],
            ["reporting year", report.year],
            ["period", f"{report.start.isoformat()} to {report.end.isoformat()}"],
            ["voluntary (not a State Party)", "yes" if report.voluntary else "no"],
            ["generated", report.generated]]),
        ("form_c", ["id", "name", "classification", "status", "admin_area", "settlement",
                    "lat", "lon", "remaining_m2", "original_m2", "contamination",
                    "mine_types", "date_of_emplacement"],
         [[a.id, a.name, a.classification, a.status, a.admin_area, a.settlement, a.lat, a.lon,
           a.area_m2, a.original_m2, ", ".join(a.contamination) or "unknown",
           ", ".join(a.mine_types), a.emplaced] for a in report.form_c]),
        ("form_c_by_area", ["admin_area", "SHA", "CHA", "remaining_m2"],
         [[t.admin_area, t.sha, t.cha, t.area_m2] for t in report.form_c_by_admin]),
        ("other_hazards", ["admin_area", "SHA", "CHA", "remaining_m2"],
         [[t.admin_area, t.sha, t.cha, t.area_m2] for t in report.other_areas_by_admin]),
        ("form_f_release", ["admin_area", "method", *[f"{k}_m2" for k in KINDS],
                            "released_m2"],
         [[r.admin_area, r.method, r.cancelled_m2, r.reduced_m2, r.cleared_m2,
           round(r.released_m2, 1)] for r in report.form_f_release]),
        ("form_f_items", ["category", *[d.value for d in Disposal], "total"],
         [[i.category, *[i.by_disposal.get(d.value, 0) for d in Disposal], i.total]
          for i in report.form_f_items]),
        ("form_f_remaining", ["admin_area", "SHA", "CHA", "remaining_m2"],
         [[t.admin_area, t.sha, t.cha, t.area_m2] for t in report.form_f_remaining]),
        ("form_g", ["mine_type", "destroyed"],
         [[g.model, g.quantity] for g in report.form_g]),
        ("form_i", ["admin_area", "settlement", "sessions", "girls", "boys", "women", "men",
                    "people"],
         [[e.admin_area, e.settlement, e.sessions, e.girls, e.boys, e.women, e.men, e.people]
          for e in report.form_i]),
        ("monitor", ["figure", "group", "value"], _monitor_rows(report.monitor)),
    ]
    ws = wb.active
    for i, (name, header, rows) in enumerate(sheets):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = name
        ws.append(header)
        for row in rows:
            ws.append([_cell(v) for v in row])
    path = Path(path)
    wb.save(path)
    return path


def _monitor_rows(m: MonitorFigures) -> list[list[Any]]:
    rows: list[list[Any]] = [[f"land {k} (m2)", "all", m.released_m2[k]] for k in KINDS]
    rows += [["items", c, n] for c, n in m.items_by_category.items()]
    rows.append(["accidents", "all", m.accidents])
    for title_, table in (("casualties by status", m.casualties_by_status),
                          ("casualties by sex", m.casualties_by_sex),
                          ("casualties by age", m.casualties_by_age)):
        for group, v in table.items():
            rows += [[f"{title_}: {o}", group, v[o]] for o in ("killed", "injured")]
    rows += [["children (under 18) by sex", s, n] for s, n in m.children_by_sex.items()]
    rows += [["killed", "all", m.killed], ["injured", "all", m.injured]]
    return rows


@dataclass(frozen=True, slots=True)
class Written:
    report: Article7Report
    html: Path
    xlsx: Path
    pdf: Path | None


def write(ledger: Ledger, year: int, out: str | Path, *, country: str = "",
          voluntary: bool = False, pdf: bool = True) -> Written:
    """Write ``article7-YEAR.html``, ``.xlsx`` and (with ``pdf``) ``.pdf`` into ``out``."""
    from safeground.reports.pdf import html_to_pdf

    rep = build(ledger, year, country=country, voluntary=voluntary)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"article7-{year}"
    html = render_html(rep)
    html_path = stem.with_suffix(".html")
    html_path.write_text(html, encoding="utf-8")
    xlsx = write_workbook(rep, stem.with_suffix(".xlsx"))
    pdf_path = html_to_pdf(html, stem.with_suffix(".pdf")) if pdf else None
    return Written(rep, html_path, xlsx, pdf_path)


def national_country(ledger: Ledger, as_of: dt.date | None = None) -> str:
    """The ``country`` of the record's national authority, if it has one ("" otherwise)."""
    for o in ledger.objects(ReportType.ORGANISATION, as_of):
        if o.get("kind") == "national_authority" and o.get("country"):
            return str(o["country"])
    return ""


def headline(rep: Article7Report) -> str:
    """One line of what the report holds, for the terminal."""
    released = sum(rep.released_m2.values())
    return (f"{title(rep)}: {len(rep.form_c)} mined areas "
            f"({sum(a.area_m2 for a in rep.form_c) / 1e6:,.2f} km²) at year end; "
            f"{released / 1e6:,.2f} km² released; "
            f"{sum(g.quantity for g in rep.form_g):,} AP mines destroyed; "
            f"{rep.monitor.killed} killed and {rep.monitor.injured} injured")


# --------------------------------------------------------------------- the record's fields
def record_fields() -> dict[str, list[str]]:
    """Every field the record holds, by report type: the header every report carries, the
    type's payload fields (``REPORT_SPECS``), its geometry, and the fields the record derives
    (a hazardous area's status and areas). ``docs/mdr.md`` names fields as ``type.field``;
    a test checks each against this list."""
    header = [h for h in HEADER_FIELDS if h not in ("report_type", "object_id")]
    out: dict[str, list[str]] = {}
    for rtype, spec in REPORT_SPECS.items():
        names = ["id", *header, *(f.name for f in spec.fields)]
        if spec.geometry:
            names.append("geometry")
        derived = [c.name for c in object_tables[rtype].c
                   if c.name not in names and c.name not in ("last_report_id", "engine_state")]
        out[rtype.value] = names + derived
    return out


def record_fields_markdown() -> str:
    """``record_fields`` as the Markdown table at the end of ``docs/mdr.md``."""
    header = [h for h in HEADER_FIELDS if h not in ("report_type", "object_id")]
    common = {"id", *header, "first_date", "last_date"}
    rows = ["| report type | fields of the report | derived by the record |", "|---|---|---|",
            "| every type | " + ", ".join(f"`{f}`" for f in ["id", *header])
            + " | `first_date`, `last_date` |"]
    for rtype, spec in REPORT_SPECS.items():
        own = [f.name for f in spec.fields] + (["geometry"] if spec.geometry else [])
        derived = [f for f in record_fields()[rtype.value] if f not in common and f not in own]
        rows.append(f"| `{rtype.value}` | " + ", ".join(f"`{f}`" for f in own) + " | "
                    + ", ".join(f"`{f}`" for f in derived) + " |")
    return "\n".join(rows) + "\n"
