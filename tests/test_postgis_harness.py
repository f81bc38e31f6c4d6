"""The PostGIS test harness itself: a real server, fresh databases, both database_url params."""

from __future__ import annotations

import sqlalchemy as sa

# A 100 m x 50 m hazard polygon in UTM zone 38N (EPSG:32638).
HAZARD_WKT = "POLYGON((500000 3700000,500100 3700000,500100 3700050,500000 3700050,500000 3700000))"


def test_server_answers_postgis_full_version(postgis_server, postgis_url):
    with postgis_server.connect() as conn:
        server_version = conn.execute("SHOW server_version").fetchone()[0]
    assert server_version.startswith("15")
    engine = sa.create_engine(postgis_url)
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT postgis_full_version()")).scalar_one()
    engine.dispose()
    assert version.startswith('POSTGIS="3')


def test_postgis_url_databases_are_distinct_and_empty(postgis_server, postgis_url):
    other_url = postgis_server.create_database()
    try:
        assert other_url != postgis_url
        user_tables = sa.text(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 'topology') "
            "AND table_name NOT IN ('spatial_ref_sys', 'geometry_columns', 'geography_columns')"
        )
        engines = [sa.create_engine(postgis_url), sa.create_engine(other_url)]
        names = []
        for engine in engines:
            with engine.connect() as conn:
                names.append(conn.execute(sa.text("SELECT current_database()")).scalar_one())
                assert conn.execute(user_tables).scalar_one() == 0
                assert conn.execute(
                    sa.text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
                ).scalar_one()
        assert names[0] != names[1]
        # What one test writes, another database does not see.
        with engines[0].begin() as conn:
            conn.execute(sa.text("CREATE TABLE scratch (id integer)"))
        with engines[1].connect() as conn:
            assert conn.execute(sa.text("SELECT to_regclass('scratch')")).scalar_one() is None
        for engine in engines:
            engine.dispose()
    finally:
        postgis_server.drop_database(other_url.rsplit("/", 1)[1])


def test_geometry_round_trip_in_utm_38n(postgis_url):
    engine = sa.create_engine(postgis_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE hazard (id serial PRIMARY KEY, geom geometry)"))
        conn.execute(
            sa.text("INSERT INTO hazard (geom) VALUES (ST_GeomFromText(:wkt, 32638))"),
            {"wkt": HAZARD_WKT},
        )
        row = conn.execute(
            sa.text("SELECT ST_SRID(geom), ST_Area(geom), ST_AsText(geom) FROM hazard")
        ).one()
        assert row[0] == 32638
        assert row[1] == 5000.0
        assert row[2].replace(" ", "") == HAZARD_WKT.replace(" ", "")
        # The CRS is known to the server, so a transform to WGS 84 works and lands in Iraq.
        lon, lat = conn.execute(
            sa.text(
                "SELECT ST_X(p), ST_Y(p) FROM "
                "(SELECT ST_Transform(ST_Centroid(geom), 4326) AS p FROM hazard) t"
            )
        ).one()
    engine.dispose()
    assert 44.9 < lon < 45.1
    assert 33.3 < lat < 33.5


def test_database_url_gives_working_engine(database_url):
    engine = sa.create_engine(database_url)
    expected = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    assert engine.dialect.name == expected
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE record (id integer PRIMARY KEY, name text)"))
        conn.execute(sa.text("INSERT INTO record VALUES (1, 'Minefield 7')"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM record")).scalar_one() == "Minefield 7"
    engine.dispose()


def test_database_url_postgis_param_is_marked(request, database_url):
    marked = request.node.get_closest_marker("postgis") is not None
    assert marked == database_url.startswith("postgresql")
