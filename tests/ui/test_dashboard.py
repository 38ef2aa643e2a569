"""The dashboard in a real headless Chromium (Debian's), against the real server on loopback.

Screenshots go to $INCIDENTS_TEST_ARTIFACTS (default: tests/artifacts/) for a person to look
at. Where Chromium is missing and apt-get can install it (root on Debian or Ubuntu), the suite
installs it, as the dashboard issue asks; anywhere else the test fails saying what to install.
"""

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.factories import event_body
from tests.live import LiveServer, keys_for

CHROMIUM = os.environ.get("INCIDENTS_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = (
    Path(os.environ.get("INCIDENTS_TEST_ARTIFACTS", ROOT / "tests" / "artifacts")) / "dashboard"
)
# Belgorod in March 2025: five events over three ISO weeks, three statuses.
BELGOROD_MARCH = [
    ("2025-03-03", 50.60, 36.60, "claimed"),
    ("2025-03-05", 50.95, 35.55, "verified"),
    ("2025-03-12", 50.40, 36.90, "claimed"),
    ("2025-03-13", 50.70, 36.00, "disputed"),
    ("2025-03-20", 51.00, 36.20, "claimed"),
]


def _seed(base_url: str, secrets: dict[str, str]) -> dict[str, Any]:
    def client(role: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {secrets[role]}"}
        return httpx.Client(base_url=base_url, headers=headers, timeout=30)

    with client("analyst") as analyst, client("verifier") as verifier:

        def create(**changes: Any) -> dict[str, Any]:
            body = event_body(date_precision="day", **changes)
            response = analyst.post("/v1/events", json=body)
            assert response.status_code == 201, response.text
            created: dict[str, Any] = response.json()
            return created

        seeded: dict[str, Any] = {}
        for date, lat, lon, status in BELGOROD_MARCH:
            event = create(event_date=date, lat=lat, lon=lon, summary=f"Belgorod {date}")
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
            )  # fmt: skip
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
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield launched
        launched.close()


def _page(browser: Browser, width: int = 1280, height: int = 800) -> Page:
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    page = context.new_page()
    # No network here: the tile layer's requests fail fast, and the map works without them.
    page.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
    return page


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page, base_url: str, key: str) -> None:
    page.goto(base_url + "/")
    page.get_by_role("textbox", name="API key").fill(key)
    page.get_by_role("button", name="Open the dashboard").click()


def test_a_wrong_key_gets_a_clear_message(browser: Browser, server: Any):
    live, _, _ = server
    page = _page(browser)
    _sign_in(page, live.base_url, "itk_not_a_real_key_0000000000")
    error = page.locator("#login-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("not accepted")
    expect(error).to_contain_text("401")
    expect(page.locator("#main")).to_be_hidden()
    _shot(page, "wrong-key")
    page.context.close()


def test_filter_to_a_region_and_month_then_open_an_event(browser: Browser, server: Any):
    live, secrets, seeded = server
    page = _page(browser)
    _sign_in(page, live.base_url, secrets["reader"])
    expect(page.locator("#main")).to_be_visible()
    expect(page.locator("#map")).to_have_attribute("data-markers", "8")  # every event placed
    assert page.evaluate("sessionStorage.getItem('incidents.key')") == secrets["reader"]
    assert secrets["reader"] not in page.url

    # Region suggestions come from /v1/regions as the user types.
    page.get_by_label("Region").fill("Belgo")
    expect(page.locator('#region-options option[value="RU-BEL"]')).to_have_count(1)
    page.get_by_label("Region").fill("RU-BEL")
    page.get_by_label("From").fill("2025-03-01")
    page.get_by_label("To").fill("2025-03-31")
    page.get_by_label("To").press("Enter")  # the filters are a form: Enter applies them

    expect(page.locator("#map")).to_have_attribute("data-markers", "5")
    expect(page.locator("#map-count")).to_contain_text("5 on the map")
    expect(page.locator("#chart")).to_have_attribute("data-bars", "3")
    # Zero-filled: every ISO week the month touches is a row of the chart's data table.
    weeks = page.locator("#chart-data tbody tr")
    expect(weeks).to_have_count(6)
    expect(weeks.first).to_have_attribute("data-week", "2025-02-24")
    rows = page.locator("#events tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.filter(has_text="verified")).to_have_count(1)
    expect(rows.filter(has_text="disputed")).to_have_count(1)
    _shot(page, "filtered")

    # Keyboard: focus the verified event's link and press Enter.
    verified = rows.filter(has_text="verified").get_by_role("button")
    verified.focus()
    page.keyboard.press("Enter")
    detail = page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail).to_be_focused()
    expect(detail.locator(".sources li")).to_have_count(1)
    expect(detail.locator(".sources")).to_contain_text("Ministry of Defence of Russia")
    expect(detail.locator(".grade")).to_have_text("F6")
    expect(detail.locator(".units")).to_contain_text("225th Separate Assault Regiment (UA)")
    history = detail.locator(".history li")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("Create")
    expect(history.nth(1)).to_contain_text("Status")
    expect(history.nth(1)).to_contain_text("Checked: verified.")
    assert seeded["verified"]["summary"] in detail.inner_text()
    _shot(page, "event-detail")

    # The current filter as CSV, through the export endpoint.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename == "events.csv"
    records = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert len(records) == 5
    assert {record["region_code"] for record in records} == {"RU-BEL"}
    page.context.close()


def test_filters_are_reachable_by_keyboard_in_order(browser: Browser, server: Any):
    live, secrets, _ = server
    page = _page(browser)
    _sign_in(page, live.base_url, secrets["reader"])
    expect(page.locator("#events tbody tr")).to_have_count(8)
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
    # Choosing a status with the keyboard and pressing Enter applies the filter.
    page.get_by_label("Status", exact=True).focus()
    page.keyboard.press("ArrowDown")  # any -> claimed
    page.get_by_label("Text", exact=True).press("Enter")
    expect(page.locator("#events tbody tr")).to_have_count(6)
    page.context.close()


def test_readable_on_a_phone(browser: Browser, server: Any):
    live, secrets, _ = server
    page = _page(browser, width=390, height=844)
    _sign_in(page, live.base_url, secrets["reader"])
    expect(page.locator("#events tbody tr")).to_have_count(8)
    for panel in ("#map", "#chart", "#filters", "#events"):
        box = page.locator(panel).bounding_box()
        assert box is not None, panel
        assert box["width"] <= 390, panel
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Statuses are written out as well as coloured.
    expect(page.locator(".legend")).to_contain_text("verified")
    expect(page.locator("#events .badge").first).to_have_text("C claimed")
    _shot(page, "phone")
    page.context.close()


def test_the_page_is_served_with_a_strict_policy(server: Any):
    live, _, _ = server
    for path in ("/", "/ui/", "/ui/events"):
        response = httpx.get(live.base_url + path)
        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
        assert "script-src 'self'" in response.headers["content-security-policy"]
    leaflet = httpx.get(live.base_url + "/ui/static/vendor/leaflet/leaflet.js")
    assert leaflet.status_code == 200
    assert "1.9.4" in leaflet.text[:200]
    assert httpx.get(live.base_url + "/ui/static/nothing.js").status_code == 404
