"""Reconciliation: for each report in the holding area, what it most likely is.

IMSMA's holding area asks a reviewer to decide whether a field report is a **new** object, an
**update** of an existing one, or should be **linked** to one (docs/domain.md §3). Safeground
proposes the answer and says why; the approver accepts it (``Ledger.approve``) or overrides it
(``override``):

- ``update``: the report names an object the record (or the holding area) already holds; the
  reasons list the attributes it changes.
- ``duplicate``: a new object id, but an existing object of the same type is probably the same
  thing: areas overlapping by ``AREA_OVERLAP`` or more, points closer than ``NEAR_M`` with
  dates within ``DAYS`` and the same category. Needs review: approve as new, or re-target.
- ``link``: an accident or evidence point without a hazardous area falls inside one.
- ``new``: none of the above.

Hazardous areas overlapping ``Settings.duplicate_overlap`` or more are already refused at the
gate (DUPLICATE_AREA); the proposals here catch the softer cases the gate lets through.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import select

from safeground.errors import ConflictError
from safeground.record.ledger import Ledger
from safeground.record.reports import REPORT_SPECS
from safeground.record.storage.schema import object_tables
from safeground.record.vocabulary import ReportStatus, ReportType

AREA_OVERLAP = 0.3
#: how near (m), how close in time (days) and on which attribute two point reports must agree
#: to be called probable duplicates
POINT_RULES: dict[ReportType, tuple[float, int, str | None]] = {
    ReportType.EVIDENCE: (25.0, 30, "category"),
    ReportType.ACCIDENT: (200.0, 3, "device_category"),
    ReportType.RISK_EDUCATION: (100.0, 0, "method"),
}
LINKABLE = (ReportType.EVIDENCE, ReportType.ACCIDENT)
#: types whose updates report how far the geometry moved
_GEOM_CHANGES = (ReportType.HAZARDOUS_AREA, ReportType.SETTLEMENT, ReportType.ADMIN_AREA,
                 ReportType.EVIDENCE, ReportType.ACCIDENT, ReportType.ACTIVITY)


class Proposal(NamedTuple):
    """What a report in the holding area most likely is (a named tuple: a million are made
    in a second)."""

    report_id: int
    where: str
    report_type: str
    object_id: str
    action: str                      # new, update, duplicate, link
    target: str | None = None        # the existing object (update, duplicate, link)
    reasons: tuple[str, ...] = ()

    @property
    def needs_review(self) -> bool:
        return self.action in ("duplicate", "link")

    def to_dict(self) -> dict[str, Any]:
        return {"report_id": self.report_id, "where": self.where,
                "report_type": self.report_type, "object_id": self.object_id,
                "action": self.action, "target": self.target, "reasons": list(self.reasons),
                "needs_review": self.needs_review}


@dataclass(slots=True)
class _Item:
    report_id: int
    rtype: ReportType
    oid: str
    date: dt.date
    attrs: dict[str, Any]
    geom: Any          # lon/lat when made; metric once a spatial rule needs it
    where: str
    submission: str


def _date(v: Any) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10])


def _geom(ledger: Ledger, g: Any) -> Any:
    if g is None or isinstance(g, str | dict):
        return None
    return ledger.projector.to_metric(g)


def _lonlat(g: Any) -> Any:
    return None if g is None or isinstance(g, str | dict) else g


@lru_cache(maxsize=8)
def _to_utm(epsg: int) -> Transformer:
    return Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)


def _metric_all(ledger: Ledger, items: list[_Item]) -> None:
    """Project every item's lon/lat geometry to the metric CRS in one pyproj call."""
    todo = [it for it in items if it.geom is not None]
    if not todo:
        return
    tr = _to_utm(ledger.settings.utm_epsg)

    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    out = shapely.transform(np.array([it.geom for it in todo], dtype=object), apply)
    for it, g in zip(todo, out, strict=True):
        it.geom = g


