"""The web UI in a real headless Chromium (Debian's chromium and chromedriver, driven by
Selenium; Selenium Manager is never asked to download anything)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from websupport import CHROMEDRIVER, CHROMIUM, password

from safeground.record.labels import VALUES as LABELS
from safeground.record.vocabulary import ReportStatus, ReportType

pytestmark = pytest.mark.browser

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and os.environ.get("CI") != "true":
    pytest.skip("Chromium not installed here (Debian packages chromium chromium-driver: "
                "`bash scripts/system-packages.sh` says how); CI runs these tests",
                allow_module_level=True)


def _wait(driver, condition, timeout: float = 30, poll: float = 0.5):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=poll).until(condition)


def _mark_page(driver) -> None:
    """Mark the page in the browser: a page loaded after this one will not carry the mark."""
    driver.execute_script("window.sgOldPage = true;")


def _wait_new_page(driver, to: str = "", timeout: float = 30) -> None:
    """Wait until the marked page has been left for a new one, ending in ``to``, and that one
    is loaded. Waits on the page itself, never for a time; a moment of 'node not in the
    document' or of no script context while the browser swaps pages is asked again."""
    from urllib.parse import urlsplit

    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    path, _, query = to.partition("?")

    def arrived(d) -> bool:
        return bool(d.execute_script(
            "return !window.sgOldPage && document.readyState === 'complete';")) \
            and urlsplit(d.current_url).path.endswith(path) \
            and query in urlsplit(d.current_url).query

    WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(arrived)


def _follow(driver, element, to: str) -> None:
    """Click ``element`` (a link or a form's button) and wait for the page it leads to, ending
    in ``to``, to be there and loaded. A changed address alone is not enough: the old page's
    elements can still be found for a moment after it."""
    _mark_page(driver)
    element.click()
    _wait_new_page(driver, to)


def _sign_in(driver, base: str, who: str, then: str = "/map") -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}{then}")
    _wait(driver, lambda d: "/login" in d.current_url)
    driver.find_element(By.ID, "name").send_keys(who)
    driver.find_element(By.ID, "password").send_keys(password(who))
    _follow(driver, driver.find_element(By.ID, "sign-in"), then)


#: The README's tour: each page as a newcomer first sees it, at 1200 x 800.
TOUR = {"map.png": "/map", "dashboard.png": "/dashboard", "review.png": "/review",
        "plan.png": "/analysis"}
