"""Malformed and hostile files for every format the importer reads, made at test time.

``generate(out_dir, seed)`` writes more than a thousand files into ``out_dir`` and returns them
as ``Case`` values (file, base format, mutation). Everything comes from one seeded
``random.Random``: the same seed gives the same bytes on every run. Nothing here is committed.

Bases (one small, valid file each, one NTS submission or a few report rows): plain CSV (WKT and
lon/lat), report GeoJSON, plain GeoJSON (read by GDAL), ODK Central CSV zip, ODK OData JSON,
KoboToolbox JSON and CSV, Survey123 GeoJSON and zip, GeoPackage, zipped Shapefile, and a zip
holding each of the CSV, GeoJSON and GeoPackage bases.

Mutations: truncation, bit flips, garbage and zeroed runs, invalid UTF-8, wrong types at every
level of the JSON tree, deep nesting, huge strings and numbers, NaN / Infinity, bad
geometries (empty parts, 600-deep coordinates, too many vertices), huge CSV cells, NUL bytes,
ragged rows, and for zips: the encryption flag, corrupt deflate data, unknown compression
methods, headers that lie about sizes, too many members, zip bombs, nested zips and paths that
climb out of the archive.
"""

from __future__ import annotations

import csv
import io
import json
import random
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeground.intake import field_exports as fx
from safeground.intake import samples

ORG = "ORG-1"


@dataclass(frozen=True, slots=True)
class Case:
    path: Path
    base: str       # the base format the file was made from
    mutation: str   # what was done to it


# ------------------------------------------------------------------------------ the bases
def _area(oid: str, lon: float, lat: float, d: float = 0.002) -> dict[str, Any]:
    return {"type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[
                [lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]},
            "properties": {"report_type": "hazardous_area", "object_id": oid,
                           "date_of_information": "2024-07-01", "organisation": ORG,
                           "author": "surveyor", "classification": "SHA",
                           "contamination": ["AP"]}}


