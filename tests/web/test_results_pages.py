"""The dashboard and the analysis page read as people read them: settlement and people
figures that agree, killed drawn dark red, codes as words, thousands separated, the land
release table inside its card."""

from __future__ import annotations

import re

from websupport import build_site

from safeground.record.summary import status
from safeground.record.vocabulary import ReportType, label


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
    killed = re.search(r'fill="(#[0-9a-f]{6})"><title>killed \(civilian\)', casualties)
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