SHOT_SIZE = (1200, 800)


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_the_tour_pages_as_a_newcomer_sees_them(live, browser, tmp_path):
    """The README's screenshots are this test's: the map, the dashboard, the review queue and
    the plan, each 1200 x 800. They go to $SAFEGROUND_SCREENSHOTS when set (``make
    screenshots`` sets docs/img), else to a temporary folder; either way they are checked."""
    from selenium.webdriver.common.by import By

    out = Path(os.environ.get("SAFEGROUND_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    _sign_in(browser, live.base, "chief")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": SHOT_SIZE[0], "height": SHOT_SIZE[1], "deviceScaleFactor": 1, "mobile": False})
    try:
        for name, page in TOUR.items():
            if page == "/analysis":                     # the plan is the analysts'
                _sign_in(browser, live.base, "analyst", then=page)
            browser.get(f"{live.base}{page}")
            if page == "/map":
                _wait(browser, lambda d: d.find_element(By.ID, "map")
                      .get_attribute("data-loaded") == "true")
                assert browser.find_elements(By.CSS_SELECTOR, "#map svg path.sg-ha")
            elif page == "/dashboard":
                assert browser.find_elements(By.CSS_SELECTOR, "svg.chart")
            elif page == "/review":
                assert browser.find_elements(By.CSS_SELECTOR, "button.approve")
            else:       # the plan: its charts, loaded, at the top of the view
                charts = browser.find_elements(By.CSS_SELECTOR, "img.plan-chart")
                assert charts
                _wait(browser, lambda d, shown=charts: all(d.execute_script(
                    "return arguments[0].complete && arguments[0].naturalWidth > 0", c)
                    for c in shown))
                browser.execute_script("arguments[0].closest('.card').scrollIntoView()",
                                       charts[0])
            browser.save_screenshot(str(out / name))
            assert _png_size(out / name) == SHOT_SIZE, name
            assert (out / name).stat().st_size < 400_000, name
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_approver_signs_in_sees_the_map_and_dashboard_and_approves_a_report(live, browser):
    from selenium.webdriver.common.by import By

    base, ledger = live.base, live.site.ledger
    _sign_in(browser, base, "chief")
    # the map: every hazardous area drawn as an SVG path, coloured by status
    _wait(browser, lambda d: d.find_element(By.ID, "map").get_attribute("data-loaded") == "true")
    paths = browser.find_elements(By.CSS_SELECTOR, "#map svg path.sg-ha")
    assert len(paths) == len(ledger.objects(ReportType.HAZARDOUS_AREA)) == 8
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.sg-ha-closed")) == 2
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.sg-released")) == 5
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.sg-accident")) == 1
    assert browser.find_element(By.CSS_SELECTOR, ".leaflet-control-scale-line").text
    assert "8 hazardous areas" in browser.find_element(By.ID, "map-status").text
    browser.find_elements(By.CSS_SELECTOR, "path.sg-ha")[0].click()
    _wait(browser, lambda d: "Open the record" in d.find_element(By.ID, "feature-info").text)
    # nothing asked of another host: no tiles, no CDN
    hosts = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
    assert set(hosts) <= {base.removeprefix("http://")}
    # the dashboard's headline figures are the summary's
    browser.get(f"{base}/dashboard")
    figure = browser.find_element(By.CSS_SELECTOR, '[data-figure="cha"]').text
    from safeground.record.summary import status

    assert int(figure) == status(ledger).areas_open["CHA"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart")) >= 6
    # the review queue: approve the settlement update waiting there
    waiting = {ledger.report(r).object_id: r for r in live.site.waiting}
    rid = waiting["SET-AGHDAM"]
    before = ledger.get(ReportType.SETTLEMENT, "SET-AGHDAM")
    assert before["returned_population"] == 0
    browser.get(f"{base}/review")
    row = browser.find_element(By.ID, f"report-{rid}")
    row.find_element(By.CSS_SELECTOR, "button.approve").click()
    _wait(browser, lambda d: "approved" in d.find_element(By.ID, f"report-{rid}").find_element(
        By.CSS_SELECTOR, ".outcome").text)
    assert "approved" in browser.find_element(By.ID, "review-message").text
    assert ledger.report(rid).status is ReportStatus.APPROVED
    assert ledger.report(rid).decided_by == "chief"
    after = ledger.get(ReportType.SETTLEMENT, "SET-AGHDAM")
    assert (after["returned_population"], after["return_status"]) == (1200, "partial")
    # the object page shows the approved report in its history; as of a past date it is not
    browser.get(f"{base}/objects/settlement/SET-AGHDAM")
    history = browser.find_element(By.ID, "history").text
    assert str(rid) in history and "approved" in history
    browser.get(f"{base}/objects/settlement/SET-AGHDAM?as_of=2021-06-01")
    cell = browser.find_element(By.CSS_SELECTOR, '[data-field="returned_population"]').text
    assert cell == "0"


def test_viewer_sees_generalised_points_and_no_review_queue(live, browser):
    from selenium.webdriver.common.by import By

    _sign_in(browser, live.base, "visitor")
    _wait(browser, lambda d: d.find_element(By.ID, "map").get_attribute("data-loaded") == "true")
    assert browser.find_elements(By.CSS_SELECTOR, "path.sg-ha") == []
    assert len(browser.find_elements(By.CSS_SELECTOR, "path.sg-ha-point")) == 8
    assert browser.find_elements(By.CSS_SELECTOR, "path.sg-accident") == []
    # a click shows the point's every attribute a viewer may see, and no link to the record
    browser.find_elements(By.CSS_SELECTOR, "path.sg-ha-point")[0].click()
    info = browser.find_element(By.ID, "feature-info")
    _wait(browser, lambda d: info.get_attribute("data-full") == "true")
    assert info.find_element(By.CSS_SELECTOR, '[data-field="remaining_km2"]').text
    assert "Open the record" not in info.text
    assert browser.find_elements(By.CSS_SELECTOR, "#layer-ordnance, #layer-hazardous_areas") == []
    nav = browser.find_element(By.CSS_SELECTOR, "header nav").text
    assert "Review queue" not in nav and "Dashboard" in nav
    browser.get(f"{live.base}/review")
    assert "403" in browser.find_element(By.TAG_NAME, "h1").text


def test_the_map_asks_again_for_what_comes_into_view(live, browser):
    """The map loads its layers for the view (bbox and zoom) and asks again, once still, when
    it is zoomed in or panned out of what it loaded; a small pan within it asks nothing."""
    import time

    import shapely
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    ledger = live.site.ledger
    _sign_in(browser, live.base, "analyst")
    box = browser.find_element(By.ID, "map")
    _wait(browser, lambda d: box.get_attribute("data-loaded") == "true")

    def requests() -> int:
        return int(box.get_attribute("data-requests"))

    def bbox() -> list[float]:
        return [float(v) for v in box.get_attribute("data-bbox").split(",")]

    def drawn() -> int:
        return len(browser.find_elements(By.CSS_SELECTOR, "#map svg path.sg-ha"))

    def drag(dx: int) -> None:
        ActionChains(browser).move_to_element_with_offset(box, -dx // 2, 0).click_and_hold() \
            .move_by_offset(dx // 2, 0).move_by_offset(dx - dx // 2, 0).release().perform()

    assert requests() == 1 and drawn() == 8
    first = bbox()
    browser.find_element(By.CSS_SELECTOR, ".leaflet-control-zoom-in").click()
    _wait(browser, lambda d: requests() == 2)
    zoomed = bbox()
    assert zoomed[2] - zoomed[0] < (first[2] - first[0]) * 0.6
    drag(-30)                          # within what was loaded: nothing asked
    time.sleep(1.0)
    assert requests() == 2
    drag(-700)                         # well east of what was loaded
    _wait(browser, lambda d: requests() == 3)
    moved = bbox()
    assert moved[0] > zoomed[0] and moved[2] > zoomed[2]
    want = [a for a in ledger.objects(ReportType.HAZARDOUS_AREA)
            if a["geometry"].intersects(shapely.box(*moved))]
    assert len(want) < 8
    _wait(browser, lambda d: drawn() == len(want))
    asked = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/api/v1/map/layers'))")
    assert len(asked) == 3 and all("bbox=" in u and "zoom=" in u for u in asked)


def _layer_requests(browser) -> list[dict[str, str]]:
    """The map's layer requests so far, as their query parameters."""
    from urllib.parse import parse_qsl, urlsplit

    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/api/v1/map/layers'))")
    return [dict(parse_qsl(urlsplit(u).query)) for u in urls]


def test_a_hidden_layer_is_asked_for_only_once_switched_on_and_a_click_shows_every_attribute(
        live, browser):
    """The map asks only for the layers switched on, with the attributes it draws with
    (detail=map); the explosive items, off at first, are asked for alone when switched on,
    for the view already loaded, and left out again once switched off. Clicking an area asks
    for its every attribute (/api/v1/map/features) and shows them."""
    import time

    import shapely
    from selenium.webdriver.common.by import By

    ledger = live.site.ledger
    _sign_in(browser, live.base, "analyst")
    box = browser.find_element(By.ID, "map")
    _wait(browser, lambda d: box.get_attribute("data-loaded") == "true")

    def items() -> int:
        return len(browser.find_elements(By.CSS_SELECTOR, "#map svg path.sg-item"))

    first = _layer_requests(browser)
    assert len(first) == 1 and first[0]["detail"] == "map"
    assert first[0]["layers"].split(",") == ["admin_areas", "settlements", "released_land",
                                             "hazardous_areas", "accidents"]
    assert items() == 0
    count = browser.find_element(By.CSS_SELECTOR, '.count[data-layer="ordnance"]')
    assert count.text == "–"
    # a click on an area: its every attribute, asked for once
    browser.find_elements(By.CSS_SELECTOR, "path.sg-ha")[0].click()
    info = browser.find_element(By.ID, "feature-info")
    _wait(browser, lambda d: info.get_attribute("data-full") == "true")
    layer, fid = info.get_attribute("data-feature").split("/")
    assert layer == "hazardous_areas"
    row = ledger.get(ReportType.HAZARDOUS_AREA, fid)
    shown = 0
    for field in ("land_use", "beneficiaries", "settlement_id", "organisation", "benchmark",
                  "first_date", "last_report_id"):
        if row.get(field) is not None:   # none of these is in the map's lean attributes
            cell = info.find_element(By.CSS_SELECTOR, f'[data-field="{field}"]')
            # a vocabulary code is shown as its label with the code beside it
            value = str(row[field])
            assert cell.text == (f"{LABELS[value]} ({value})" if value in LABELS
                                 else value), field
            shown += 1
    assert shown >= 4 and "Open the record" in info.text
    assert info.find_element(By.CSS_SELECTOR, '[data-field="contamination"]').text == \
        ", ".join(f"{LABELS[c]} ({c})" if c in LABELS else c for c in row["contamination"])
    asked = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/api/v1/map/features/'))")
    assert [u.split("/api/v1")[1] for u in asked] == [f"/map/features/hazardous_areas/{fid}"]
    # switched on: the items alone, for the view already loaded (the box and zoom)
    browser.find_element(By.ID, "layer-ordnance").click()
    _wait(browser, lambda d: len(_layer_requests(d)) == 2)
    second = _layer_requests(browser)[1]
    assert second["layers"] == "ordnance" and second["detail"] == "map"
    assert (second["bbox"], second["zoom"]) == (first[0]["bbox"], first[0]["zoom"])
    view = shapely.box(*(float(v) for v in first[0]["bbox"].split(",")))
    want = [o for o in ledger.objects(ReportType.ORDNANCE) if o["geometry"].intersects(view)]
    assert want
    _wait(browser, lambda d: items() == len(want))
    assert count.text == str(len(want)) and box.get_attribute("data-requests") == "1"
    assert f"{len(want)} explosive items" in browser.find_element(By.ID, "map-status").text
    # off, and on again in the same view: drawn from what was loaded, nothing asked
    browser.find_element(By.ID, "layer-ordnance").click()
    assert items() == 0
    browser.find_element(By.ID, "layer-ordnance").click()
    _wait(browser, lambda d: items() == len(want))
    time.sleep(0.5)
    assert len(_layer_requests(browser)) == 2
    # off, then the map zooms in: the next request leaves the items out
    browser.find_element(By.ID, "layer-ordnance").click()
    browser.find_element(By.CSS_SELECTOR, ".leaflet-control-zoom-in").click()
    _wait(browser, lambda d: box.get_attribute("data-requests") == "2")
    third = _layer_requests(browser)[2]
    assert "ordnance" not in third["layers"].split(",") and third["zoom"] != first[0]["zoom"]
    assert items() == 0 and count.text == "–"


def test_an_analyst_sees_the_plan_on_the_map(live, browser):
    """The plan's layer (``planned_release``: the plan in the served work directory) is off
    at first; switched on, it draws every planned area in view coloured by the year the plan
    releases it, with a legend of those years, and a click shows the area's planned dates."""
    import shapely
    from selenium.webdriver.common.by import By

    plan = live.site.plan
    _sign_in(browser, live.base, "analyst")
    box = browser.find_element(By.ID, "map")
    _wait(browser, lambda d: box.get_attribute("data-loaded") == "true")
    assert "planned_release" not in _layer_requests(browser)[0]["layers"].split(",")
    assert not browser.find_elements(By.CSS_SELECTOR, "path.sg-plan")
    browser.find_element(By.ID, "layer-planned_release").click()
    view = shapely.box(*(float(v) for v in _layer_requests(browser)[0]["bbox"].split(",")))
    frame = plan.to_frame()
    frame = frame[frame.week < plan.prepared.horizon]       # what the plan does in its horizon
    worked = set(frame.area_id)
    want = [a for a in live.site.ledger.objects(ReportType.HAZARDOUS_AREA)
            if a["id"] in worked and a["geometry"].intersects(view)]
    assert want
    _wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "path.sg-plan")) == len(want))
    released = plan.outcome.area_release_week
    years = {str(plan.date_of_week(released[i]).year) for i, a in enumerate(plan.instance.areas)
             if a.id in {w["id"] for w in want} and released[i] < plan.prepared.horizon}
    legend = browser.find_element(By.ID, "plan-legend")
    _wait(browser, lambda d: legend.find_elements(By.CSS_SELECTOR, "[data-year]"))
    shown = {e.get_attribute("data-year") for e in
             legend.find_elements(By.CSS_SELECTOR, "[data-year]")}
    assert years and years <= shown <= years | {"later"}
    for y in years:
        assert browser.find_elements(By.CSS_SELECTOR, f"path.sg-plan-{y}")
    browser.find_elements(By.CSS_SELECTOR, "path.sg-plan")[0].click()
    info = browser.find_element(By.ID, "feature-info")
    _wait(browser, lambda d: info.get_attribute("data-full") == "true"
          and info.get_attribute("data-feature").startswith("planned_release/"))
    fid = info.get_attribute("data-feature").split("/")[1]
    start = frame[frame.area_id == fid].week_start.min()
    assert info.find_element(By.CSS_SELECTOR, '[data-field="planned_start_date"]').text == \
        str(start)
    assert "Open the record" in info.text