def propose(ledger: Ledger, accepted: Sequence[tuple[dict[str, Any], int]]) -> list[Proposal]:
    """Proposals for records just taken in (record dict, report id), in their order.

    Records of types without a spatial or link rule (explosive items, victims...) are new
    unless their object is known: that is settled for a whole type at once, and only updates
    are looked at one by one."""
    types: dict[Any, ReportType] = {}
    by_type: dict[ReportType, list[int]] = defaultdict(list)
    values = [rec["report_type"] for rec, _ in accepted]
    if values and values.count(values[0]) == len(values) and values[0].__class__ is str:
        by_type[ReportType(values[0].strip())] = list(range(len(values)))  # one type
        values = []
    for i, value in enumerate(values):
        try:
            rtype = types[value]
        except KeyError:
            rtype = types[value] = ReportType(str(value).strip())
        by_type[rtype].append(i)
    out: list[Proposal | None] = [None] * len(accepted)
    at: list[int] = []  # positions of the records looked at one by one
    for rtype, idx in by_type.items():
        if rtype is ReportType.HAZARDOUS_AREA or rtype in POINT_RULES or rtype in LINKABLE:
            at += idx
            continue
        rows = [accepted[i] for i in idx]
        oids = [str(rec["object_id"]) for rec, _ in rows]
        known = _known_ids(ledger, rtype)
        props = map(Proposal._make, zip(
            [rid for _, rid in rows], [rec.get("_where", "") for rec, _ in rows],
            repeat(rtype.value), oids, repeat("new"), repeat(None), repeat(()), strict=False))
        if len(idx) == len(out):
            out = list(props)
        else:
            for i, prop in zip(idx, props, strict=True):
                out[i] = prop
        if not known.isdisjoint(oids):
            at += [i for i, oid in zip(idx, oids, strict=True) if oid in known]
    if at:
        items = [_item(*accepted[i]) for i in at]
        for i, prop in zip(at, _propose(ledger, items), strict=True):
            out[i] = prop
    return out  # type: ignore[return-value]


def _item(rec: dict[str, Any], rid: int) -> _Item:
    return _Item(rid, ReportType(str(rec["report_type"]).strip()), str(rec["object_id"]),
                 _date(rec["date_of_information"]), rec, _lonlat(rec.get("geometry")),
                 rec.get("_where", ""),
                 str(rec.get("submission_id") or "").split("/")[0])


def proposals_for(ledger: Ledger, report_ids: Iterable[int] | None = None) -> list[Proposal]:
    """Proposals for reports waiting in the holding area (all, or the ones named)."""
    wanted = set(report_ids) if report_ids is not None else None
    items = []
    for rep in ledger.reports(status=ReportStatus.SUBMITTED):
        if wanted is not None and rep.id not in wanted:
            continue
        items.append(_Item(rep.id, ReportType(rep.type), rep.object_id, rep.date_of_information,
                           dict(rep.payload), _lonlat(rep.geometry), f"report {rep.id}",
                           str(rep.submission_id or "").split("/")[0]))
    return _propose(ledger, items)


def _existing(ledger: Ledger, rtype: ReportType) -> list[_Item]:
    """Approved objects and other reports waiting in the holding area, as candidates."""
    out = []
    for row in ledger.objects(rtype):
        out.append(_Item(-1, rtype, row["id"], _date(row["last_date"]), row,
                         _lonlat(row.get("geometry")), f"{rtype.value} {row['id']}", ""))
    for rep in ledger.reports(status=ReportStatus.SUBMITTED, report_type=rtype):
        out.append(_Item(rep.id, rtype, rep.object_id, rep.date_of_information,
                         dict(rep.payload), _lonlat(rep.geometry), f"report {rep.id}",
                         str(rep.submission_id or "").split("/")[0]))
    _metric_all(ledger, out)
    return out


