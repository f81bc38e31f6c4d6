"""Observation processes: how the hidden truth reaches the record, imperfectly.

* a baseline survey (2020-12 to 2021-03) of suspected (SHA) and confirmed (CHA) hazardous areas:
  oversized strips along the former line of contact, circles round military positions and
  shelled settlements — with misses wherever no one looked;
* minefield records: the government side's own records are reliable (CHA); the other side's
  records, handed over later, are about 25 % accurate (the rest are displaced, rotated or
  describe fields never laid) and become SHAs;
* informant reports, many of them false positives;
* civilian and military accidents from exposure × density (``exposure.py``) and explosive
  ordnance spot finds answered by EOD teams, from the ceasefire to ``record_end``.

Hazardous areas never overlap: candidates are resolved in priority order (direct evidence first).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely import affinity

from safeground.record.vocabulary import (
    AccidentContext,
    ActivityStatus,
    ActivityType,
    Asset,
    Contamination,
    Disposal,
    EoreMethod,
    EvidenceCategory,
    EvidenceSource,
    HazardClass,
    LandUse,
    OrdnanceCondition,
    QaKind,
    QaResult,
    ReferralService,
    ReferralStatus,
    Reliability,
    ReportType,
    ReturnStatus,
    Sex,
    VictimOutcome,
    VictimStatus,
)
from safeground.scenario import contamination as C
from safeground.scenario.exposure import FOUND, CellIndex, Event, Sources, expose
from safeground.scenario.fleet import DEFAULT_FLEET, EOD_TEAMS, ORG_NAME, ORGANISATIONS
from safeground.scenario.records import RecordBook
from safeground.scenario.region import Region, frame_at
from safeground.scenario.terrain import LANDCOVER_CODES, Terrain

ANAMA = ORG_NAME["ORG-ANAMA"]
SURVEY_START = dt.date(2020, 12, 1)
SURVEY_END = dt.date(2021, 3, 31)

_CONTAM_OF_CAT = {C.AP: Contamination.AP, C.AT: Contamination.AT, C.UXO: Contamination.ERW,
                  C.AXO: Contamination.ERW, C.SUB: Contamination.CLUSTER, C.IED: Contamination.IED}


@dataclass
class Evidence:
    category: EvidenceCategory
    source: EvidenceSource
    reliability: Reliability
    geometry: shapely.Geometry
    date: dt.date
    description: str = ""


@dataclass
class Candidate:
    priority: int
    polygon: shapely.Geometry
    classification: HazardClass
    contamination: tuple[Contamination, ...]
    name: str
    date: dt.date
    evidence: list[Evidence] = field(default_factory=list)
    min_area: float = 10_000.0
    land_use: LandUse | None = None


@dataclass
class HazardArea:
    """A hazardous area as the record first knows it (observable; never the truth)."""

    id: str
    name: str
    classification: HazardClass
    contamination: tuple[Contamination, ...]
    polygon: shapely.Geometry            # UTM 38N
    date: dt.date
    settlement_id: str | None
    admin_id: str | None
    land_use: LandUse
    beneficiaries: int
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Observed:
    areas: list[HazardArea]
    state: np.ndarray                    # item states at record_end
    events: list[Event]
    accident_ids: dict[int, str]         # event index -> ACC id


def _date_between(rng: np.random.Generator, a: dt.date, b: dt.date) -> dt.date:
    return a + dt.timedelta(days=int(rng.integers(0, max(1, (b - a).days) + 1)))


# ---------------------------------------------------------------- headers -------------------


def write_headers(book: RecordBook, region: Region) -> None:
    """Organisations, teams, districts and settlements."""
    d0 = dt.date(2020, 11, 20)
    for o in ORGANISATIONS:
        book.add(ReportType.ORGANISATION, o.id, d0, ANAMA, "registry", name=o.name, kind=o.kind,
                 country=o.country)
    for t in DEFAULT_FLEET + EOD_TEAMS:
        book.add(ReportType.TEAM, t.id, d0, ORG_NAME[t.organisation_id], "registry",
                 organisation_id=t.organisation_id, name=t.name, asset=t.asset, size=t.size)
    for a in region.admin:
        book.add(ReportType.ADMIN_AREA, a.id, d0, ANAMA, "registry", geometry=a.polygon,
                 name=a.name, level=1, pcode=a.pcode)
    for s in region.settlements:
        resident = not s.occupied
        book.add(ReportType.SETTLEMENT, s.id, d0, ANAMA, "registry",
                 geometry=shapely.Point(s.x, s.y), name=s.name, admin_area_id=s.admin_id,
                 pre_conflict_population=s.pre_conflict_population,
                 displaced_population=s.displaced_population,
                 returned_population=0,   # never displaced, or not back yet
                 return_status=ReturnStatus.RETURNED if resident else ReturnStatus.NOT_RETURNED)


# ---------------------------------------------------------------- exposure ------------------

#: Probes (person-trips) per day: per 2 km of former front (soldiers), per position (soldiers),
#: per resident and per displaced person visiting home (civilians).
FRONT_RATE = 15.0
POSITION_RATE = 3.0
RESIDENT_RATE = 0.03
VISITOR_RATE = 0.02


def exposure_sources(region: Region, returned: np.ndarray | None = None,
                     military_factor: float = 1.0) -> Sources:
    """Soldiers along the old front and at positions; civilians around settlements.

    ``returned`` is the population living in each settlement now (residents of never-occupied
    settlements by default); displaced people visit their home villages at a lower rate.
    ``military_factor`` scales the soldiers' exposure (the twin lets it decay over the years).
    """
    front = region.front_in_region
    parts = [p for p in shapely.get_parts(front) if p.length > 0]
    mil = []
    for p in parts:
        s = np.arange(0, p.length, 2000.0) + 1000.0
        s = s[s < p.length]
        if len(s):
            xy, _ = frame_at(p, s)
            mil.append(xy)
    mxy = np.vstack(mil) if mil else np.zeros((0, 2))
    pxy = np.array([[p.x, p.y] for p in region.positions]).reshape(-1, 2)
    st = region.settlements
    sxy = np.array([[s.x, s.y] for s in st]).reshape(-1, 2)
    if returned is None:
        returned = np.array([0 if s.occupied else s.pre_conflict_population for s in st])
    displaced_away = np.array([s.displaced_population for s in st]) - returned
    rate = RESIDENT_RATE * returned + VISITOR_RATE * np.maximum(displaced_away, 0)
    spread = np.array([s.radius_m for s in st]) + 1200.0
    return Sources.concat([
        Sources(mxy[:, 0], mxy[:, 1], np.full(len(mxy), FRONT_RATE * military_factor),
                np.full(len(mxy), 1500.0),
                np.ones(len(mxy), bool), np.full(len(mxy), -1)),
        Sources(pxy[:, 0], pxy[:, 1], np.full(len(pxy), POSITION_RATE * military_factor),
                np.full(len(pxy), 250.0),
                np.ones(len(pxy), bool), np.full(len(pxy), -1)),
        Sources(sxy[:, 0], sxy[:, 1], rate.astype(float), spread, np.zeros(len(sxy), bool),
                np.arange(len(sxy))),
    ])


# ---------------------------------------------------------------- candidates ----------------


def _circle(x: float, y: float, r: float) -> shapely.Geometry:
    return shapely.Point(x, y).buffer(r, quad_segs=8)


def _contam_of_site(site: C.Site) -> tuple[Contamination, ...]:
    if site.kind == "belt_AT":
        return (Contamination.AT,)
    if site.kind == "belt_mixed":
        return (Contamination.AP, Contamination.AT)
    if site.kind == "cluster_strike":
        return (Contamination.CLUSTER,)
    return (Contamination.AP,)


def _site_candidates(rng, truth: C.Truth) -> list[Candidate]:
    out = []
    mine_sites = [s for s in truth.sites if s.kind.startswith("belt") or s.kind == "protective"]
    for s in mine_sites:
        contam = _contam_of_site(s)
        if s.side > 0 and rng.random() < 0.9:     # own records: reliable, fields fenced
            d = _date_between(rng, SURVEY_START, dt.date(2021, 1, 31))
            poly = s.polygon.buffer(20.0)
            ev = [Evidence(EvidenceCategory.RECORDS_RELIABLE, EvidenceSource.RECORDS,
                           Reliability.HIGH, poly, d, f"minefield record {s.id} (own forces)")]
            if rng.random() < 0.5:
                ev.append(Evidence(EvidenceCategory.MARKING, EvidenceSource.OBSERVED,
                                   Reliability.HIGH, poly.representative_point(), d,
                                   "perimeter fence and mine signs"))
            out.append(Candidate(1, poly, HazardClass.CHA, contam, f"Recorded minefield {s.id}",
                                 d, ev, 1_000.0))
        elif s.side < 0 and rng.random() < 0.6:   # handed-over records, ~25 % accurate
            d = _date_between(rng, dt.date(2021, 1, 15), SURVEY_END)
            poly = s.polygon.buffer(30.0)
            if rng.random() >= 0.25:
                poly = _misplace(rng, poly)
            out.append(Candidate(2, poly, HazardClass.SHA, contam, "Minefield in handed-over map",
                                 d, [Evidence(EvidenceCategory.RECORDS_UNRELIABLE,
                                              EvidenceSource.RECORDS, Reliability.LOW, poly, d,
                                              "handed-over minefield map")], 2_500.0))
    # records of fields never laid (or long since lifted)
    fakes = [s for s in mine_sites if s.side < 0]
    for _ in range(int(0.15 * len(fakes))):
        s = fakes[rng.integers(len(fakes))]
        poly = affinity.translate(s.polygon, *rng.normal(0, 1500, 2))
        d = _date_between(rng, dt.date(2021, 1, 15), SURVEY_END)
        out.append(Candidate(2, poly.buffer(30.0), HazardClass.SHA, _contam_of_site(s),
                             "Minefield in handed-over map", d,
                             [Evidence(EvidenceCategory.RECORDS_UNRELIABLE, EvidenceSource.RECORDS,
                                       Reliability.LOW, poly, d, "handed-over minefield map")],
                             2_500.0))
    for s in truth.sites:
        if s.kind == "cluster_strike" and rng.random() < 0.55:
            d = _date_between(rng, SURVEY_START, SURVEY_END)
            poly = s.polygon.buffer(100.0)
            out.append(Candidate(1, poly, HazardClass.CHA, (Contamination.CLUSTER,),
                                 "Cluster strike area", d,
                                 [Evidence(EvidenceCategory.EO_OBSERVED, EvidenceSource.OBSERVED,
                                           Reliability.HIGH, s.polygon.centroid, d,
                                           "submunitions seen on the surface")], 2_500.0))
    return out


def _misplace(rng: np.random.Generator, poly: shapely.Geometry) -> shapely.Geometry:
    ang = rng.uniform(0, 2 * np.pi)
    dist = rng.uniform(150, 1500)
    g = affinity.rotate(poly, rng.uniform(-25, 25), origin="centroid")
    k = rng.uniform(0.7, 1.4)
    g = affinity.scale(g, k, k, origin="centroid")
    return affinity.translate(g, dist * np.cos(ang), dist * np.sin(ang))


def _strip_candidates(rng, region: Region) -> list[Candidate]:
    out = []
    front = region.front
    seg = 2500.0
    for side in (1, -1):
        for k, (d0, d1, p) in enumerate(((5.0, 900.0, 1.0), (900.0, 1800.0, 0.8))):
            for s0 in np.arange(0, front.length, seg):
                if rng.random() > p:
                    continue
                s = np.linspace(s0, min(s0 + seg, front.length), 14)
                pts, nrm = frame_at(front, s)
                inner = pts + nrm * side * d0
                outer = pts + nrm * side * d1
                poly = shapely.Polygon(np.vstack([inner, outer[::-1]]))
                poly = shapely.make_valid(poly)
                d = _date_between(rng, SURVEY_START, SURVEY_END)
                band = "belt zone" if k == 0 else "combat zone"
                ev = [Evidence(EvidenceCategory.COMBAT_ZONE, EvidenceSource.OBSERVED,
                               Reliability.MEDIUM, shapely.Point(*outer[len(outer) // 2]), d,
                               "former line of contact 1994-2020")]
                if rng.random() < 0.5:   # farmland left unused for decades, seen on imagery
                    mid = 0.5 * (inner[len(inner) // 2] + outer[len(outer) // 2])
                    ev.append(Evidence(EvidenceCategory.UNUSED_LAND, EvidenceSource.OBSERVED,
                                       Reliability.MEDIUM, shapely.Point(*mid), d,
                                       "productive land unused since 1993"))
                out.append(Candidate(4, poly, HazardClass.SHA,
                                     (Contamination.AP, Contamination.AT, Contamination.ERW),
                                     f"Former front {band} km {s0 / 1000:.1f} "
                                     f"{'E' if side > 0 else 'W'}", d, ev))
    return out


def _position_candidates(rng, region: Region) -> list[Candidate]:
    out = []
    for p in region.positions:
        if rng.random() > 0.85:
            continue
        d = _date_between(rng, SURVEY_START, SURVEY_END)
        ev = [Evidence(EvidenceCategory.MILITARY_POSITION, EvidenceSource.OBSERVED,
                       Reliability.MEDIUM, shapely.Point(p.x, p.y), d, "trenches and bunkers")]
        if rng.random() < 0.3:
            ev.append(Evidence(EvidenceCategory.IMAGERY, EvidenceSource.RECORDS,
                               Reliability.MEDIUM, shapely.Point(p.x, p.y), d,
                               "fortifications visible on satellite imagery"))
        out.append(Candidate(3, _circle(p.x, p.y, rng.uniform(250, 400)), HazardClass.SHA,
                             (Contamination.AP, Contamination.ERW), f"Military position {p.id}",
                             d, ev))
    return out


def _settlement_candidates(rng, region: Region) -> list[Candidate]:
    out = []
    front = region.front
    for s in region.settlements:
        dist = front.distance(shapely.Point(s.x, s.y))
        if not s.occupied and dist > 10_000:
            continue
        if rng.random() > (0.9 if dist < 25_000 else 0.7):
            continue
        d = _date_between(rng, SURVEY_START, SURVEY_END)
        out.append(Candidate(5, _circle(s.x, s.y, s.radius_m + 150.0), HazardClass.SHA,
                             (Contamination.ERW, Contamination.AP), f"{s.name} built-up area", d,
                             [Evidence(EvidenceCategory.COMBAT_ZONE, EvidenceSource.VERBAL,
                                       Reliability.MEDIUM, shapely.Point(s.x, s.y), d,
                                       "shelled settlement; booby traps reported")],
                             land_use=LandUse.BUILT_UP))
    return out


def _informant_candidates(rng, region: Region, truth: C.Truth) -> list[Candidate]:
    out = []
    it = truth.items
    n = rng.poisson(0.02 * region.area_km2)
    scattered = np.flatnonzero(np.isin(it.source, [C.NUISANCE, C.SHELLING, C.CLUSTER, C.IEDSRC]))
    st = region.settlements
    for _ in range(n):
        d = _date_between(rng, SURVEY_START, SURVEY_END)
        if len(scattered) and rng.random() < 0.45:
            i = scattered[rng.integers(len(scattered))]
            x, y = it.x[i] + rng.normal(0, 80), it.y[i] + rng.normal(0, 80)
            contam = (_CONTAM_OF_CAT[int(it.cat[i])],)
        else:
            s = st[rng.integers(len(st))]
            a, r = rng.uniform(0, 2 * np.pi), rng.uniform(300, 2000)
            x, y = s.x + r * np.cos(a), s.y + r * np.sin(a)
            contam = (Contamination.AP,) if rng.random() < 0.5 else (Contamination.ERW,)
        if not region.polygon.contains(shapely.Point(x, y)):
            continue
        rel = Reliability.MEDIUM if rng.random() < 0.3 else Reliability.LOW
        out.append(Candidate(6, _circle(x, y, rng.uniform(200, 350)), HazardClass.SHA, contam,
                             "Informant report", d,
                             [Evidence(EvidenceCategory.VERBAL, EvidenceSource.VERBAL, rel,
                                       shapely.Point(x, y), d, "shepherd reports mines")],
                             5_000.0))
    return out


def _accident_candidates(events: list[Event], truth: C.Truth) -> list[Candidate]:
    out = []
    for e in events:
        if e.kind != "accident":
            continue
        cat = int(truth.items.cat[e.item])
        d = e.date + dt.timedelta(days=3)
        out.append(Candidate(0, _circle(e.x, e.y, 150.0), HazardClass.CHA,
                             (_CONTAM_OF_CAT[cat],), "Accident site", d,
                             [Evidence(EvidenceCategory.ACCIDENT, EvidenceSource.OBSERVED,
                                       Reliability.HIGH, shapely.Point(e.x, e.y), d,
                                       f"{C.CATEGORIES[cat].value} accident")], 2_500.0))
    return out


# ---------------------------------------------------------------- partition -----------------


def _clean(g: shapely.Geometry, min_area: float) -> shapely.Geometry | None:
    if g is None or g.is_empty:
        return None
    g = shapely.make_valid(g)
    parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and p.area >= min_area]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def partition(cands: list[Candidate], region_poly: shapely.Geometry) -> list[tuple[Candidate,
                                                                                  shapely.Geometry]]:
    """Non-overlapping polygons, candidates of lower ``priority`` first."""
    accepted: list[tuple[Candidate, shapely.Geometry]] = []
    for prio in sorted({c.priority for c in cands}):
        group = [c for c in cands if c.priority == prio]
        prev = [g for _, g in accepted]
        prev_tree = shapely.STRtree(prev) if prev else None
        raw = [shapely.intersection(c.polygon, region_poly) for c in group]
        gtree = shapely.STRtree(raw)
        for i, c in enumerate(group):
            g = raw[i]
            if g.is_empty:
                continue
            cut = []
            if prev_tree is not None:
                cut.extend(prev[j] for j in prev_tree.query(g, predicate="intersects"))
            cut.extend(raw[j] for j in gtree.query(g, predicate="intersects") if j < i)
            if cut:
                g = shapely.difference(g, shapely.union_all(cut))
            g = _clean(g, c.min_area)
            if g is not None:
                accepted.append((c, g))
    return accepted


# ---------------------------------------------------------------- main ----------------------


def _land_use(terrain: Terrain, g: shapely.Geometry) -> LandUse:
    p = g.representative_point()
    code = int(terrain.sample(terrain.landcover, np.array([p.x]), np.array([p.y]))[0])
    return LANDCOVER_CODES.get(code, LandUse.OTHER)


def build_areas(rng, region: Region, terrain: Terrain, truth: C.Truth,
                events: list[Event]) -> list[HazardArea]:
    cands = (_accident_candidates(events, truth) + _site_candidates(rng, truth)
             + _position_candidates(rng, region) + _strip_candidates(rng, region)
             + _settlement_candidates(rng, region) + _informant_candidates(rng, region, truth))
    accepted = partition(cands, region.polygon)
    accepted.sort(key=lambda t: (t[0].date, t[0].priority))
    sxy = np.array([[s.x, s.y] for s in region.settlements])
    stree = cKDTree(sxy)
    admin_tree = shapely.STRtree([a.polygon for a in region.admin])
    areas = []
    for k, (c, g) in enumerate(accepted):
        cen = g.representative_point()
        dist, j = stree.query([cen.x, cen.y])
        st = region.settlements[int(j)] if dist < 5_000 else None
        hits = admin_tree.query(cen, predicate="intersects")
        admin = region.admin[int(hits[0])].id if len(hits) else None
        benef = 0 if st is None else max(st.displaced_population, st.pre_conflict_population)
        areas.append(HazardArea(f"HA-{k + 1:06d}", c.name, c.classification, c.contamination, g,
                                c.date, st.id if st else None, admin,
                                c.land_use or _land_use(terrain, g), int(benef),
                                list(c.evidence)))
    # evidence of candidates that were absorbed by earlier areas goes to the area it falls in
    kept = {id(c) for c, _ in accepted}
    tree = shapely.STRtree([a.polygon for a in areas]) if areas else None
    orphans: list[Evidence] = []
    for c in cands:
        if id(c) in kept:
            continue
        for ev in c.evidence:
            hit = tree.query(ev.geometry.representative_point(), predicate="intersects") \
                if tree is not None else []
            if len(hit):
                areas[int(hit[0])].evidence.append(ev)
            else:
                orphans.append(ev)
    return areas


def observe(rng: np.random.Generator, cfg, region: Region, terrain: Terrain,
            truth: C.Truth, book: RecordBook) -> Observed:
    """Run every observation process and write its reports into ``book``."""
    it = truth.items
    state = np.zeros(len(it), np.int8)
    minx, miny, _, _ = region.polygon.bounds
    index = CellIndex(it.x, it.y, (minx, miny))
    days = (cfg.record_end - cfg.ceasefire).days
    events = expose(rng, index, state, it.depth_cm, exposure_sources(region), cfg.ceasefire,
                    days, cfg.accident_beta)
    write_headers(book, region)
    areas = build_areas(rng, region, terrain, truth, events)
    for a in areas:
        book.add(ReportType.HAZARDOUS_AREA, a.id, a.date, ANAMA, "baseline survey",
                 geometry=a.polygon, name=a.name, classification=a.classification,
                 contamination=list(a.contamination), settlement_id=a.settlement_id,
                 admin_area_id=a.admin_id, land_use=a.land_use,
                 estimated_area_m2=round(a.polygon.area, 1), beneficiaries=a.beneficiaries,
                 benchmark=_benchmark(a, region))
    for a in areas:
        for ev in a.evidence:
            book.add(ReportType.EVIDENCE, book.new_id("EV"), ev.date, ANAMA, "baseline survey",
                     geometry=ev.geometry, hazardous_area_id=a.id, category=ev.category,
                     source=ev.source, reliability=ev.reliability, description=ev.description)
    acc_ids = write_events(rng, book, region, truth, events, areas)
    write_eore(rng, book, region)
    return Observed(areas, state, events, acc_ids)


def _benchmark(a: HazardArea, region: Region) -> str:
    if a.settlement_id is None:
        return "see perimeter"
    s = next(s for s in region.settlements if s.id == a.settlement_id)
    p = a.polygon.representative_point()
    dx, dy = p.x - s.x, p.y - s.y
    ang = (np.degrees(np.arctan2(dx, dy)) + 360) % 360
    comp = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")[int((ang + 22.5) // 45) % 8]
    return f"{np.hypot(dx, dy) / 1000:.1f} km {comp} of {s.name}"


def area_at(areas_tree: shapely.STRtree, areas: list, x: float, y: float) -> str | None:
    hit = areas_tree.query(shapely.Point(x, y), predicate="intersects")
    return areas[int(hit[0])].id if len(hit) else None


def write_events(rng, book: RecordBook, region: Region, truth: C.Truth,
                 events: list[Event], areas: list[HazardArea]) -> dict[int, str]:
    """Accidents (with victims and referrals) and spot finds (EOD task, item, evidence)."""
    tree = shapely.STRtree([a.polygon for a in areas]) if areas else None
    it = truth.items
    acc_ids: dict[int, str] = {}
    for k, e in enumerate(events):
        ha = area_at(tree, areas, e.x, e.y) if tree is not None else None
        cat = int(it.cat[e.item])
        if e.kind == "accident":
            acc_ids[k] = write_accident(rng, book, e, cat, ha, AccidentContext.MILITARY
                                        if e.military else AccidentContext.CIVILIAN)
        else:
            team = EOD_TEAMS[k % len(EOD_TEAMS)]
            d = e.date + dt.timedelta(days=int(rng.integers(1, 6)))
            act = book.new_id("ACT")
            org = ORG_NAME[team.organisation_id]
            book.add(ReportType.ACTIVITY, act, d, org, team.id, geometry=shapely.Point(e.x, e.y),
                     activity_type=ActivityType.EOD_SPOT, organisation_id=team.organisation_id,
                     team_id=team.id, hazardous_area_id=ha, asset=Asset.EOD, start_date=d,
                     end_date=d, status=ActivityStatus.COMPLETED)
            write_ordnance(rng, book, truth, e.item, act, d, org, team.id)
            book.add(ReportType.EVIDENCE, book.new_id("EV"), e.date, org, team.id,
                     geometry=shapely.Point(e.x, e.y), hazardous_area_id=ha,
                     category=EvidenceCategory.FIND, source=EvidenceSource.OBSERVED,
                     reliability=Reliability.HIGH, description="item reported by a passer-by")
            if rng.random() < 0.1:
                book.add(ReportType.QA_VISIT, book.new_id("QA"), d + dt.timedelta(days=2), ANAMA,
                         "QA officer", activity_id=act, kind=QaKind.QA, result=QaResult.PASS,
                         nonconformities=0)
    return acc_ids


def write_ordnance(rng, book: RecordBook, truth: C.Truth, item: int, act: str, d: dt.date,
                   org: str, author: str, quantity: int = 1) -> None:
    it = truth.items
    cat = int(it.cat[item])
    disposal = (Disposal.DESTROYED_IN_SITU if cat in (C.AP, C.AT, C.SUB, C.IED)
                else Disposal.REMOVED_AND_DESTROYED)
    cond = (OrdnanceCondition.ARMED if cat in (C.AP, C.AT) else
            OrdnanceCondition.DAMAGED if rng.random() < 0.2 else OrdnanceCondition.UNKNOWN)
    book.add(ReportType.ORDNANCE, book.new_id("EO", 7), d, org, author,
             geometry=shapely.Point(float(it.x[item]), float(it.y[item])), activity_id=act,
             category=C.CATEGORIES[cat], model=it.model_name(item), condition=cond,
             depth_cm=int(it.depth_cm[item]), disposal=disposal, quantity=quantity)


_ACTS = {AccidentContext.CIVILIAN: ("farming", "herding livestock", "travelling",
                                    "collecting scrap metal", "visiting graves",
                                    "repairing a house"),
         AccidentContext.MILITARY: ("patrol", "engineering work", "driving"),
         AccidentContext.DEMINING: ("clearance",)}
#: probability a victim is killed, and victims per accident, by device category
_LETHALITY = {C.AP: (0.13, (1, 1, 1, 2)), C.AT: (0.4, (1, 2, 3, 4)), C.UXO: (0.25, (1, 1, 2)),
              C.AXO: (0.2, (1, 1, 2)), C.SUB: (0.25, (1, 1, 2, 3)), C.IED: (0.4, (1, 2, 3))}


def write_accident(rng, book: RecordBook, e, cat: int, ha: str | None,
                   context: AccidentContext) -> str:
    acc = book.new_id("ACC")
    what = str(rng.choice(_ACTS[context]))
    book.add(ReportType.ACCIDENT, acc, e.date, ANAMA, "accident investigation",
             geometry=shapely.Point(e.x, e.y), hazardous_area_id=ha,
             device_category=C.CATEGORIES[cat], context=context, activity_at_time=what,
             description=f"{C.CATEGORIES[cat].value} detonation during {what}")
    p_kill, counts = _LETHALITY[cat]
    n = int(rng.choice(counts))
    for _ in range(n):
        killed = rng.random() < p_kill
        if context is AccidentContext.CIVILIAN:
            sex = Sex.MALE if rng.random() < 0.85 else Sex.FEMALE
            age = int(rng.integers(8, 75))
            status = VictimStatus.CIVILIAN
        else:
            sex, age = Sex.MALE, int(rng.integers(19, 45))
            status = VictimStatus.DEMINER if context is AccidentContext.DEMINING \
                else VictimStatus.MILITARY
        vic = book.new_id("VIC")
        book.add(ReportType.VICTIM, vic, e.date, ANAMA, "accident investigation",
                 accident_id=acc, outcome=VictimOutcome.KILLED if killed else VictimOutcome.INJURED,
                 sex=sex, age=age, status=status, activity_at_time=what)
        if not killed:
            book.add(ReportType.REFERRAL, book.new_id("REF"), e.date + dt.timedelta(days=1),
                     ANAMA, "victim assistance", victim_id=vic, provider="district hospital",
                     service=ReferralService.MEDICAL, status=ReferralStatus.COMPLETED)
            if rng.random() < 0.5:
                book.add(ReportType.REFERRAL, book.new_id("REF"), e.date + dt.timedelta(days=30),
                         ANAMA, "victim assistance", victim_id=vic,
                         provider="national rehabilitation centre",
                         service=ReferralService.REHABILITATION, status=ReferralStatus.IN_PROGRESS)
    return acc


def write_eore(rng, book: RecordBook, region: Region) -> None:
    """Risk education sessions for people about to go home."""
    for s in region.settlements:
        if rng.random() > 0.4:
            continue
        d = _date_between(rng, SURVEY_START, SURVEY_END)
        k = int(rng.integers(10, 80))
        book.add(ReportType.RISK_EDUCATION, book.new_id("EORE"), d, ANAMA, "EORE team",
                 geometry=shapely.Point(s.x, s.y), organisation_id="ORG-ANAMA",
                 settlement_id=s.id, method=rng.choice(list(EoreMethod)),
                 girls=int(k * 0.2), boys=int(k * 0.25), women=int(k * 0.25), men=int(k * 0.3))


__all__ = ["FOUND", "HazardArea", "Observed", "observe"]
