"""What the dashboard's browser tests share: the seeded events, a real server on loopback per
test module (a database of its own, so one module's writes never change another's counts),
Debian's headless Chromium, and helpers that drive the page as a person would.

Screenshots go to $INCIDENTS_TEST_ARTIFACTS (default: tests/artifacts/) for a person to look
at. Where Chromium is missing and apt-get can install it (root on Debian or Ubuntu), the suite
installs it, as the dashboard issue asks; anywhere else the test fails saying what to install.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

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
# The statuses' colours (app/ui/static/palette.js) and the ink of the letters on them.
COLOURS = {
    "claimed": "rgb(238, 187, 51)", "verified": "rgb(0, 68, 136)", "disputed": "rgb(187, 85, 102)",
    "refuted": "rgb(0, 0, 0)",
}  # fmt: skip
INKS = {
    "claimed": [0, 0, 0], "verified": [255, 255, 255], "disputed": [0, 0, 0],
    "refuted": [255, 255, 255],
}  # fmt: skip
SUB_EVENT = {"battles": "armed_clash", "explosions_remote_violence": "air_drone_strike"}
# Kharkiv in June 2024: thirty events a few streets apart (a dense cluster, two pages).
KHARKIV = 30
# Sudzha, in the gazetteer (a place of the seed's own): an event claiming a change of control,
# with recorded fatalities and tags.
SUDZHA = {"name": "Sudzha", "alt_names": ["Суджа"], "country": "RU", "region_code": "RU-KRS",
          "lat": 51.19, "lon": 35.27, "kind": "town"}  # fmt: skip
TOTAL = len(BELGOROD_MARCH) + 1 + 2 + KHARKIV + 1
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


def seed(base_url: str, secrets: dict[str, str]) -> dict[str, Any]:
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
            if kind == "explosions_remote_violence":
                seeded["explosion"] = event
        create(event_date="2025-04-02", summary="Belgorod in April")
        # The disputed event contradicts the explosion of 2025-03-12 (a relation on both).
        related = analyst.post(
            f"/v1/events/{seeded['disputed']['id']}/relations",
            json={"kind": "contradicts", "event_id": seeded["explosion"]["id"],
                  "note": "Same strike, other account."},
        )  # fmt: skip
        assert related.status_code == 201, related.text
        place = analyst.post("/v1/places", json=SUDZHA)
        assert place.status_code == 201, place.text
        seeded["place"] = place.json()
        seeded["control"] = create(
            event_date="2024-08-10", place_id=place.json()["id"], country=None, region_code=None,
            location_name=None, lat=None, lon=None, geo_precision="exact",
            sub_event_type="non_state_actor_overtakes_territory", fatalities=12,
            summary="Sudzha taken", tags=["cross-border", "incursion"],
            control={"outcome": "taken", "side": "UA", "from_side": "RU"},
        )  # fmt: skip
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
    admin_url: str, template_db: str, request: pytest.FixtureRequest
) -> Iterator[tuple[LiveServer, dict[str, str], dict[str, Any]]]:
    from tests.conftest import copy_database, drop_database

    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    name = f"itk_ui_{module}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    url = copy_database(admin_url, template_db, name)
    secrets = keys_for(url).secrets
    with LiveServer(url, rollup_compact_interval_s=0) as live:
        seeded = seed(live.base_url, secrets)
        yield live, secrets, seeded
    drop_database(admin_url, name)


def ensure_chromium() -> None:
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
    ensure_chromium()
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
            shot(page, f"FAILED-{request.node.name}-{number}")
        page.context.close()


def shot(page: Page, name: str, full_page: bool = True) -> None:
    """A screenshot for a person to look at: the whole page, or (full_page=False) the screen
    as the user sees it, which is what shows a drawer or a sheet where it is."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def sign_in(page: Page, base_url: str, key: str) -> None:
    page.goto(base_url + "/")
    page.get_by_role("textbox", name="API key").fill(key)
    page.get_by_role("button", name="Open the dashboard").click()


def apply_filters(page: Page, **fields: str) -> None:
    """Fill filters by their labels, then press Enter in the last (the filters are a form)."""
    for label, value in fields.items():
        field = page.get_by_label(label.replace("_", " "), exact=True)
        if field.evaluate("node => node.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.get_by_label("Text", exact=True).press("Enter")


def map_shows(page: Page, **state: str) -> None:
    """Wait until the map has drawn (it writes what it drew on #map once idle: data-points,
    data-clusters, data-drawn, data-by-status, data-tiles, ...) and that agrees with `state`."""
    drawn = page.locator("#map")
    for name, value in state.items():
        expect(drawn).to_have_attribute(f"data-{name.replace('_', '-')}", value)


# The points the map draws in view: each one's status, the icon drawn for it, that icon's
# colour (a pixel of its disc, beside the letter) and whether letter pixels in the status's ink
# (given as the argument: status -> [r, g, b]) are in it.
DRAWN_POINTS = """(inks) => {
  const map = document.getElementById("map").dashboardMap;
  return map.queryRenderedFeatures({ layers: ["points"] }).map((feature) => {
    const name = feature.layer.layout["icon-image"].name ?? feature.layer.layout["icon-image"];
    const { width, data } = map.getImage(name).data;
    const pixel = (x, y) => Array.from(data.slice((y * width + x) * 4, (y * width + x) * 4 + 3));
    const centre = width / 2;
    const ink = inks[feature.properties.status];
    let letter = 0;
    for (let y = centre - 6; y < centre + 6; y++)
      for (let x = centre - 6; x < centre + 6; x++)
        if (pixel(x, y).every((v, i) => Math.abs(v - ink[i]) < 25)) letter++;
    const [r, g, b] = pixel(centre, centre - 15);
    return [feature.properties.status, name, `rgb(${r}, ${g}, ${b})`, letter > 5];
  });
}"""


def point_on_screen(page: Page) -> tuple[float, float, str]:
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