def _known_ids(ledger: Ledger, rtype: ReportType) -> set[str]:
    table = object_tables[rtype]
    with ledger.db.read() as conn:
        return set(conn.execute(select(table.c.id)).scalars())


def _propose(ledger: Ledger, items: list[_Item]) -> list[Proposal]:
    by_type: dict[ReportType, list[_Item]] = defaultdict(list)
    for it in items:
        by_type[it.rtype].append(it)
    out: dict[int, Proposal] = {}
    for rtype, group in by_type.items():
        known = _known_ids(ledger, rtype)
        spatial = rtype is ReportType.HAZARDOUS_AREA or rtype in POINT_RULES
        if spatial or rtype in LINKABLE:
            # only here is the metric geometry needed: a million items skip the projection
            _metric_all(ledger, group)
        # candidates: approved objects and every report waiting in the holding area, which
        # includes the other records of this batch (two teams reporting one accident)
        index = _Index(_existing(ledger, rtype)) if spatial else None
        for it in group:
            if it.oid in known:
                out[it.report_id] = Proposal(it.report_id, it.where, rtype.value, it.oid,
                                             "update", it.oid, _changes(ledger, rtype, it))
                continue
            dup = _duplicate(rtype, it, index) if index is not None else None
            if dup:
                out[it.report_id] = Proposal(it.report_id, it.where, rtype.value, it.oid,
                                             "duplicate", dup[0], dup[1])
            else:
                out[it.report_id] = Proposal(it.report_id, it.where, rtype.value, it.oid, "new")
    for rtype in LINKABLE:
        group = [it for it in by_type.get(rtype, []) if out[it.report_id].action == "new"
                 and not it.attrs.get("hazardous_area_id") and it.geom is not None]
        if group:
            _links(ledger, group, out)
    return [out[it.report_id] for it in items]


class _Index:
    """Candidates in a spatial index (metric geometries)."""

    def __init__(self, cands: list[_Item]) -> None:
        self.items = [c for c in cands if c.geom is not None]
        self.tree = shapely.STRtree([c.geom for c in self.items])

    def near(self, geom: Any, distance: float | None) -> list[_Item]:
        if not self.items:
            return []
        if distance is None:
            hits = self.tree.query(geom, predicate="intersects")
        else:
            hits = self.tree.query(geom, predicate="dwithin", distance=distance)
        return [self.items[int(i)] for i in hits]


def _changes(ledger: Ledger, rtype: ReportType, it: _Item) -> tuple[str, ...]:
    try:
        current = ledger.get(rtype, it.oid)
    except LookupError:
        return ("updates an object waiting in the holding area",)
    changed = []
    for f in REPORT_SPECS[rtype].fields:
        new = it.attrs.get(f.name)
        old = current.get(f.name)
        if new is None or _same_value(new, old):
            continue
        changed.append(f"{f.name}: {old!s} -> {new!s}" if not f.sensitive else f.name)
    if it.geom is not None and current.get("geometry") is not None and rtype in _GEOM_CHANGES:
        mine = it.geom if rtype is ReportType.HAZARDOUS_AREA or rtype in POINT_RULES \
            else _geom(ledger, it.geom)
        moved = mine.hausdorff_distance(ledger.projector.to_metric(current["geometry"]))
        if moved > 1.0:
            changed.append(f"geometry moves up to {moved:.0f} m")
    return tuple(changed) or ("no attribute changes",)


def _same_value(new: Any, old: Any) -> bool:
    """A raw form answer against a stored value: "40000" is 40000.0, "AP AT" is [AP, AT]."""
    if isinstance(old, list):
        items = new if isinstance(new, list) else str(new).replace(",", " ").split()
        return sorted(map(str, items)) == sorted(map(str, old))
    if isinstance(old, bool):
        return str(new).strip().lower() in (("yes", "true", "1") if old else ("no", "false", "0"))
    if isinstance(old, int | float):
        try:
            return float(new) == float(old)
        except (TypeError, ValueError):
            return False
    return str(new) == str(old)