def test_an_analyst_makes_the_plan_again_from_the_analysis_page(live, browser):
    """The Analysis page's form starts re-planning (POST /api/v1/plan/jobs), follows the job
    until it is done and reloads on the new plan; the served plan is restored afterwards for
    the other tests of this module."""
    from selenium.webdriver.common.by import By

    folder = live.site.work_dir / "plan"
    backup = {p.name: p.read_bytes() for p in folder.iterdir()}
    try:
        _sign_in(browser, live.base, "analyst", then="/analysis")
        status = browser.find_element(By.ID, "replan-status")
        assert status.get_attribute("data-state") == "idle"
        browser.execute_script(
            "const f = document.getElementById('replan');"
            "f.start.value = '2021-07-01'; f.horizon_weeks.value = '52';"
            "f.seconds.value = '0.3';")
        _mark_page(browser)
        browser.find_element(By.ID, "replan-start").click()
        # the job's end is read from this page's status line, in one look (state and text
        # together: the page reloads 1.5 s after it shows them) ...
        said = _wait(browser, lambda d: status.get_attribute("data-state") == "done"
                     and status.text, timeout=120, poll=0.1)
        assert "people able to return" in said and "Reloading" in said
        # ... then the page is left for a new one (the mark gone: waiting on the page itself,
        # never for a time), where the server tells of the job
        _wait_new_page(browser, "/analysis")
        assert "Last plan made by analyst" in \
            browser.find_element(By.ID, "replan-status").text
        assert browser.find_element(By.ID, "plan-returns")
        weekly = (folder / "plan.csv").read_text(encoding="utf-8").splitlines()
        header = weekly[0].split(",")
        starts = {line.split(",")[header.index("week_start")] for line in weekly[1:]}
        assert min(starts) >= "2021-07-01"
        assert live.site.audit("plan_made")[-1]["user"] == "analyst"
    finally:
        for p in folder.iterdir():
            p.unlink()
        for name, data in backup.items():
            (folder / name).write_bytes(data)


