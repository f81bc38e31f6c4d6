"""The programme report for government and donors: what was achieved in a period.

A period report answers the questions national authorities and donors ask of a mine action
programme (IMAS 05.10 information management; the headings of the Landmine Monitor and of
typical donor reporting): how much land was released and how (cancelled / reduced / cleared),
how many items were destroyed, how many people were killed or injured and who they were, how
many people were reached by risk education, which survivors were referred to which services,
how the quality checks went, and how many displaced people could return.

Everything is computed from the approved record: the period's events by their date of
information, and the standing figures (hazardous areas, settlements) as known at the start and
at the end of the period (``Ledger.objects(..., as_of=...)``). Victims appear only as counts —
never by name — so the report can be handed out.

``render_html`` writes one self-contained, printable HTML file (charts are inline SVG, no
network); ``write_workbook`` writes the same tables to an Excel workbook.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safeground import i18n
from safeground.errors import NotFoundError, ValidationError
from safeground.i18n import N_, _
from safeground.intake.export import land_release_summary
from safeground.record import labels as words
from safeground.record.ledger import Ledger
from safeground.record.problems import Problem, register
from safeground.record.summary import StatusSummary, status
from safeground.record.vocabulary import ReportType
from safeground.reports import charts as svg

register({"PERIOD_INVALID": N_("the period ends ({end}) before it starts ({start})"),
          "PERIOD_TOO_LONG": N_("the period spans {value} years; a report covers at most {limit}")})

#: the longest period one report covers, in years (one column per month)
MAX_YEARS = 100

KINDS = ("cancelled", "reduced", "cleared")
#: the report's title unless one is given (in the report's language)
TITLE = N_("Mine action programme report")
COLOURS = {"cancelled": "#8fbf6a", "reduced": "#f2c14e", "cleared": "#3a7ca5"}
CHILD_AGE = 18


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """One calendar month of the period."""

    month: str                                   # YYYY-MM
    released_m2: dict[str, float]                # cancelled / reduced / cleared
    items: int
    killed: int
    injured: int
    eore_people: int


@dataclass(frozen=True, slots=True)
class OrganisationFigures:
    organisation: str
    released_m2: dict[str, float]
    items: int


@dataclass(frozen=True)
class ProgrammeReport:
    """The period's figures. Areas are m² in the programme's UTM zone."""

    start: dt.date
    end: dt.date
    at_start: StatusSummary
    at_end: StatusSummary
    released_m2: dict[str, float]
    items_by_category: dict[str, int]
    casualties: dict[str, int]                   # outcome, outcome_status, children, women...
    accidents: int
    accidents_by_context: dict[str, int]
    eore: dict[str, int]                         # sessions, girls, boys, women, men
    referrals: dict[str, dict[str, int]]         # service -> status -> count
    qa: dict[str, int]                           # visits, pass, fail, nonconformities
    months: list[MonthFigures] = field(default_factory=list)
    organisations: list[OrganisationFigures] = field(default_factory=list)
    #: the current plan's expectations year by year (``planning.outputs.outlook``), if given
    outlook: list[dict[str, Any]] | None = None
    #: the plan's completion forecast, P10 / P50 / P90 (``forecast.csv``), if it has one
    forecast: list[dict[str, Any]] | None = None
    #: each team asset's rate in the completed activities up to the period's end
    #: (``planning.productivity.measured_rates``): what the plans from the record run at
    productivity: list[dict[str, Any]] = field(default_factory=list)

    @property
    def released_total_m2(self) -> float:
        return sum(self.released_m2.values())

    @property
    def returned_in_period(self) -> int:
        return self.at_end.returned - self.at_start.returned

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(), "end": self.end.isoformat(),
            "at_start": self.at_start.to_dict(), "at_end": self.at_end.to_dict(),
            "released_m2": self.released_m2, "released_total_m2": self.released_total_m2,
            "items_by_category": self.items_by_category, "casualties": self.casualties,
            "accidents": self.accidents, "accidents_by_context": self.accidents_by_context,
            "eore": self.eore, "referrals": self.referrals, "qa": self.qa,
            "returned_in_period": self.returned_in_period,
            "months": [{"month": m.month, "released_m2": m.released_m2, "items": m.items,
                        "killed": m.killed, "injured": m.injured, "eore_people": m.eore_people}
                       for m in self.months],
            "organisations": [{"organisation": o.organisation, "released_m2": o.released_m2,
                               "items": o.items} for o in self.organisations],
            "outlook": self.outlook, "forecast": self.forecast,
            "productivity": self.productivity,
        }


def _months(start: dt.date, end: dt.date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _in(row: dict[str, Any], start: dt.date, end: dt.date) -> bool:
    return start <= row["first_date"] <= end


def check_period(start: dt.date, end: dt.date) -> None:
    """Raise ValidationError for a period that ends before it starts (PERIOD_INVALID) or
    spans more than ``MAX_YEARS`` (PERIOD_TOO_LONG)."""
    if end < start:
        raise ValidationError([Problem("PERIOD_INVALID", field="end",
                                       params={"start": start, "end": end})])
    if end.year - start.year > MAX_YEARS:
        raise ValidationError([Problem("PERIOD_TOO_LONG", field="start",
                                       params={"value": end.year - start.year,
                                               "limit": MAX_YEARS})])


def build(ledger: Ledger, start: dt.date, end: dt.date,
          plan_dir: str | Path | None = None) -> ProgrammeReport:
    """The programme report for ``start``..``end`` (both inclusive), from approved reports;
    with ``plan_dir`` (a folder ``safeground plan make`` wrote) also the plan's outlook."""
    check_period(start, end)
    months = {m: {"released": Counter(), "items": 0, "killed": 0, "injured": 0, "eore": 0}
              for m in _months(start, end)}
    orgs: dict[str, dict[str, Any]] = defaultdict(lambda: {"released": Counter(), "items": 0})
    names = {o["id"]: o.get("name") or o["id"]
             for o in ledger.objects(ReportType.ORGANISATION, end)}
    released: Counter[str] = Counter()
    items: Counter[str] = Counter()
    for row in land_release_summary(ledger, "month", as_of=end, since=start):
        month, org = months[row["period"]], orgs[names.get(row["organisation"],
                                                           row["organisation"])]
        for k in KINDS:
            released[k] += row[f"{k}_m2"]
            month["released"][k] += row[f"{k}_m2"]
            org["released"][k] += row[f"{k}_m2"]
        month["items"] += row["items"]
        org["items"] += row["items"]
        items.update(row["items_by_category"])

    accidents = {a["id"]: a for a in ledger.objects(ReportType.ACCIDENT, end)
                 if _in(a, start, end)}
    casualties: Counter[str] = Counter()
    for v in ledger.objects(ReportType.VICTIM, end):
        acc = accidents.get(v["accident_id"])
        if acc is None:
            continue
        casualties[v["outcome"]] += 1
        casualties[f"{v['outcome']}_{v['status']}"] += 1
        age = v.get("age")
        if age is not None and age < CHILD_AGE:
            casualties["children"] += 1
            casualties[f"children_{v['sex']}"] += 1
        elif v["sex"] == "female":
            casualties["women"] += 1
        months[acc["first_date"].strftime("%Y-%m")][v["outcome"]] += 1

    eore: Counter[str] = Counter()
    for s in ledger.objects(ReportType.RISK_EDUCATION, end):
        if not _in(s, start, end):
            continue
        eore["sessions"] += 1
        people = 0
        for k in ("girls", "boys", "women", "men"):
            eore[k] += int(s.get(k) or 0)
            people += int(s.get(k) or 0)
        months[s["first_date"].strftime("%Y-%m")]["eore"] += people

    referrals: dict[str, Counter[str]] = defaultdict(Counter)
    for r in ledger.objects(ReportType.REFERRAL, end):
        if _in(r, start, end):
            referrals[r["service"]][r["status"]] += 1

    qa: Counter[str] = Counter()
    for q in ledger.objects(ReportType.QA_VISIT, end):
        if _in(q, start, end):
            qa["visits"] += 1
            qa[q["result"]] += 1
            qa["nonconformities"] += int(q.get("nonconformities") or 0)

    return ProgrammeReport(
        start=start, end=end,
        at_start=status(ledger, start - dt.timedelta(days=1)), at_end=status(ledger, end),
        released_m2={k: round(released[k], 1) for k in KINDS},
        items_by_category=dict(sorted(items.items())),
        casualties=dict(sorted(casualties.items())),
        accidents=len(accidents),
        accidents_by_context=dict(sorted(Counter(a["context"] for a in accidents.values())
                                         .items())),
        eore={k: eore[k] for k in ("sessions", "girls", "boys", "women", "men")},
        referrals={s: dict(sorted(c.items())) for s, c in sorted(referrals.items())},
        qa={k: qa[k] for k in ("visits", "pass", "fail", "nonconformities")},
        months=[MonthFigures(m, {k: round(v["released"][k], 1) for k in KINDS}, v["items"],
                             v["killed"], v["injured"], v["eore"]) for m, v in months.items()],
        organisations=sorted(
            (OrganisationFigures(o, {k: round(v["released"][k], 1) for k in KINDS}, v["items"])
             for o, v in orgs.items()),
            key=lambda o: -sum(o.released_m2.values())),
        outlook=_outlook(plan_dir),
        forecast=_forecast(plan_dir),
        productivity=_productivity(ledger, end),
    )


