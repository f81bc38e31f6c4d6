"""Data entry and the review queue's actions in a real headless Chromium (the fixtures and
helpers of test_browser.py): upload a file and download its rejects, enter an accident with
its victims in the form, approve a link proposal and see the accident in the area's history
and the area turn CHA, accept a CHA proposal of the risk ranking.

Screenshots of the new pages go to $SAFEGROUND_SCREENSHOTS when it is set (``make
screenshots`` sets docs/img)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from test_browser import _follow, _sign_in, _wait

from safeground.record.vocabulary import ReportStatus, ReportType

pytestmark = pytest.mark.browser

#: a point inside the example's suspected area HA-001 (latitude, longitude)
INSIDE_HA_001 = "39.985, 46.945"
SHOT_SIZE = (1200, 800)

CSV = ("report_type,object_id,date_of_information,organisation,author,category,source,"
       "reliability,longitude,latitude\n"
       "evidence,EV-BR-1,2024-03-01,ANAMA,team 1,find,observed,high,47.31,40.31\n"
       "evidence,EV-BR-2,2024-03-02,ANAMA,team 1,verbal,verbal,medium,47.32,40.32\n"
       "evidence,EV-BR-3,2024-03-03,ANAMA,team 1,no_such_category,observed,high,47.33,40.33\n")


def _shot(browser, name: str) -> None:
    out = os.environ.get("SAFEGROUND_SCREENSHOTS")
    if not out:
        return
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": SHOT_SIZE[0], "height": SHOT_SIZE[1], "deviceScaleFactor": 1,
        "mobile": False})
    try:
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(Path(out) / name))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_a_clerk_uploads_a_file_and_downloads_its_rejects(live, browser, tmp_path):
    from selenium.webdriver.common.by import By

    upload = tmp_path / "finds.csv"
    upload.write_text(CSV)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    _sign_in(browser, live.base, "clerk")
    nav = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "header nav a")]
    assert f"{live.base}/import" in nav and f"{live.base}/submit" in nav
    assert f"{live.base}/review" not in nav
    browser.get(f"{live.base}/import")
    browser.find_element(By.ID, "import-file").send_keys(str(upload))
    browser.find_element(By.ID, "import-start").click()
    _wait(browser, lambda d: d.find_element(By.ID, "import-summary").is_displayed(), 120)
    count = {n.get_attribute("data-count"): int(n.text)
             for n in browser.find_elements(By.CSS_SELECTOR, "#import-summary [data-count]")}
    assert count["accepted"] + count["needs_review"] == 2 and count["rejected"] == 1
    rows = browser.find_elements(By.CSS_SELECTOR, "#rejections tbody tr")
    assert len(rows) == 1 and "CHOICE_UNKNOWN" in rows[0].text
    assert browser.find_element(By.ID, "import-bar").get_attribute("value") == "1"
    _shot(browser, "import.png")
    # the rejects file, downloaded as the browser does
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {
        "behavior": "allow", "downloadPath": str(downloads)})
    browser.find_element(By.ID, "rejects-link").click()
    _wait(browser, lambda d: [p for p in downloads.iterdir()
                              if p.suffix == ".csv"], 60)
    got = next(p for p in downloads.iterdir() if p.suffix == ".csv")
    assert got.name == "finds.rejects.csv"
    rejected = list(csv.DictReader(io.StringIO(got.read_text(encoding="utf-8"))))
    assert [r["object_id"] for r in rejected] == ["EV-BR-3"]
    assert "CHOICE_UNKNOWN" in rejected[0]["_problems"]
    # the accepted records wait for review, submitted by the clerk
    waiting = {r.object_id: r for r in live.site.ledger.reports(status=ReportStatus.SUBMITTED)}
    assert waiting["EV-BR-1"].submitted_by == "clerk" and "EV-BR-3" not in waiting


def _select(el, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(el).select_by_value(value)


def test_a_clerk_enters_an_accident_with_victims_in_the_form(live, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    _sign_in(browser, live.base, "clerk", then="/submit")
    browser.get(f"{live.base}/submit?type=accident")
    form = browser.find_element(By.ID, "report-form")
    form.find_element(By.ID, "f-object_id").send_keys("ACC-WEB-1")
    form.find_element(By.ID, "f-organisation").send_keys("ANAMA")
    _select(form.find_element(By.ID, "f-device_category"), "AP_mine")
    _select(form.find_element(By.ID, "f-context"), "civilian")
    form.find_element(By.ID, "f-description").send_keys("a farmer's tractor")
    # the draw tool: three clicks and Finish make a polygon (an accident takes a point only,
    # so the draw tool offers the point; drawn, then replaced by pasted coordinates)
    _wait(browser, lambda d: d.find_element(By.ID, "draw-map").get_attribute("data-loaded")
          == "true")
    assert not browser.find_elements(By.ID, "draw-polygon")
    browser.find_element(By.ID, "draw-point").click()
    ActionChains(browser).move_to_element_with_offset(
        browser.find_element(By.ID, "draw-map"), 20, 10).click().perform()
    _wait(browser, lambda d: d.find_element(By.ID, "draw-map").get_attribute("data-geometry")
          == "Point")
    browser.find_element(By.ID, "coord-text").send_keys(INSIDE_HA_001)
    browser.find_element(By.ID, "coord-use").click()
    _wait(browser, lambda d: browser.find_element(By.ID, "draw-map").get_attribute(
        "data-geometry") == "Point" and d.find_elements(By.CSS_SELECTOR, "path.sg-drawn"))
    for n, (outcome, sex, age) in enumerate([("killed", "male", "34"),
                                             ("injured", "female", "12")], start=1):
        browser.find_element(By.ID, "add-victim").click()
        v = browser.find_elements(By.CSS_SELECTOR, "fieldset.victim")[n - 1]
        _select(v.find_element(By.CSS_SELECTOR, '[name="outcome"]'), outcome)
        _select(v.find_element(By.CSS_SELECTOR, '[name="sex"]'), sex)
        _select(v.find_element(By.CSS_SELECTOR, '[name="status"]'), "civilian")
        v.find_element(By.CSS_SELECTOR, '[name="age"]').send_keys(age)
    browser.find_elements(By.CSS_SELECTOR, "fieldset.victim")[0].find_element(
        By.CSS_SELECTOR, '[name="name"]').send_keys("Elvin Mammadov")
    _shot(browser, "new-report.png")
    browser.find_element(By.ID, "submit-report").click()
    _wait(browser, lambda d: d.find_element(By.ID, "report-form").get_attribute(
        "data-outcome") in ("submitted", "refused"), 60)
    assert form.get_attribute("data-outcome") == "submitted", \
        browser.find_element(By.ID, "submit-message").text
    ids = [int(i) for i in form.get_attribute("data-reports").split(",")]
    reps = [live.site.ledger.report(i) for i in ids]
    assert [(str(r.type), r.object_id) for r in reps] == [
        ("accident", "ACC-WEB-1"), ("victim", "ACC-WEB-1-V1"), ("victim", "ACC-WEB-1-V2")]
    acc, v1, v2 = reps
    assert acc.status is ReportStatus.SUBMITTED and acc.submitted_by == "clerk"
    assert acc.payload["device_category"] == "AP_mine"
    assert (acc.geometry.x, acc.geometry.y) == pytest.approx((46.945, 39.985))
    assert (v1.payload["accident_id"], v1.payload["outcome"], v1.payload["age"]) == \
        ("ACC-WEB-1", "killed", 34)
    assert v1.payload["name"] == "Elvin Mammadov"
    assert (v2.payload["sex"], v2.payload["age"]) == ("female", 12)


def test_a_form_refused_at_the_gate_marks_the_field(live, browser):
    from selenium.webdriver.common.by import By

    _sign_in(browser, live.base, "clerk", then="/submit")
    browser.get(f"{live.base}/submit?type=hazardous_area")
    browser.find_element(By.ID, "f-object_id").send_keys("HA-WEB-1")
    browser.find_element(By.ID, "f-organisation").send_keys("ANAMA")
    browser.find_element(By.ID, "coord-text").send_keys("40.0 47.0\n40.0 47.01\n40.01 47.01")
    browser.find_element(By.ID, "coord-use").click()
    _wait(browser, lambda d: d.find_element(By.ID, "draw-map").get_attribute("data-geometry")
          == "Polygon")
    browser.find_element(By.ID, "submit-report").click()     # no classification given
    _wait(browser, lambda d: d.find_element(By.ID, "report-form").get_attribute(
        "data-outcome") == "refused", 60)
    assert browser.find_element(By.CSS_SELECTOR, '[data-problem="classification"]').text


def test_an_approver_accepts_a_link_and_the_area_turns_cha(live, browser):
    from selenium.webdriver.common.by import By

    ledger = live.site.ledger
    assert ledger.get(ReportType.HAZARDOUS_AREA, "HA-001")["classification"] == "SHA"
    res = ledger.submit([{
        "report_type": "accident", "object_id": "ACC-LINK-1",
        "date_of_information": "2024-05-01", "organisation": "ANAMA", "author": "team",
        "device_category": "AP_mine", "context": "civilian",
        "geometry": {"type": "Point", "coordinates": [46.945, 39.985]}}], user="clerk")
    [rid] = res.accepted
    _sign_in(browser, live.base, "chief", then="/review")
    count = browser.find_element(By.ID, "queue-count")
    before = int(count.get_attribute("data-waiting"))
    row = browser.find_element(By.ID, f"report-{rid}")
    assert row.get_attribute("data-action") == "link"
    assert "HA-001" in row.text and "lies inside hazardous area" in row.text
    _shot(browser, "review-actions.png")
    row.find_element(By.CSS_SELECTOR, "button.approve-link").click()
    _wait(browser, lambda d: "approved" in d.find_element(By.ID, f"report-{rid}")
          .find_element(By.CSS_SELECTOR, ".outcome").text)
    assert "HA-001" in row.find_element(By.CSS_SELECTOR, ".outcome").text
    _wait(browser, lambda d: int(d.find_element(By.ID, "queue-count")
                                 .get_attribute("data-waiting")) == before - 1)
    assert str(before - 1) in browser.find_element(By.ID, "queue-count").text
    # the area's page: the accident in its history, the area confirmed
    browser.get(f"{live.base}/objects/hazardous_area/HA-001")
    history = browser.find_element(By.ID, "history").text
    assert str(rid) in history and "accident" in history
    cell = browser.find_element(By.CSS_SELECTOR, '[data-field="classification"]').text
    assert cell == "CHA"
    assert ledger.get(ReportType.HAZARDOUS_AREA, "HA-001")["classification"] == "CHA"


def test_an_approver_accepts_a_cha_proposal_of_the_risk_ranking(live, browser):
    from selenium.webdriver.common.by import By

    ledger = live.site.ledger
    area = ledger.get(ReportType.HAZARDOUS_AREA, "HA-003")
    assert (area["classification"], area["status"]) == ("SHA", "open")
    ranking = live.site.work_dir / "area-risk.csv"
    with ranking.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["object_id", "rank", "mean_probability", "proposed", "score",
                    "direct_evidence", "drivers"])
        w.writerow(["HA-003", 1, 0.41, "CHA", 2.2, True, json.dumps(
            [{"evidence": "EV-NEAR", "category": "find", "reliability": "high",
              "points": 1.0}])])
        w.writerow(["HA-004", 2, 0.30, "CHA", 1.5, True, "[]"])     # agrees with the record
    try:
        _sign_in(browser, live.base, "chief", then="/review")
        # the page loads again with the drafts in the queue
        _follow(browser, browser.find_element(By.ID, "bring-proposals"), "/review")
        row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#review-table tbody tr")
                   if "risk-model" in r.text)
        rid = int(row.get_attribute("data-report-id"))
        from safeground.web.i18n import reason  # the proposal's reason as the page words it

        assert "HA-003" in row.text and reason("classification: SHA -> CHA") in row.text
        assert "EV-NEAR" in row.text
        assert ledger.report(rid).submitted_by == "risk-model"
        row.find_element(By.CSS_SELECTOR, "button.approve").click()
        _wait(browser, lambda d: "approved" in d.find_element(By.ID, f"report-{rid}")
              .find_element(By.CSS_SELECTOR, ".outcome").text)
        assert ledger.get(ReportType.HAZARDOUS_AREA, "HA-003")["classification"] == "CHA"
        assert ledger.report(rid).decided_by == "chief"
    finally:
        ranking.unlink()