def _csv_text(rows: list[list[Any]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def bases(tmp: Path, k: int) -> dict[str, tuple[str, bytes]]:
    """base name -> (file suffix, bytes). ``k`` picks the sample numbers (and places)."""
    out: dict[str, tuple[str, bytes]] = {}
    sub = samples.nts(5000 + k, org=ORG, seed=11)
    lon, lat = 46.9 + (k % 50) * 0.01, 40.3 + (k // 50) * 0.01
    out["csv"] = (".csv", _csv_text([
        ["report_type", "object_id", "date_of_information", "organisation", "author",
         "classification", "contamination", "wkt"],
        *[["hazardous_area", f"HA-CSV-{k}-{i}", "2024-07-01", ORG, "surveyor", "SHA", "AP",
           f"POLYGON (({lon + i * .003} {lat}, {lon + i * .003 + .002} {lat}, "
           f"{lon + i * .003 + .002} {lat + .002}, {lon + i * .003} {lat}))"]
          for i in range(3)]]).encode())
    out["csv-xy"] = (".csv", _csv_text([
        ["report_type", "object_id", "date_of_information", "organisation", "author",
         "category", "source", "reliability", "longitude", "latitude"],
        *[["evidence", f"EV-CSV-{k}-{i}", "2024-07-01", ORG, "surveyor", "combat_zone",
           "observed", "high", f"{lon + i * .001:.5f}", f"{lat - .01:.5f}"] for i in range(3)]
    ]).encode())
    out["reports"] = (".geojson", json.dumps({"type": "FeatureCollection", "features": [
        _area(f"HA-REP-{k}-{i}", lon + i * .003, lat + .02) for i in range(2)]}).encode())
    gdal = {"type": "FeatureCollection", "features": []}
    for i in range(2):
        f = _area(f"HA-OGR-{k}-{i}", lon + i * .003, lat + .04)
        props = f["properties"]
        props["REPORT_TYPE"] = props.pop("report_type")
        props["contamination"] = "AP"
        gdal["features"].append(f)
    out["geojson"] = (".geojson", json.dumps(gdal).encode())
    out["odk-zip"] = (".zip", fx.odk_csv_zip([sub], tmp / "odk.zip").read_bytes())
    out["odata"] = (".json", json.dumps(fx.odata_page([samples.nts(6000 + k, org=ORG, seed=11)],
                                                      "sg_nts")).encode())
    out["kobo-json"] = (".json", json.dumps(fx.kobo_page(
        [samples.nts(7000 + k, org=ORG, seed=11)])).encode())
    out["kobo-csv"] = (".csv", fx.kobo_csv([samples.nts(8000 + k, org=ORG, seed=11)],
                                           tmp / "kobo.csv").read_bytes())
    s123 = fx.survey123_zip([samples.nts(9000 + k, org=ORG, seed=11)],
                            tmp / "s123.zip").read_bytes()
    out["survey123-zip"] = (".zip", s123)
    members = _members(s123)
    main = next(n for n, d in members.items() if b"sg_form_id" in d)
    out["survey123"] = (".geojson", members[main])
    import geopandas as gpd
    from shapely.geometry import shape

    feats = [_area(f"HA-GPKG-{k}-{i}", lon + i * .003, lat + .06) for i in range(2)]
    frame = gpd.GeoDataFrame(
        [{**f["properties"], "contamination": "AP"} for f in feats],
        geometry=[shape(f["geometry"]) for f in feats], crs="EPSG:4326")
    gpkg = tmp / "base.gpkg"
    frame.to_file(gpkg, layer="hazardous_area", driver="GPKG")
    out["gpkg"] = (".gpkg", gpkg.read_bytes())
    shp = tmp / "shp"
    shp.mkdir(exist_ok=True)
    with warnings.catch_warnings():  # Shapefile's ten-letter names: the intake matches them
        warnings.simplefilter("ignore")
        frame.to_file(shp / "areas.shp")
    out["shp-zip"] = (".zip", _zip_bytes({p.name: p.read_bytes() for p in sorted(shp.iterdir())}))
    out["zip-csv"] = (".zip", _zip_bytes({"reports.csv": out["csv"][1]}))
    out["zip-geojson"] = (".zip", _zip_bytes({"areas.geojson": out["reports"][1]}))
    out["zip-gpkg"] = (".zip", _zip_bytes({"areas.gpkg": out["gpkg"][1]}))
    return out


JSON_BASES = ("reports", "geojson", "odata", "kobo-json", "survey123")
CSV_BASES = ("csv", "csv-xy", "kobo-csv")
ZIP_BASES = ("odk-zip", "survey123-zip", "shp-zip", "zip-csv", "zip-geojson", "zip-gpkg")


# -------------------------------------------------------------------------- byte mutations
def byte_mutations(rng: random.Random, data: bytes) -> Iterator[tuple[str, bytes]]:
    n = len(data)
    yield "empty", b""
    for frac in (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99):
        yield f"truncated at {frac:.0%}", data[: int(n * frac)]
    yield "last byte cut", data[:-1]
    for flips in (1, 1, 4, 16, 64, 256):
        b = bytearray(data)
        for _ in range(flips):
            b[rng.randrange(n)] ^= 1 << rng.randrange(8)
        yield f"{flips} bit flips", bytes(b)
    for run in (16, 512):
        b = bytearray(data)
        at = rng.randrange(max(1, n - run))
        b[at:at + run] = bytes(min(run, n - at))
        yield f"{run} zero bytes", bytes(b)
        b = bytearray(data)
        b[at:at + run] = rng.randbytes(min(run, n - at))
        yield f"{run} garbage bytes", bytes(b)
    at = rng.randrange(n)
    yield "invalid UTF-8 inserted", data[:at] + b"\xff\xfe\xc3(" + data[at:]
    yield "NUL inserted", data[:at] + b"\x00" + data[at:]
    yield "UTF-16 encoded", data.decode("latin-1").encode("utf-16")
    yield "BOM twice", b"\xef\xbb\xbf\xef\xbb\xbf" + data
    yield "random bytes", rng.randbytes(max(64, n // 4))
    yield "doubled", data + data


# --------------------------------------------------------------------------- JSON mutations
WRONG = [None, 0, -1, 1.5, True, "", "x", [], {}, [[]], [{}], {"a": {}}, "NaN",
         "9" * 60, 10 ** 30, -10 ** 30, 1e308, [None], {"type": None}]


def _paths(doc: Any, here: tuple = ()) -> Iterator[tuple]:
    yield here
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*here, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            yield from _paths(v, (*here, i))


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    doc = json.loads(json.dumps(doc))
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return doc


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


def _deep(depth: int, inner: Any = 0, kind: str = "list") -> str:
    if kind == "list":
        return "[" * depth + json.dumps(inner) + "]" * depth
    return '{"a":' * depth + json.dumps(inner) + "}" * depth


def json_mutations(rng: random.Random, data: bytes, sample: int = 40
                   ) -> Iterator[tuple[str, bytes]]:
    doc = json.loads(data)
    paths = list(_paths(doc))
    picks = rng.sample(paths, min(sample, len(paths)))
    for i, path in enumerate(picks):
        value = WRONG[i % len(WRONG)]
        yield f"{'/'.join(map(str, path)) or '(root)'} = {value!r:.20}", _dumps(_set(doc, path,
                                                                                    value))
    # the top of the tree: every wrong type in turn
    for value in WRONG:
        yield f"(root) = {value!r:.20}", _dumps(value)
    for path in rng.sample(paths, min(6, len(paths))):
        if not path:
            continue
        marker = "__DEEP__"
        text = _dumps(_set(doc, path, marker)).decode()
        for depth, kind in ((100, "list"), (1200, "list"), (1200, "dict"), (100_000, "list")):
            yield (f"{'/'.join(map(str, path))} nested {depth} deep ({kind})",
                   text.replace(f'"{marker}"', _deep(depth, 1, kind), 1).encode())
        yield (f"{'/'.join(map(str, path))} = 5000-digit integer",
               text.replace(f'"{marker}"', "9" * 5000, 1).encode())
        yield (f"{'/'.join(map(str, path))} = 1e400",
               text.replace(f'"{marker}"', "1e400", 1).encode())
        yield (f"{'/'.join(map(str, path))} = NaN", text.replace(f'"{marker}"', "NaN", 1).encode())
        yield (f"{'/'.join(map(str, path))} = 300 kB string",
               text.replace(f'"{marker}"', json.dumps("é" * 150_000), 1).encode())
    yield "invalid UTF-8 in a string", data.replace(b'"', b'"\xc3\x28', 1)
    yield "lone surrogate escape", data.replace(b'"', b'"\\ud800', 1)
    yield "trailing garbage", data + b"}]garbage"
    yield "duplicate keys", data.replace(b"{", b'{"type": 1, "type": [], ', 1)


def _geometry_paths(doc: Any, here: tuple = ()) -> Iterator[tuple]:
    if isinstance(doc, dict):
        if "coordinates" in doc and "type" in doc:
            yield here
            return
        for k, v in doc.items():
            yield from _geometry_paths(v, (*here, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _geometry_paths(v, (*here, i))


_GEOMS: list[tuple[str, str]] = []


def bad_geometries() -> list[tuple[str, str]]:
    """(name, GeoJSON text) of geometries no importer should choke on (made once)."""
    if not _GEOMS:
        for name, geom in _bad_geometries():
            text = _gc(300) if geom == "__GC300__" else json.dumps(
                geom, allow_nan=True).replace('"__DEEP600__"', _deep(600, 1.0))
            _GEOMS.append((name, text))
    return _GEOMS


def _bad_geometries() -> list[tuple[str, Any]]:
    x, y = 46.70, 39.60
    ring = [[x, y], [x + .01, y + .01], [x + .01, y], [x, y]]
    many = [[x + i * 1e-6, y + (i % 2) * 1e-6] for i in range(120_000)]
    return [
        ("MultiPolygon with an empty part", {"type": "MultiPolygon",
                                             "coordinates": [[ring], []]}),
        ("MultiPolygon of empty parts", {"type": "MultiPolygon", "coordinates": [[], [[]]]}),
        ("Polygon with an empty ring", {"type": "Polygon", "coordinates": [ring, []]}),
        ("Polygon of two points", {"type": "Polygon", "coordinates": [[[x, y], [x, y]]]}),
        ("Polygon ring of numbers", {"type": "Polygon", "coordinates": [[x, y, x, y]]}),
        ("Point of one number", {"type": "Point", "coordinates": [x]}),
        ("Point of strings", {"type": "Point", "coordinates": ["a", "b"]}),
        ("Point NaN", {"type": "Point", "coordinates": [float("nan"), y]}),
        ("Point Infinity", {"type": "Point", "coordinates": [float("inf"), -float("inf")]}),
        ("Point 1e308", {"type": "Point", "coordinates": [1e308, 1e308]}),
        ("Point huge integer", {"type": "Point", "coordinates": [10 ** 40, 7]}),
        ("Point of 9 numbers", {"type": "Point", "coordinates": [x, y, 1, 2, 3, 4, 5, 6, 7]}),
        ("coordinates nested 600 deep", {"type": "Point", "coordinates": "__DEEP600__"}),
        ("Polygon nested 600 deep", {"type": "Polygon", "coordinates": "__DEEP600__"}),
        ("unknown type", {"type": "Hexagon", "coordinates": [x, y]}),
        ("no type", {"coordinates": [x, y]}),
        ("GeometryCollection in itself 300 deep", "__GC300__"),
        ("LineString of 120,000 vertices", {"type": "LineString", "coordinates": many}),
        ("coordinates a string", {"type": "Polygon", "coordinates": "POLYGON ((1 2, 3 4))"}),
        ("coordinates an object", {"type": "Point", "coordinates": {"x": x, "y": y}}),
    ]


def _gc(depth: int) -> str:
    return ('{"type":"GeometryCollection","geometries":[' * depth
            + '{"type":"Point","coordinates":[46.7,39.6]}' + "]}" * depth)


def geometry_mutations(rng: random.Random, data: bytes) -> Iterator[tuple[str, bytes]]:
    doc = json.loads(data)
    paths = list(_geometry_paths(doc))
    if not paths:
        return
    for name, g in bad_geometries():
        path = paths[rng.randrange(len(paths))]
        text = _dumps(_set(doc, path, "__GEOM__")).decode()
        yield f"{'/'.join(map(str, path))}: {name}", text.replace('"__GEOM__"', g, 1).encode()


# ---------------------------------------------------------------------------- CSV mutations
def csv_mutations(rng: random.Random, data: bytes) -> Iterator[tuple[str, bytes]]:
    text = data.decode("utf-8-sig")
    delim = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") \
        else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    header, body = rows[0], rows[1:]

    def put(r: int, c: int, value: str) -> bytes:
        new = [list(x) for x in rows]
        r = min(r, len(new) - 1)
        new[r][c % len(new[r])] = value
        return _csv_text(new, delim).encode()

    for size in (140_000, 2_000_000):
        yield f"a {size:,}-character cell", put(1, rng.randrange(len(header)), "A" * size)
    yield "a 140,000-character header", put(0, 0, "H" * 140_000)
    yield "a 140,000-character unquoted line", (text + "B" * 140_000 + "\n").encode()
    yield "an unclosed quote", (text.rstrip("\n") + '\n"never closed' + "x" * 1000).encode()
    yield "invalid UTF-8 in the header", data.replace(header[0].encode(), b"\xff\xfe" +
                                                      header[0].encode(), 1)
    yield "invalid UTF-8 in a cell", put(1, 1, "x").replace(b"x", b"x\xc3\x28", 1)
    yield "invalid UTF-8 in every row", b"\n".join(
        line + (b"\xff" if i else b"") for i, line in enumerate(data.split(b"\n")))
    yield "a lone surrogate written", put(1, 1, "x").replace(b"x", b"\xed\xb3\xbf", 1)
    yield "NUL bytes in cells", put(1, 2, "a\x00b")
    if body:
        yield "a row one cell short", _csv_text([header, body[0][:-1], *body[1:]],
                                                delim).encode()
        yield "a row with 500 extra cells", _csv_text([header, body[0] + ["x"] * 500, *body[1:]],
                                                      delim).encode()
    yield "10,000 columns", _csv_text([header + [f"c{i}" for i in range(10_000)], *body],
                                      delim).encode()
    yield "header only", _csv_text([header], delim).encode()
    yield "blank lines only", b"\n\n\n\n"
    yield "CR line endings", text.replace("\n", "\r").encode()
    yield "the other delimiter", text.replace(delim, "|").encode()
    yield "duplicate header", _csv_text([header + header, *[r + r for r in body]],
                                        delim).encode()
    for label, value in (("NaN", "nan"), ("inf", "inf"), ("-inf", "-inf"), ("1e400", "1e400"),
                         ("huge integer", "9" * 5000), ("comma decimal", "46,8"),
                         ("empty", ""), ("text", "north of the well")):
        for col in [i for i, h in enumerate(header)
                    if h.lower() in ("longitude", "latitude", "wkt")
                    or h.lower().endswith(("_latitude", "_longitude", "geo"))][:2]:
            yield f"{header[col]} = {label}", put(1, col, value)
    wkt_col = next((i for i, h in enumerate(header) if h.lower() in ("wkt", "ha_geo")
                    or h.endswith("/ha_geo")), None)
    if wkt_col is not None:
        for label, value in (
                ("GEOMETRYCOLLECTION 1000 deep", "GEOMETRYCOLLECTION (" * 1000 + "POINT (1 2)"
                 + ")" * 1000),
                ("GeoJSON 1000 deep", '{"type":"Point","coordinates":' + _deep(1000, 1) + "}"),
                ("GeoJSON MultiPolygon with an empty part",
                 '{"type":"MultiPolygon","coordinates":[[[[46.70,39.60],[46.71,39.61],'
                 '[46.71,39.60],[46.70,39.60]]],[]]}'),
                ("WKT with NaN", "POLYGON ((nan 1, 2 2, 3 1, nan 1))"),
                ("WKT 20,000 vertices", "LINESTRING (" + ", ".join(
                    f"{46.7 + i * 1e-6} 39.6" for i in range(20_000)) + ")"),
                ("WKB hex garbage", "0103000000ffffffff"),
                ("ODK shape garbage", "39.8 46.8 0 3;abc;;;"),
                ("ODK shape 1e400", "1e400 46.8 0 3;39.8 1e400 0 3;39.8 46.8 0 3")):
            yield f"{header[wkt_col]}: {label}", put(1, wkt_col, value)


# ---------------------------------------------------------------------------- zip mutations
def _patch_central(data: bytes, edit: Callable[[bytearray, int, int], None]) -> bytes:
    """Apply ``edit(buffer, central_offset, local_offset)`` to every member's headers."""
    b = bytearray(data)
    end = b.rfind(b"PK\x05\x06")
    count, _size, offset = struct.unpack("<HII", bytes(b[end + 10:end + 20]))
    pos = offset
    for _ in range(count):
        local = struct.unpack("<I", bytes(b[pos + 42:pos + 46]))[0]
        edit(b, pos, local)
        n, m, k = struct.unpack("<HHH", bytes(b[pos + 28:pos + 34]))
        pos += 46 + n + m + k
    return bytes(b)


def _set_flag(b: bytearray, central: int, local: int) -> None:
    b[central + 8] |= 1
    b[local + 6] |= 1


def _set_method(method: int) -> Callable[[bytearray, int, int], None]:
    def edit(b: bytearray, central: int, local: int) -> None:
        struct.pack_into("<H", b, central + 10, method)
        struct.pack_into("<H", b, local + 8, method)
    return edit


def _set_size(size: int) -> Callable[[bytearray, int, int], None]:
    def edit(b: bytearray, central: int, local: int) -> None:
        struct.pack_into("<I", b, central + 24, size)
        struct.pack_into("<I", b, local + 22, size)
    return edit


def _corrupt_deflate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    first = struct.unpack("<I", bytes(b[b.rfind(b"PK\x05\x06") + 16:][:4]))[0]
    # damage the first member's compressed data (after its local header)
    n, m = struct.unpack("<HH", bytes(b[26:30]))
    start = 30 + n + m
    stop = min(first, start + 400)
    for _ in range(12):
        b[rng.randrange(start, max(start + 1, stop))] ^= 0xFF
    return bytes(b)


_ZEROS: dict[int, tuple[bytes, int]] = {}


def deflated_zeros(mib: int) -> tuple[bytes, int]:
    """(raw deflate stream, CRC-32) of ``mib`` MiB of zeros, made without holding them: after
    a sync flush every further MiB of zeros deflates to the same bytes, so the stream is one
    MiB deflated, that block repeated, and the end of the stream."""
    if mib not in _ZEROS:
        chunk = bytes(1 << 20)
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        head = comp.compress(chunk) + comp.flush(zlib.Z_SYNC_FLUSH)
        block = comp.compress(chunk) + comp.flush(zlib.Z_SYNC_FLUSH)
        again = comp.compress(chunk) + comp.flush(zlib.Z_SYNC_FLUSH)
        assert block == again, "zlib did not settle"
        stream = head + block * (mib - 1) + comp.flush()
        crc = 0
        for _ in range(mib):
            crc = zlib.crc32(chunk, crc)
        _ZEROS[mib] = (stream, crc)
    return _ZEROS[mib]


def bomb_zip(name: str, mib: int, declared: int | None = None, members: int = 1) -> bytes:
    """A zip whose member(s) expand to ``mib`` MiB of zeros each; ``declared`` (bytes) is the
    uncompressed size its headers state (the truth when None). Written by hand, so neither the
    zeros nor the declared size need exist anywhere."""
    stream, crc = deflated_zeros(mib)
    size = mib << 20 if declared is None else declared
    out = io.BytesIO()
    central = []
    for i in range(members):
        fname = (name if members == 1 else f"{i:05d}-{name}").encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc,
                              len(stream), size & 0xFFFFFFFF, len(fname), 0))
        out.write(fname)
        out.write(stream)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21,
                                   crc, len(stream), size & 0xFFFFFFFF, len(fname), 0, 0, 0,
                                   0, 0, offset) + fname)
    start = out.tell()
    for c in central:
        out.write(c)
    end = out.tell()
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, members, members, end - start,
                          start, 0))
    return out.getvalue()


def zip_mutations(rng: random.Random, data: bytes) -> Iterator[tuple[str, bytes]]:
    members = _members(data)
    first = next(iter(members))
    suffix = Path(first).suffix
    yield "encryption flag", _patch_central(data, _set_flag)
    yield "corrupt deflate data", _corrupt_deflate(rng, data)
    yield "corrupt deflate data (2)", _corrupt_deflate(rng, data)
    yield "compression method 99", _patch_central(data, _set_method(99))
    yield "compression method 12 (bzip2) on deflate data", _patch_central(data, _set_method(12))
    yield "headers say 10 bytes", _patch_central(data, _set_size(10))
    yield "headers say 3 GiB", _patch_central(data, _set_size(3 << 30))
    yield "stored, headers say 1 byte", _patch_central(
        _zip_bytes(members, zipfile.ZIP_STORED), _set_size(1))
    yield "member climbs out (../../)", _zip_bytes({f"../../{k}": v for k, v in members.items()})
    yield "absolute member names", _zip_bytes({f"/tmp/{k}": v for k, v in members.items()})
    yield "2,000 members", _zip_bytes({**members, **{f"pad/{i}{suffix}": b"" for i in
                                                      range(2_000)}})
    yield "nested zip", _zip_bytes({"inner.zip": data})
    yield "directories only", _zip_bytes({"a/": b"", "a/b/": b""})
    yield "empty zip", _zip_bytes({})
    yield "stored member", _zip_bytes(members, zipfile.ZIP_STORED)
    yield "member of 300 MiB zeros (zip bomb)", bomb_zip(f"bomb{suffix}", 300)
    yield "member of 300 MiB zeros, headers say 1 kB", bomb_zip(f"liar{suffix}", 300, 1024)
    yield "4 members of 100 MiB zeros", bomb_zip(f"b{suffix}", 100, members=4)
    yield "12 MiB of zeros beside the real members", _zip_bytes(
        {**members, f"zeros{suffix}": bytes(12 << 20)})
    yield "member name with NUL", _zip_bytes({f"a\x00b{suffix}": next(iter(members.values()))})
    yield "same member twice", _twice(members)
    yield "comment of 65535 bytes", _with_comment(data, rng.randbytes(65535))


def _twice(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns, and writes both
        for name, body in [*members.items(), *members.items()]:
            with zf.open(name, "w") as fh:
                fh.write(body)
    return buf.getvalue()


def _with_comment(data: bytes, comment: bytes) -> bytes:
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.comment = comment
    return buf.getvalue()


def member_mutations(rng: random.Random, data: bytes, sample: int) -> Iterator[tuple[str, bytes]]:
    """Mutations of the text inside a zip's members (CSV or JSON), zipped again."""
    members = _members(data)
    for name, body in members.items():
        if name.endswith(".csv"):
            muts = list(csv_mutations(rng, body))
        elif name.endswith((".geojson", ".json")):
            muts = list(json_mutations(rng, body, sample=8)) + list(geometry_mutations(rng, body))
        else:
            continue
        for label, new in rng.sample(muts, min(sample, len(muts))):
            yield f"{name}: {label}", _zip_bytes({**members, name: new})


# ------------------------------------------------------------------------------- generate
def generate(out: Path, seed: int = 20250601) -> list[Case]:
    """Write every hostile file into ``out``; see the module docstring."""
    rng = random.Random(seed)
    work = out / "_bases"
    work.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    made = bases(work, 0)

    def emit(base: str, mutation: str, data: bytes, suffix: str | None = None) -> None:
        path = out / f"{len(cases):04d}-{base}{suffix or made[base][0]}"
        path.write_bytes(data)
        cases.append(Case(path, base, mutation))

    for base, (_, data) in made.items():
        emit(base, "unchanged", data)
        for label, new in byte_mutations(rng, data):
            emit(base, label, new)
    for base in JSON_BASES:
        data = made[base][1]
        for label, new in json_mutations(rng, data):
            emit(base, label, new)
        for label, new in geometry_mutations(rng, data):
            emit(base, label, new)
    for base in CSV_BASES:
        for label, new in csv_mutations(rng, made[base][1]):
            emit(base, label, new)
    for base in ZIP_BASES:
        data = made[base][1]
        for label, new in zip_mutations(rng, data):
            emit(base, label, new)
        for label, new in member_mutations(rng, data, sample=14):
            emit(base, label, new)
    # a zip of each plain base, and wrong suffixes
    for base in ("csv", "reports", "odata", "kobo-json", "kobo-csv", "gpkg", "survey123"):
        suffix, data = made[base]
        emit(base, "zipped", _zip_bytes({f"data{suffix}": data}), ".zip")
    for base, wrong in (("odata", ".csv"), ("csv", ".geojson"), ("odk-zip", ".gpkg"),
                        ("gpkg", ".zip"), ("reports", ".shp"), ("kobo-csv", ".kml"),
                        ("reports", ".fgb"), ("csv", ".gml")):
        emit(base, f"named {wrong}", made[base][1], wrong)
    return cases


__all__ = ["Case", "bomb_zip", "deflated_zeros", "generate"]