def _productivity(ledger: Ledger, end: dt.date) -> list[dict[str, Any]]:
    from safeground.planning.productivity import measured_rates

    return [r.row() for r in measured_rates(ledger, as_of=end).values()]


def _forecast(plan_dir: str | Path | None) -> list[dict[str, Any]] | None:
    if plan_dir is None:
        return None
    from safeground.planning.outputs import read_forecast

    return read_forecast(plan_dir)


def _outlook(plan_dir: str | Path | None) -> list[dict[str, Any]] | None:
    if plan_dir is None:
        return None
    from safeground.planning.outputs import outlook

    return outlook(plan_dir)


# ----------------------------------------------------------------------------------- outputs
def charts(report: ProgrammeReport) -> dict[str, str]:
    """Inline SVG charts (``safeground.reports.charts``, as on the dashboard): land released
    per month by kind; people killed and injured per month."""

    months = [m.month for m in report.months]
    killed, injured = words.value("killed"), words.value("injured")
    return {
        "released": svg.columns(months, {words.value(k): [m.released_m2[k] / 1e6
                                                          for m in report.months]
                                         for k in KINDS},
                                unit="km²", title=_("Land released per month (km²)"),
                                colours={words.value(k): c for k, c in COLOURS.items()},
                                width=960),
        "casualties": svg.columns(months, {killed: [m.killed for m in report.months],
                                           injured: [m.injured for m in report.months]},
                                  title=_(_("People killed and injured per month")),
                                  colours={killed: "#b23a48", injured: "#f08a4b"},
                                  width=960),
    }


