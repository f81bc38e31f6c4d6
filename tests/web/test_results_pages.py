"""The dashboard and the analysis page read as people read them: settlement and people
figures that agree, killed drawn dark red, codes as words, thousands separated, the land
release table inside its card."""

from __future__ import annotations

import re

from websupport import build_site

from safeground.record.labels import value as label
from safeground.record.summary import status
from safeground.record.vocabulary import ReportType


def _site(tmp_path):
    return build_site(f"sqlite:///{tmp_path}/record.sqlite", work_dir=tmp_path)


def test_the_dashboard_says_settlements_and_people_in_one_table(tmp_path):
    site = _site(tmp_path)
    html = site.as_user("visitor").get("/dashboard").text
    table = html[html.index('id="settlement-figures"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r'<tr data-status="(\w+)"><td>([^<]*)</td><td class="num">([\d,]+)</td>'
                      r'<td class="num">([\d,]+)</td><td class="num">([\d,]+)</td>', table)
    settlements = site.ledger.objects(ReportType.SETTLEMENT)
    s = status(site.ledger)
    assert {r[0] for r in rows} == {x["return_status"] for x in settlements}
    for code, shown, n, displaced, returned in rows:
        mine = [x for x in settlements if x["return_status"] == code]
        assert shown == label(code)
        assert int(n.replace(",", "")) == len(mine)
        assert int(displaced.replace(",", "")) == sum(x["displaced_population"] or 0
                                                      for x in mine)
        assert int(returned.replace(",", "")) == sum(x["returned_population"] or 0
                                                     for x in mine)
    # the headline: people not yet returned, with the returned count beside it (separated)
    waiting = s.displaced - s.returned
    assert waiting > 999
    assert f'data-figure="waiting">{waiting:,}<' in html
    assert f"{s.returned:,} of {s.displaced:,} recorded as returned" in html
    site.ledger.db.close()


def test_killed_is_dark_red_and_codes_read_as_words(tmp_path):
    site = _site(tmp_path)
    html = site.as_user("visitor").get("/dashboard").text
    casualties = html[html.index('aria-label="Casualties by outcome and status"'):]
    casualties = casualties[:casualties.index("</svg>")]
    killed = re.search(r'fill="(#[0-9a-f]{6})"><title>killed · civilian', casualties)
    assert killed, casualties
    r, g, b = (int(killed.group(1)[i:i + 2], 16) for i in (1, 3, 5))
    assert r > g and r > b and g < 100          # red or dark red, never green
    items = html[html.index('aria-label="Explosive items by category"'):]
    items = items[:items.index("</svg>")]
    assert "anti-personnel mine" in items and "AP_mine" not in items
    assert "unexploded ordnance" in items
    site.ledger.db.close()


def test_the_land_release_table_scrolls_inside_its_card(tmp_path):
    site = _site(tmp_path)
    html = site.as_user("analyst").get("/analysis").text
    card = html[html.index('id="released-by-year"'):]
    assert card.index('class="table-scroll"') < card.index("<table")
    css = site.client().get("/static/app.css").text
    assert re.search(r"\.table-scroll\s*{[^}]*overflow-x:\s*auto", css)
    site.ledger.db.close()


# --- the risk surface on the map, an area's risk and plan, the offline basemap ------------

def _risk_site(tmp_path):
    from resultsupport import write_risk
    from websupport import write_plan

    site = _site(tmp_path)
    site.plan = write_plan(site, tmp_path)
    rows = write_risk(site.ledger, tmp_path)
    return site, rows


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2 ** z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def _pixels(data: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def test_the_risk_surface_is_served_as_tiles_to_staff_only(tmp_path):
    from resultsupport import INSIDE, MODEL_AS_OF

    from safeground.web.tiles import RISK_CLASSES, legend

    site, _ = _risk_site(tmp_path)
    staff = site.as_user("chief")
    meta = staff.get("/api/v1/map/risk").json()
    assert meta["available"] and meta["as_of"] == MODEL_AS_OF
    assert meta["classes"] == legend()
    area = site.ledger.get(ReportType.HAZARDOUS_AREA, "HA-001")["geometry"]
    p = area.representative_point()
    x, y = _tile_of(p.x, p.y, 14)
    r = staff.get(f"/api/v1/map/risk/14/{x}/{y}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    px = _pixels(r.content)
    colour = next(c for b, c in reversed(RISK_CLASSES) if b <= INSIDE)
    rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    drawn = px[px[..., 3] > 0]
    assert len(drawn) and (drawn[:, :3] == rgb).all(axis=1).any()
    # far from the record: a transparent tile
    empty = _pixels(staff.get("/api/v1/map/risk/14/0/0.png").content)
    assert not empty[..., 3].any()
    assert staff.get("/api/v1/map/risk/3/9/0.png").json()["error"]["code"] == "TILE_INVALID"
    # a viewer sees neither the layer nor its tiles
    viewer = site.as_user("visitor")
    assert viewer.get("/api/v1/map/risk").status_code == 403
    assert viewer.get(f"/api/v1/map/risk/14/{x}/{y}.png").status_code == 403
    assert 'data-risk=' not in viewer.get("/map").text
    page = staff.get("/map").text
    assert 'id="risk-legend"' in page and MODEL_AS_OF in page
    site.ledger.db.close()


def test_an_area_page_shows_its_risk_factors_and_planned_work(tmp_path):
    import re

    site, rows = _risk_site(tmp_path)
    row = next(r for r in rows if r["object_id"] == "HA-001")
    html = site.as_user("chief").get("/objects/hazardous_area/HA-001").text
    outlook = html[html.index('id="area-outlook"'):]
    assert f"{row['rank']} of {len(rows)} areas" in outlook
    assert f"{row['mean_probability'] * 100:.1f} %" in outlook
    assert f"{row['proposed']} (" in outlook
    assert "distance to roads (km)" in outlook and "dist_roads_km" not in outlook
    from safeground.web.api import planned_areas

    mine = planned_areas(tmp_path).get("HA-001")
    if mine:
        shown = re.search(r'data-field="planned_release_date">([^<]*)<', outlook).group(1)
        assert shown == (mine["planned_release_date"] or "not within the plan")
    else:
        assert "puts no team on this area" in outlook
    assert 'href="/objects/hazardous_area/HA-001/dossier.pdf"' in outlook
    site.ledger.db.close()


def test_an_offline_basemap_is_served_from_an_mbtiles_file(tmp_path):
    import pytest
    from resultsupport import write_mbtiles

    from safeground.errors import ConfigError
    from safeground.web import create_app

    tile = write_mbtiles(tmp_path / "base.mbtiles")
    site = _site(tmp_path)
    app = create_app(site.ledger.settings, ledger=site.ledger, basemap=tmp_path / "base.mbtiles")
    site.app = app
    c = site.as_user("visitor")
    meta = c.get("/api/v1/map/basemap").json()
    assert meta["available"] and meta["max_zoom"] == 0 and meta["attribution"] == "test data"
    r = c.get("/api/v1/map/basemap/0/0/0")
    assert r.status_code == 200 and r.content == tile and r.headers["content-type"] == "image/png"
    assert c.get("/api/v1/map/basemap/1/0/0").status_code == 204
    assert "data-basemap=" in c.get("/map").text
    # not an MBTiles file: refused when the app starts
    (tmp_path / "bad.mbtiles").write_text("not a database")
    with pytest.raises(ConfigError) as e:
        create_app(site.ledger.settings, ledger=site.ledger, basemap=tmp_path / "bad.mbtiles")
    assert e.value.code == "BASEMAP_INVALID"
    site.ledger.db.close()


def test_the_programme_report_is_made_as_pdf_in_the_web_app(tmp_path):
    import io

    import pytest
    from pypdf import PdfReader
    from websupport import made

    pytest.importorskip("weasyprint")
    site = _site(tmp_path)
    r = made(site, site.as_user("visitor"),
             "/api/v1/programme-report?start=2021-01-01&end=2021-12-31&format=pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "Map of the programme" in text
    html = site.as_user("visitor").get("/dashboard").text
    assert '<option value="pdf">' in html
    site.ledger.db.close()


def test_the_roads_of_the_context_layers_come_with_their_names(tmp_path):
    import geopandas as gpd
    import shapely

    site = _site(tmp_path)
    c = site.as_user("visitor")
    assert c.get("/api/v1/map/context/roads").json()["error"]["code"] == "OUTPUT_NOT_AVAILABLE"
    assert "data-roads-url" not in c.get("/map").text
    (tmp_path / "context").mkdir()
    roads = gpd.GeoDataFrame(
        {"name": ["M2 Baku–Fuzuli", None], "road_class": ["main", "track"]},
        geometry=[shapely.LineString([(46.9, 39.9), (47.1, 39.7)]),
                  shapely.LineString([(45.0, 38.0), (45.1, 38.1)])], crs="EPSG:4326")
    roads.to_crs("EPSG:32638").to_file(tmp_path / "context" / "roads.gpkg")
    inside = c.get("/api/v1/map/context/roads?bbox=46.8,39.6,47.2,40.0&zoom=12").json()
    assert [f["properties"]["label"] for f in inside["features"]] == ["M2 Baku–Fuzuli"]
    lon, lat = inside["features"][0]["geometry"]["coordinates"][0]
    assert abs(lon - 46.9) < 1e-4 and abs(lat - 39.9) < 1e-4
    everything = c.get("/api/v1/map/context/roads").json()["features"]
    assert sorted(f["properties"]["label"] for f in everything) == ["M2 Baku–Fuzuli", "track"]
    # zoomed out: none (they would only clutter the map)
    assert c.get("/api/v1/map/context/roads?zoom=6").json()["features"] == []
    assert 'data-roads-url="/api/v1/map/context/roads"' in c.get("/map").text
    site.ledger.db.close()


def test_an_offline_basemap_is_served_from_a_pmtiles_file(tmp_path):
    from resultsupport import write_pmtiles

    from safeground.web import create_app

    tiles = write_pmtiles(tmp_path / "base.pmtiles")
    site = _site(tmp_path)
    site.app = create_app(site.ledger.settings, ledger=site.ledger,
                          basemap=tmp_path / "base.pmtiles")
    c = site.as_user("visitor")
    meta = c.get("/api/v1/map/basemap").json()
    assert (meta["min_zoom"], meta["max_zoom"]) == (0, 1)
    for (z, x, y), data in tiles.items():
        r = c.get(f"/api/v1/map/basemap/{z}/{x}/{y}")
        assert r.status_code == 200 and r.content == data, (z, x, y)
    assert c.get("/api/v1/map/basemap/2/0/0").status_code == 204
    site.ledger.db.close()
