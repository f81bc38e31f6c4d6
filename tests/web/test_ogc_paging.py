"""OGC items and the API's object lists asked of the database (``Ledger.page``) give exactly
the features, ``numberMatched`` and pages the whole layer filtered in Python gives; their
``next`` / ``prev`` links walk the whole answer; GDAL reads a collection larger than its page
completely with its default options."""

from __future__ import annotations

import random
from urllib.parse import parse_qs, urlsplit

import pyogrio
import pytest
import shapely
from shapely.geometry import box
from websupport import SUBMITTER, build_site, password, serve_in_process

from safeground.record.vocabulary import ReportType
from safeground.web.mapview import MapView
from safeground.web.ogc import COLLECTIONS, _interval, _matches
from safeground.web.views import feature, public_area

N_EXTRA = 260


def _extra_areas(n: int) -> list[dict]:
    rnd = random.Random(3)
    out = []
    for i in range(n):
        x, y = 46.6 + rnd.uniform(0, 0.8), 39.3 + rnd.uniform(0, 0.8)
        w, h = rnd.uniform(0.001, 0.02), rnd.uniform(0.001, 0.02)
        geom = box(x, y, x + w, y + h) if i % 2 else shapely.Polygon(
            [(x, y), (x + w, y), (x, y + h)])
        out.append({"report_type": "hazardous_area", "object_id": f"HA-X{i:04d}",
                    "date_of_information": f"202{rnd.randrange(0, 3)}-0{rnd.randrange(1, 9)}-15",
                    "organisation": "ANAMA", "author": "surveyor", "geometry": geom,
                    "classification": rnd.choice(["SHA", "CHA"]), "contamination": ["AP"]})
    return out


def _grow(site) -> None:
    res = site.ledger.submit(_extra_areas(N_EXTRA), user=SUBMITTER)
    assert not res.rejected, [p.message for r in res.rejected for p in r.problems]
    assert not site.ledger.approve(res.accepted, user="ops.chief").refused


@pytest.fixture(scope="module")
def big(site):
    _grow(site)
    return site


def _walk(client, cid: str, params: dict) -> tuple[list[str], set[int]]:
    """Every feature id, following next links from the first page; checks prev links."""
    url = f"/ogc/collections/{cid}/items"
    ids, matched, first = [], set(), True
    while url:
        r = client.get(url, params=params if first else None)
        assert r.status_code == 200, r.text
        body = r.json()
        matched.add(body["numberMatched"])
        assert body["numberReturned"] == len(body["features"])
        ids += [f["id"] for f in body["features"]]
        links = {link["rel"]: link["href"] for link in body["links"]}
        q = parse_qs(urlsplit(links["self"]).query)
        off, lim = int(q["offset"][0]), int(q["limit"][0])
        if off:
            prev = parse_qs(urlsplit(links["prev"]).query)
            assert int(prev["offset"][0]) == max(0, off - lim)
        else:
            assert "prev" not in links
        nxt = links.get("next")
        assert (nxt is not None) == (off + lim < body["numberMatched"])
        url = nxt.split("://", 1)[1].split("/", 1)[1] if nxt else None
        url = "/" + url if url else None
        first = False
    return ids, matched


CASES = [
    ("hazardous_areas", "analyst", None, None),
    ("hazardous_areas", "analyst", "46.7,39.4,47.0,39.8", None),
    ("hazardous_areas", "analyst", "46.7,39.4,47.0,39.8", "2021-01-01/2021-12-31"),
    ("hazardous_areas", "analyst", None, "../2020-06-30"),
    ("hazardous_area_points", "visitor", "46.8,39.5,47.1,39.9", None),
    ("hazardous_area_points", "visitor", None, "2022-01-01/.."),
    ("released_land", "visitor", "46.85,39.45,47.25,39.75", None),
    ("settlements", "visitor", "46.0,39.0,48.0,41.0", None),
    ("accidents", "analyst", "46.0,39.0,48.0,41.0", "2020-01-01/.."),
]