def render_html(report: ProgrammeReport, title: str | None = None,
                lang: str | None = None, map_svg: str | None = None) -> str:
    """One self-contained printable HTML page (no scripts, no network), in ``lang`` (en, az,
    ru; default: the language in use); ``map_svg``: the programme's map
    (``maps.overview_map``) under the headline."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("safeground.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html"]))
    i18n.install_jinja(env)
    env.filters["km2"] = lambda m2: i18n.format_number((m2 or 0) / 1e6, 2)
    env.filters["n"] = lambda v: i18n.format_number(int(v or 0))
    env.filters["term"] = words.value
    with i18n.use(lang or i18n.current()):
        return env.get_template("programme_report.html").render(
            r=report, title=_(title or TITLE), charts=charts(report), kinds=KINDS,
            map_svg=map_svg, generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))


def write_workbook(report: ProgrammeReport, path: str | Path, lang: str | None = None) -> Path:
    """The report's tables in an Excel workbook, one sheet per table (text that would read
    as a formula stored as text: ``cells.xlsx_append``). Labels and headers in ``lang``
    (default: the language in use); sheet names stay the same in every language."""
    with i18n.use(lang or i18n.current()):
        return _workbook(report, Path(path))


def _workbook(report: ProgrammeReport, path: Path) -> Path:
    from openpyxl import Workbook

    from safeground.record.cells import xlsx_append

    wb = Workbook()
    ws = wb.active
    ws.title = "summary"
    xlsx_append(ws, [_("period start"), report.start.isoformat()])
    xlsx_append(ws, [_("period end"), report.end.isoformat()])
    for k in KINDS:
        xlsx_append(ws, [_("%(kind)s m2", kind=words.value(k)), report.released_m2[k]])
    xlsx_append(ws, [_("items destroyed"), sum(report.items_by_category.values())])
    xlsx_append(ws, [_("accidents"), report.accidents])
    for k, v in report.casualties.items():
        xlsx_append(ws, [_("casualties: %(who)s", who=_casualty_label(k)), v])
    for k, v in report.eore.items():
        xlsx_append(ws, [_("risk education: %(what)s", what=_(EORE_LABELS[k])), v])
    for k, v in report.qa.items():
        xlsx_append(ws, [_("quality: %(what)s", what=_(QA_LABELS[k])), v])
    xlsx_append(ws, [_("people returned in period"), report.returned_in_period])
    months = wb.create_sheet("months")
    xlsx_append(months, [_("month"), *[_("%(kind)s m2", kind=words.value(k)) for k in KINDS],
                         _("items"), words.value("killed"), words.value("injured"),
                         _("people reached by risk education")])
    for m in report.months:
        xlsx_append(months, [m.month, *[m.released_m2[k] for k in KINDS], m.items, m.killed,
                       m.injured, m.eore_people])
    orgs = wb.create_sheet("organisations")
    xlsx_append(orgs, [_("organisation"),
                       *[_("%(kind)s m2", kind=words.value(k)) for k in KINDS], _("items")])
    for o in report.organisations:
        xlsx_append(orgs, [o.organisation, *[o.released_m2[k] for k in KINDS], o.items])
    items = wb.create_sheet("items")
    xlsx_append(items, [_("category"), _("items")])
    for c, n in report.items_by_category.items():
        xlsx_append(items, [words.value(c), n])
    for name, rows in (("outlook", report.outlook), ("forecast", report.forecast),
                       ("productivity", report.productivity)):
        if rows:                                 # the plan's tables: a header and its rows
            ahead = wb.create_sheet(name)
            xlsx_append(ahead, list(rows[0]))
            for row in rows:
                xlsx_append(ahead, list(row.values()))
    _workbook_charts(report, wb)
    refs = wb.create_sheet("referrals")
    xlsx_append(refs, [_("service"), _("status"), _("referrals")])
    for service, by_status in report.referrals.items():
        for st, n in by_status.items():
            xlsx_append(refs, [words.value(service), words.value(st), n])
    path = Path(path)
    wb.save(path)
    return path


EORE_LABELS = {"sessions": N_("sessions"), "girls": N_("girls"), "boys": N_("boys"),
               "women": N_("women"), "men": N_("men")}
QA_LABELS = {"visits": N_("visits"), "pass": N_("passed"), "fail": N_("failed"),
             "nonconformities": N_("non-conformities")}


def _casualty_label(key: str) -> str:
    """``killed_civilian`` -> "killed, civilian"; ``children_female`` -> "children, female"."""
    words_of = [words.value(p) if p != "children" else _("children")
                for p in key.split("_", 1)]
    return ", ".join(words_of)


def _workbook_charts(report: ProgrammeReport, wb: Any) -> None:
    """The report's charts as Excel charts over the workbook's own cells (so they follow any
    change made there): land released per month by kind (stacked columns), people killed and
    injured per month, items by category."""
    from openpyxl.chart import BarChart, Reference

    months, n = wb["months"], len(report.months)
    if n:
        released = BarChart()
        released.type, released.grouping, released.overlap = "col", "stacked", 100
        released.title, released.y_axis.title = _("Land released per month"), "m²"
        released.add_data(Reference(months, min_col=2, max_col=4, min_row=1, max_row=n + 1),
                          titles_from_data=True)
        released.set_categories(Reference(months, min_col=1, min_row=2, max_row=n + 1))
        for series, kind in zip(released.series, KINDS, strict=True):
            series.graphicalProperties.solidFill = COLOURS[kind][1:]
        released.width, released.height = 24, 9
        months.add_chart(released, "J2")
        casualties = BarChart()
        casualties.type, casualties.title = "col", _("People killed and injured per month")
        casualties.add_data(Reference(months, min_col=6, max_col=7, min_row=1, max_row=n + 1),
                            titles_from_data=True)
        casualties.set_categories(Reference(months, min_col=1, min_row=2, max_row=n + 1))
        for series, colour in zip(casualties.series, ("7f1d1d", "e8a33d"), strict=True):
            series.graphicalProperties.solidFill = colour
        casualties.width, casualties.height = 24, 9
        months.add_chart(casualties, "J22")
    items, k = wb["items"], len(report.items_by_category)
    if k:
        chart = BarChart()
        chart.type, chart.title = "bar", _("Explosive items destroyed by category")
        chart.add_data(Reference(items, min_col=2, min_row=1, max_row=k + 1),
                       titles_from_data=True)
        chart.set_categories(Reference(items, min_col=1, min_row=2, max_row=k + 1))
        chart.legend = None
        items.add_chart(chart, "D2")


def write(ledger: Ledger, out: Path, start: dt.date, end: dt.date, *,
          xlsx: Path | None = None, title: str | None = None,
          plan: Path | None = None, pdf: Path | None = None,
          lang: str | None = None) -> ProgrammeReport:
    """Write the programme report for a period as printable HTML (and, with ``xlsx``, its tables
    as a workbook; with ``pdf``, the same page as PDF); with ``plan``, the plan's yearly
    outlook, which must then be there."""
    rep = build(ledger, start, end, plan)
    if plan is not None and rep.outlook is None:
        raise NotFoundError(f"no plan tables (plan_areas.csv, plan_settlements.csv) in {plan}",
                            code="OUTPUT_NOT_AVAILABLE")
    from safeground.reports.maps import overview_map

    html = render_html(rep, title, lang, overview_map(ledger, start, end))
    out.write_text(html, encoding="utf-8")
    if xlsx:
        write_workbook(rep, xlsx, lang)
    if pdf:
        from safeground.reports.pdf import html_to_pdf

        html_to_pdf(html, pdf)
    return rep


def headline(rep: ProgrammeReport) -> str:
    """One line of what a report holds, for the terminal."""
    return (f"Report {rep.start} to {rep.end}: {rep.released_total_m2 / 1e6:,.2f} km² released, "
            f"{sum(rep.items_by_category.values()):,} items, "
            f"{rep.casualties.get('killed', 0)} killed and "
            f"{rep.casualties.get('injured', 0)} injured")