def test_a_settlement_page_draws_the_areas_its_return_waits_on(live, browser):
    """The settlement's small map draws the settlement and each open hazardous area its
    return waits on; the table beside it lists the same areas with the plan's dates."""
    from selenium.webdriver.common.by import By

    _sign_in(browser, live.base, "analyst", then="/objects/settlement/SET-FUZULI")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#mini-map path.sg-access"))
    drawn = browser.find_elements(By.CSS_SELECTOR, "#mini-map path.sg-access")
    card = browser.find_element(By.ID, "return-waits")
    listed = [a.text for a in card.find_elements(By.CSS_SELECTOR, "tbody a")]
    assert sorted(listed) == ["HA-004", "HA-005"] and len(drawn) == len(listed)
    assert "Planned release" in card.text


def test_a_user_changes_their_password_and_an_admin_reads_it_in_the_audit_trail(live, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from safeground.record.users import Users

    users = Users(live.site.ledger.db)
    users.add("pw.changer", "first-password", ["viewer"])
    browser.delete_all_cookies()
    browser.get(f"{live.base}/login")
    browser.find_element(By.ID, "name").send_keys("pw.changer")
    browser.find_element(By.ID, "password").send_keys("first-password")
    _follow(browser, browser.find_element(By.ID, "sign-in"), "/map")
    _follow(browser, browser.find_element(By.ID, "account-password"), "/account/password")
    browser.find_element(By.ID, "current-password").send_keys("first-password")
    browser.find_element(By.ID, "new-password").send_keys("second-password")
    browser.find_element(By.ID, "new-password-again").send_keys("second-password")
    browser.find_element(By.ID, "change-password").click()
    _wait(browser, lambda d: "Password changed" in d.find_element(By.ID, "password-message").text)
    assert users.check_password("pw.changer", "second-password") is not None
    assert users.check_password("pw.changer", "first-password") is None
    browser.get(f"{live.base}/dashboard")            # still signed in
    assert browser.current_url.endswith("/dashboard")
    # the admin finds it in the audit trail, from the navigation
    _sign_in(browser, live.base, "root")
    _follow(browser, browser.find_element(By.LINK_TEXT, "Audit trail"), "/audit")
    Select(browser.find_element(By.ID, "audit-action")).select_by_value("user_password")
    browser.find_element(By.ID, "audit-actor").send_keys("pw.changer")
    _follow(browser, browser.find_element(By.CSS_SELECTOR, "#audit-filters button[type=submit]"),
            "/audit?action=user_password")
    rows = browser.find_elements(By.CSS_SELECTOR, "#audit-table tbody tr")
    assert len(rows) == 1 and "pw.changer" in rows[0].text and "self_service" in rows[0].text


def test_a_second_admin_confirms_a_grant_on_the_audit_page(live, browser):
    from selenium.webdriver.common.by import By

    from safeground.record.users import Users

    users = Users(live.site.ledger.db)
    users.add("second.admin", password("second.admin"), ["admin"], by="test set-up",
              direct=True)
    users.add("grantee", "grantee-password", ["analyst"], by="test set-up")
    users.set_roles("grantee", ["analyst", "victim_data"], by="root")
    gid = users.grants()[0]["id"]
    # the admin who asked sees the grant but no Confirm button
    _sign_in(browser, live.base, "root", "/audit")
    row = browser.find_element(By.CSS_SELECTOR, f'#grants-table tr[data-grant="{gid}"]')
    assert "victim_data" in row.text and not row.find_elements(By.CLASS_NAME, "confirm-grant")
    assert "role_grant_direct" in browser.find_element(By.ID, "audit-alerts").text
    _sign_in(browser, live.base, "second.admin", "/audit")
    browser.find_element(
        By.CSS_SELECTOR, f'#grants-table tr[data-grant="{gid}"] .confirm-grant').click()
    _wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'tr[data-grant="{gid}"]'))
    assert users.get("grantee").roles == {"analyst", "victim_data"}