@pytest.mark.parametrize("cid,who,bbox,when", CASES)
@pytest.mark.parametrize("limit", [7, 100])
def test_items_pages_are_the_python_filter_paged(big, cid, who, bbox, when, limit):
    from safeground.record.users import Users

    user = Users(big.ledger.db).get(who)
    c = COLLECTIONS[cid]
    rows = big.ledger.objects(c.rtype)
    if when:
        rows = [r for r in rows if _matches(r, _interval(when))]
    feats = [public_area(r) if cid == "hazardous_area_points" else feature(c.rtype, r, user)[0]
             for r in rows]
    box_ = shapely.box(*map(float, bbox.split(","))) if bbox else None
    expected = [f["id"] for f in MapView(box_).features(feats)]
    assert expected                                    # each case finds something
    params = {"limit": limit, **({"bbox": bbox} if bbox else {}),
              **({"datetime": when} if when else {})}
    ids, matched = _walk(big.as_user(who), cid, params)
    assert ids == expected and matched == {len(expected)}


def test_a_viewers_box_tests_the_generalised_point_not_the_perimeter(big):
    """A box inside an area's perimeter but away from its ~1 km point finds nothing: the
    index prefilter never lets a viewer probe a perimeter."""
    ha = big.ledger.get(ReportType.HAZARDOUS_AREA, "HA-X0001")
    g = ha["geometry"]
    pt = shapely.geometry.shape(public_area(ha)["geometry"])
    corners = [shapely.box(x - 1e-4, y - 1e-4, x + 1e-4, y + 1e-4)
               for x, y in list(g.exterior.coords)[:-1]]
    far = next(b for b in corners if b.distance(pt) > 1e-3)
    bbox = ",".join(str(v) for v in far.bounds)
    staff = big.as_user("analyst").get("/ogc/collections/hazardous_areas/items",
                                       params={"bbox": bbox}).json()
    assert "HA-X0001" in {f["id"] for f in staff["features"]}
    viewer = big.as_user("visitor").get("/ogc/collections/hazardous_area_points/items",
                                        params={"bbox": bbox}).json()
    assert "HA-X0001" not in {f["id"] for f in viewer["features"]}
    near = ",".join(str(v) for v in pt.buffer(1e-4).bounds)
    viewer = big.as_user("visitor").get("/ogc/collections/hazardous_area_points/items",
                                        params={"bbox": near}).json()
    assert "HA-X0001" in {f["id"] for f in viewer["features"]}


def test_api_object_lists_page_the_database(big):
    every = [r["id"] for r in big.ledger.objects(ReportType.HAZARDOUS_AREA)]
    client = big.as_user("analyst")
    got = []
    for offset in range(0, len(every), 50):
        body = client.get("/api/v1/objects/hazardous_area",
                          params={"limit": 50, "offset": offset}).json()
        assert body["numberMatched"] == len(every)
        got += [f["id"] for f in body["features"]]
    assert got == every
    past = client.get("/api/v1/objects/hazardous_area", params={"as_of": "2020-01-01"}).json()
    assert past["numberMatched"] < len(every)


@pytest.fixture(scope="module")
def served_big(tmp_path_factory):
    """A grown site served by ``safeground serve`` in its own process (GDAL holds the GIL)."""
    work = tmp_path_factory.mktemp("big")
    url = f"sqlite:///{work}/record.sqlite"
    s = build_site(url)
    _grow(s)
    with serve_in_process(url, work, work / "serve.log") as base:
        yield s, base
    s.ledger.db.close()


def test_gdal_reads_a_collection_larger_than_a_page_completely(served_big):
    site, base = served_big
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BASIC",
                                     "GDAL_HTTP_USERPWD": f"analyst:{password('analyst')}"})
    try:
        frame = pyogrio.read_dataframe(f"OAPIF:{base}/ogc", layer="hazardous_areas")
        points = pyogrio.read_dataframe(f"OAPIF:{base}/ogc", layer="hazardous_area_points")
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_USERPWD": None})
    every = [r["id"] for r in site.ledger.objects(ReportType.HAZARDOUS_AREA)]
    assert len(every) > 100 + N_EXTRA // 2       # more than one default page
    assert sorted(frame["id"]) == sorted(every) and len(frame) == len(every)
    assert sorted(points["id"]) == sorted(every)