def _duplicate(rtype: ReportType, it: _Item, index: _Index
               ) -> tuple[str, tuple[str, ...]] | None:
    if it.geom is None:
        return None
    best: tuple[float, str, tuple[str, ...]] | None = None
    near = None if rtype is ReportType.HAZARDOUS_AREA else POINT_RULES[rtype][0]
    for c in index.near(it.geom, near):
        if c.report_id == it.report_id or c.oid == it.oid or c.geom is None \
                or (it.submission and c.submission == it.submission):
            continue
        if rtype is ReportType.HAZARDOUS_AREA:
            if not it.geom.intersects(c.geom):
                continue
            inter = it.geom.intersection(c.geom).area
            share = max(inter / it.geom.area if it.geom.area else 0,
                        inter / c.geom.area if c.geom.area else 0)
            if share < AREA_OVERLAP:
                continue
            reasons = [f"overlaps {share:.0%} of {c.where}"]
            days = abs((it.date - c.date).days)
            reasons.append(f"dates {days} days apart")
            for f in ("classification", "name"):
                if it.attrs.get(f) and str(it.attrs.get(f)) == str(c.attrs.get(f)):
                    reasons.append(f"same {f} '{it.attrs[f]}'")
            score = share
        else:
            near, days_limit, attr = POINT_RULES[rtype]
            dist = it.geom.distance(c.geom)
            days = abs((it.date - c.date).days)
            if dist > near or days > days_limit:
                continue
            if attr and str(it.attrs.get(attr)) != str(c.attrs.get(attr)):
                continue
            reasons = [f"{dist:.0f} m from {c.where}", f"dates {days} days apart"]
            if attr:
                reasons.append(f"same {attr} '{it.attrs.get(attr)}'")
            score = 1 - dist / near
        if best is None or score > best[0]:
            best = (score, c.oid, tuple(reasons))
    return (best[1], best[2]) if best else None


def _links(ledger: Ledger, group: list[_Item], out: dict[int, Proposal]) -> None:
    areas = [a for a in ledger.objects(ReportType.HAZARDOUS_AREA) if a.get("geometry") is not None]
    if not areas:
        return
    metric = [ledger.projector.to_metric(a["geometry"]) for a in areas]
    tree = shapely.STRtree(metric)
    for it in group:
        hits = tree.query(it.geom, predicate="intersects")
        if len(hits):
            a = areas[int(hits[0])]
            out[it.report_id] = Proposal(
                it.report_id, it.where, it.rtype.value, it.oid, "link", a["id"],
                (f"lies inside hazardous area '{a['id']}' ({a.get('classification')}) but "
                 "names no hazardous area",))


def override(ledger: Ledger, report_id: int, user: str, target: str, note: str = "") -> int:
    """Re-target a waiting report at an existing object (the reviewer says "this is an update
    of ``target``"): submits a copy under ``target`` and rejects the original with a note.
    Returns the new report id; another person approves it. Raises ConflictError when the
    copy is refused at the gate, NotFoundError for an unknown report."""
    rep = ledger.report(report_id)
    record: dict[str, Any] = {"report_type": str(rep.type), "object_id": target,
                              "date_of_information": rep.date_of_information,
                              "organisation": rep.organisation, "author": rep.author,
                              **rep.payload, "geometry": rep.geometry,
                              "_where": f"report {report_id} re-targeted to {target}"}
    res = ledger.submit([record], user=user, source=f"override of report {report_id}")
    if not res.accepted:
        probs = res.rejected[0].problems if res.rejected else []
        raise ConflictError("the re-targeted report was refused at the gate",
                            code="OVERRIDE_REFUSED", details=[p.to_dict() for p in probs])
    ledger.reject([report_id], user=user,
                  note=note or f"re-targeted to {target} as report {res.accepted[0]}")
    return res.accepted[0]