def test_a_name_with_markup_shows_as_text_in_the_map_tooltip(live, browser):
    """Names on the map are text, never HTML: a settlement named with an image whose onerror
    runs script, and bold markup, shows those characters in its tooltip, and the tooltip
    holds no element but its own text node."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from safeground import example

    name = '<img src=x onerror="document.title=\'owned\'"><b>Alikhanli</b>'
    ledger = live.site.ledger
    rec = {**next(r for r in example.records() if r["object_id"] == "SET-ALIKHANLI"),
           "name": name, "date_of_information": "2021-03-01"}
    rec.pop("submission_id", None)
    res = ledger.submit([rec], user="records.officer")
    assert not res.rejected, res.rejected
    assert not ledger.approve(res.accepted, user="ops.chief").refused
    _sign_in(browser, live.base, "analyst")
    box = browser.find_element(By.ID, "map")
    _wait(browser, lambda d: box.get_attribute("data-loaded") == "true")
    seen = None
    for marker in browser.find_elements(By.CSS_SELECTOR, "path.sg-settlement"):
        ActionChains(browser).move_to_element(marker).perform()
        tips = browser.find_elements(By.CSS_SELECTOR, ".leaflet-tooltip")
        if tips and "SET-ALIKHANLI" in tips[-1].text:
            seen = tips[-1]
            break
    assert seen is not None, "no tooltip for the settlement"
    assert seen.text == f"SET-ALIKHANLI · {name}"          # the markup, as characters
    assert seen.find_elements(By.CSS_SELECTOR, "img, b") == []
    assert browser.title != "owned"


def test_a_user_switches_the_pages_to_russian_and_azerbaijani(live, browser):
    """The header's switcher: the page, its script's messages and the map's panel change
    language, the choice is kept on the user, and English comes back the same way."""
    from selenium.webdriver.common.by import By

    from safeground.record.users import Users

    base = live.base
    _sign_in(browser, base, "va")
    _wait(browser, lambda d: d.find_element(By.ID, "map").get_attribute("data-loaded") == "true")
    _follow(browser, browser.find_element(By.CSS_SELECTOR, '#languages a[data-lang="ru"]'),
            "/map")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
    _wait(browser, lambda d: d.find_element(By.ID, "map").get_attribute("data-loaded") == "true")
    assert "опасных районов: 8" in browser.find_element(By.ID, "map-status").text
    browser.find_elements(By.CSS_SELECTOR, "path.sg-ha")[0].click()
    _wait(browser, lambda d: "Открыть запись" in d.find_element(By.ID, "feature-info").text)
    assert Users(live.site.ledger.db).get("va").language == "ru"
    browser.get(f"{base}/dashboard")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Состояние программы")
    _follow(browser, browser.find_element(By.CSS_SELECTOR, '#languages a[data-lang="az"]'),
            "/dashboard")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Proqramın vəziyyəti")
    assert Users(live.site.ledger.db).get("va").language == "az"
    _follow(browser, browser.find_element(By.CSS_SELECTOR, '#languages a[data-lang="en"]'),
            "/dashboard")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Programme status")
    assert Users(live.site.ledger.db).get("va").language == "en"


@pytest.fixture(scope="module")
def risk_live(tmp_path_factory):
    """The example site with a risk surface, a risk ranking and a plan in its work directory,
    served by ``safeground serve`` in its own process."""
    from resultsupport import write_risk
    from websupport import Live, build_site, serve_in_process, write_plan

    work = tmp_path_factory.mktemp("risk-live")
    url = f"sqlite:///{work}/record.sqlite"
    s = build_site(url)
    s.plan, s.work_dir = write_plan(s, work), work
    s.ranking = write_risk(s.ledger, work)
    log = tmp_path_factory.mktemp("risk-live-log") / "serve.log"
    with serve_in_process(url, work, log) as base:
        yield Live(s, base)
    s.ledger.db.close()


def test_staff_see_the_risk_layer_and_an_area_risk_and_print_its_dossier(risk_live, browser,
                                                                        tmp_path):
    """The risk surface is a layer of the map (its tiles drawn by this server, its legend and
    date beside it); the area's page shows its risk rank and factors; its dossier button gives
    a PDF holding the area's coordinates. Screenshots of both (1200 x 800) go where the tour's
    do (docs/web.md shows them)."""
    import io

    import requests
    from pypdf import PdfReader
    from resultsupport import MODEL_AS_OF
    from selenium.webdriver.common.by import By

    base = risk_live.base
    out = Path(os.environ.get("SAFEGROUND_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    _sign_in(browser, base, "chief")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": SHOT_SIZE[0], "height": SHOT_SIZE[1], "deviceScaleFactor": 1, "mobile": False})
    browser.get(f"{base}/map")
    check = _wait(browser, lambda d: d.find_element(By.ID, "layer-risk"))
    assert MODEL_AS_OF in browser.find_element(By.ID, "risk-legend").text
    # every settlement's name is a label on the map (shown from zoom 11 on)
    _wait(browser, lambda d: d.find_element(By.ID, "map").get_attribute("data-loaded") == "true")
    labels = {e.get_attribute("textContent") for e in
              browser.find_elements(By.CSS_SELECTOR, ".leaflet-tooltip.sg-label")}
    assert {s["name"] for s in risk_live.site.ledger.objects(ReportType.SETTLEMENT)} <= labels
    check.click()
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".sg-risk img.leaflet-tile-loaded"))
    srcs = [i.get_attribute("src") for i in
            browser.find_elements(By.CSS_SELECTOR, ".sg-risk img.leaflet-tile-loaded")]
    assert srcs and all(s.startswith(f"{base}/api/v1/map/risk/") for s in srcs)
    hosts = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
    assert set(hosts) <= {base.removeprefix("http://")}
    _wait(browser, lambda d: all(d.execute_script("return arguments[0].complete", i) for i in
                                 d.find_elements(By.CSS_SELECTOR, ".sg-risk img")))
    browser.save_screenshot(str(out / "risk.png"))
    assert _png_size(out / "risk.png") == SHOT_SIZE
    # the area's page: its risk and the dossier link
    row = risk_live.site.ranking[0]
    browser.get(f"{base}/objects/hazardous_area/{row['object_id']}")
    outlook = _wait(browser, lambda d: d.find_element(By.ID, "area-outlook"))
    rank = outlook.find_element(By.CSS_SELECTOR, '[data-field="risk_rank"]').text
    assert rank == f"{row['rank']} of {len(risk_live.site.ranking)} areas"
    assert "distance to roads (km)" in outlook.find_element(By.ID, "risk-factors").text
    browser.execute_script("arguments[0].scrollIntoView()", outlook)
    browser.save_screenshot(str(out / "area-risk.png"))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    link = browser.find_element(By.ID, "dossier-link").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    pdf = requests.get(link, cookies=cookies, timeout=120)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    ring = risk_live.site.ledger.get(ReportType.HAZARDOUS_AREA,
                                     row["object_id"])["geometry"].exterior.coords
    for lon, lat in list(ring)[:-1]:
        assert f"{lat:.6f}" in text and f"{lon:.6f}" in text


def test_the_analysis_page_says_why_each_top_priority_area_waits(live, browser):
    """Every area of the priority ranking's first 20 that the plan does not release within its
    horizon carries a reason on the Analysis page (a plan of two years: the example's areas are
    large for its teams, and all but one wait);
    the served plan is restored afterwards for the other tests of this module."""
    import datetime as dt

    from selenium.webdriver.common.by import By

    from safeground.planning.explain import REASONS
    from safeground.planning.heuristic import plan_heuristic
    from safeground.planning.outputs import write_all
    from safeground.planning.priority import area_frame
    from safeground.planning.record import instance_from_record

    folder = live.site.work_dir / "plan"
    backup = {p.name: p.read_bytes() for p in folder.iterdir()}
    try:
        inst = instance_from_record(live.site.ledger, start=dt.date(2021, 4, 1),
                                    horizon_weeks=104)
        plan = plan_heuristic(inst, seconds=0.2)
        write_all(plan, folder)
        index = inst.area_index()
        top = area_frame(inst).head(20).area_id.tolist()
        waiting = {a for a in top
                   if not plan.outcome.area_release_week[index[a]] < plan.prepared.horizon}
        assert waiting and len(waiting) < len(top)          # some released, some not
        _sign_in(browser, live.base, "analyst", then="/analysis")
        table = browser.find_element(By.ID, "plan-priorities")
        rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(rows) == len(top)
        explained = {}
        for row in rows:
            area = row.find_elements(By.CSS_SELECTOR, "td")[1].text
            why = row.find_elements(By.CSS_SELECTOR, ".plan-why")
            if "not within the plan" in row.text:
                assert len(why) == 1, area
                explained[area] = why[0]
            else:
                assert not why, area
        assert set(explained) == waiting
        for area, why in explained.items():
            assert why.get_attribute("data-reason") in REASONS
            text = why.text
            assert text.startswith("Why:") and len(text) > 40, (area, text)
    finally:
        for p in folder.iterdir():
            p.unlink()
        for name, data in backup.items():
            (folder / name).write_bytes(data)
