"""Fixtures of the web tests (the programme and its users: websupport.py).

``site``   the example programme with one user per role, on SQLite and on PostGIS.
``fresh_site`` the same, of its own, on SQLite (for tests that change sign-in state).
``browser`` Debian's headless Chromium driven by Selenium (one window per test module).
``live``   the same on SQLite, served by a real uvicorn on a free localhost port, with a plan
           of its record in its work directory (``websupport.write_plan``).
"""

from __future__ import annotations

import shutil

import pytest
from websupport import CHROMEDRIVER, CHROMIUM, Live, Site, build_site, serve_in_process, write_plan


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The example programme with users, on SQLite and on PostGIS (one per test module)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('web')}/record.sqlite"
        s = build_site(url)
        yield s
        s.ledger.db.close()
        return
    server = request.getfixturevalue("postgis_server")
    url = server.create_database()
    s = build_site(url)
    yield s
    s.ledger.db.close()
    server.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture
def fresh_site(tmp_path) -> Site:
    """A site of its own (for tests that change the record or sign-in state), on SQLite."""
    s = build_site(f"sqlite:///{tmp_path}/record.sqlite")
    yield s
    s.ledger.db.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    """The example site served by ``safeground serve`` (a real uvicorn, in its own process:
    GDAL's HTTP client holds the GIL) on a free localhost port."""
    work = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{work}/record.sqlite"
    s = build_site(url)
    s.plan, s.work_dir = write_plan(s, work), work
    log = tmp_path_factory.mktemp("live-log") / "serve.log"
    with serve_in_process(url, work, log) as base:
        yield Live(s, base)
    s.ledger.db.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tmp_path_factory.mktemp("chromium-profile")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1400,900",
                 f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)
