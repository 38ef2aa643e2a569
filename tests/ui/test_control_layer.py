"""The map's control layer: who holds each place on the day the map shows (today, the filter's
last day, or the end of the week replayed), from /v1/control, with contested places marked,
against a server and database of this module's own (tests/ui/dashboard.py).

Besides the seed's claim that UA took Sudzha on 2024-08-10, this module adds RU's retake of
2025-03-12 (verified), two claims on one day for Loknya (RU-KRS): UA held it, RU took it, and
outside the Kursk region a claim that UA held Vovchansk (UA-63)."""

import datetime as dt
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.factories import event_body
from tests.ui.dashboard import PageFactory, apply_filters, shot, sign_in

LOKNYA = {"name": "Loknya", "alt_names": ["Локня"], "country": "RU", "region_code": "RU-KRS",
          "lat": 51.02, "lon": 35.75, "kind": "village"}  # fmt: skip
VOVCHANSK = {"name": "Vovchansk", "alt_names": ["Вовчанськ"], "country": "UA",
             "region_code": "UA-63", "lat": 50.29, "lon": 36.94, "kind": "town"}  # fmt: skip
# The sides' colours (app/ui/static/palette.js), given in the order the page first meets them:
# RU before UA, as the first answer lists both.
CYAN, WINE = [136, 204, 238], [136, 34, 85]

# The chips drawn in view: each place's name, state, sides, and the colour of its chip (a pixel
# inside its border, left of the words) or "hatched" when grey hatching (#8a8a8a) is in it.
DRAWN_CHIPS = """() => {
  const map = document.getElementById("map").dashboardMap;
  const chips = new Map(); // a place near a tile's edge is in both tiles
  for (const feature of map.queryRenderedFeatures({ layers: ["control"] })) {
    const p = feature.properties;
    const { width, data } = map.getImage(p.chip).data;
    const at = (8 * width + 8) * 4;
    let hatched = false;
    for (let i = 0; i < data.length; i += 4) {
      hatched ||= data[i] === 138 && data[i + 1] === 138 && data[i + 2] === 138;
    }
    const fill = hatched ? "hatched" : Array.from(data.slice(at, at + 3));
    chips.set(p.name, [p.name, p.state, JSON.parse(p.sides), fill]);
  }
  return [...chips.keys()].sort().map((name) => chips.get(name));
}"""


@pytest.fixture(scope="module")
def claims(server: Any) -> dict[str, Any]:
    live, secrets, seeded = server

    def client(role: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {secrets[role]}"}
        return httpx.Client(base_url=live.base_url, headers=headers, timeout=120)

    def claim(place_id: str, date: str, control: dict[str, str]) -> dict[str, Any]:
        body = event_body(
            event_date=date, date_precision="day", place_id=place_id, country=None,
            region_code=None, location_name=None, lat=None, lon=None, geo_precision="exact",
            sub_event_type="non_state_actor_overtakes_territory", summary=f"{date} claim",
            control=control,
        )  # fmt: skip
        response = analyst.post("/v1/events", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    with client("analyst") as analyst, client("verifier") as verifier:
        place = analyst.post("/v1/places", json=LOKNYA)
        assert place.status_code == 201, place.text
        sudzha = seeded["place"]["id"]
        retake = claim(sudzha, "2025-03-12", {"outcome": "taken", "side": "RU", "from_side": "UA"})
        verified = verifier.post(
            f"/v1/events/{retake['id']}/status",
            json={"status": "verified", "rationale": "Geolocated footage."},
        )
        assert verified.status_code == 200, verified.text
        held = claim(place.json()["id"], "2025-02-01", {"outcome": "held", "side": "UA"})
        taken = claim(place.json()["id"], "2025-02-01", {"outcome": "taken", "side": "RU"})
        elsewhere = analyst.post("/v1/places", json=VOVCHANSK)
        assert elsewhere.status_code == 201, elsewhere.text
        claim(elsewhere.json()["id"], "2024-05-20", {"outcome": "held", "side": "UA"})
    return {"retake": retake, "loknya": [held["id"], taken["id"]]}


def _control(page: Page, day: str, basis: str, held: int, contested: int) -> None:
    drawn = page.locator("#map")
    expect(drawn).to_have_attribute("data-control", f"{day} {basis}")
    expect(drawn).to_have_attribute("data-control-held", str(held))
    expect(drawn).to_have_attribute("data-control-contested", str(contested))


def _chips(page: Page, expected: list[list[Any]]) -> None:
    page.wait_for_function(f"() => ({DRAWN_CHIPS})().length === {len(expected)}")
    assert page.evaluate(DRAWN_CHIPS) == expected


def test_the_map_shows_who_holds_what_on_its_day(
    open_page: PageFactory, server: Any, claims: dict[str, Any]
):
    live, secrets, _ = server
    today = dt.datetime.now(dt.UTC).date().isoformat()
    page = open_page()
    sign_in(page, live.base_url, secrets["reader"])
    # Today, everywhere: UA holds Vovchansk, RU retook Sudzha, Loknya is contested.
    _control(page, today, "claims", held=2, contested=1)
    # The region filter: Kursk's places only.
    apply_filters(page, Region="RU-KRS")
    expect(page.locator("#map")).to_have_attribute("data-total", "4")
    _control(page, today, "claims", held=1, contested=1)
    expect(page.locator("#control-line")).to_have_text(
        f"Control on {today} (claims): 1 place held by one side, 1 contested."
    )
    expect(page.locator("#control-legend li")).to_have_text(["RU held by RU", "A / B contested"])
    _chips(page, [["Loknya", "contested", ["RU", "UA"], "hatched"],
                  ["Sudzha", "held", ["RU"], CYAN]])  # fmt: skip
    shot(page, "control-today")
    # The same as a table, for keyboards and screen readers; a row's button opens the claim
    # that holds on the day (RU's retake of Sudzha).
    table = page.locator("#control-places")
    table.locator("summary").click()
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr th")).to_have_text(["Loknya", "Sudzha"])
    expect(table.locator("tbody tr td:nth-child(2)")).to_have_text(
        ["contested by RU and UA", "held by RU"]
    )
    table.get_by_role("button", name="Open the claim of 2025-03-12 on Sudzha").click()
    expect(page.locator("#detail")).to_have_attribute("data-id", claims["retake"]["id"])
    page.get_by_role("button", name="Close").first.click()

    # The filter's last day: before the retake, UA held Sudzha, and Loknya had no claim.
    apply_filters(page, To="2024-12-31")
    expect(page.locator("#map")).to_have_attribute("data-total", "1")
    _control(page, "2024-12-31", "claims", held=1, contested=0)
    expect(page.locator("#control-legend li")).to_have_text(["UA held by UA", "A / B contested"])
    _chips(page, [["Sudzha", "held", ["UA"], WINE]])

    # The replay: each week's map shows control at its end.
    apply_filters(page, To="")
    expect(page.locator("#map")).to_have_attribute("data-total", "4")
    slider = page.get_by_label("Week", exact=True)
    expect(slider).to_be_enabled()
    slider.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#replay-label")).to_have_text("2024-08-12 to 2024-08-18")
    _control(page, "2024-08-18", "claims", held=1, contested=0)
    _chips(page, [["Sudzha", "held", ["UA"], WINE]])
    page.keyboard.press("End")
    expect(page.locator("#replay-label")).to_have_text("2025-03-10 to 2025-03-16")
    _control(page, "2025-03-16", "claims", held=1, contested=1)

    # Verified claims only: the retake is verified, neither claim on Loknya is.
    page.get_by_role("combobox", name="Control").select_option("verified")
    _control(page, "2025-03-16", "verified", held=1, contested=0)
    expect(page.locator("#control-line")).to_contain_text("(verified claims)")
    _chips(page, [["Sudzha", "held", ["RU"], CYAN]])

    # Hidden: no chips, no line, no legend.
    page.get_by_role("combobox", name="Control").select_option("off")
    expect(page.locator("#map")).not_to_have_attribute("data-control", re.compile(""))
    expect(page.locator("#control-line")).to_be_empty()
    expect(page.locator("#control-legend")).to_be_hidden()
    _chips(page, [])


def _hover_chip(page: Page, name: str) -> tuple[float, float]:
    """Put the mouse on a place's chip, beside its dot, until the chip's hint shows, and
    return where (page coordinates). The map may still be moving (fitted to the filters, the
    phone's sheet closing) when the chip is first drawn: where it was is then no longer where
    it is, so the chip is looked up again, once the map stands still, until the hover hits."""
    popup = page.locator(".event-popup")
    for _ in range(60):  # a guard against hanging, not a measure of speed
        page.wait_for_function("() => !document.getElementById('map').dashboardMap.isMoving()")
        x, y = page.evaluate(
            """(name) => { const map = document.getElementById("map").dashboardMap;
                           const [chip] = map.queryRenderedFeatures({ layers: ["control"] })
                             .filter((f) => f.properties.name === name);
                           const { x, y } = map.project(chip.geometry.coordinates);
                           return [x + 35, y]; }""",
            name,
        )
        box = page.locator("#map").bounding_box()
        assert box is not None
        page.mouse.move(0, 0)  # off the map: the move back is a new hover
        page.mouse.move(box["x"] + x, box["y"] + y)
        try:
            popup.wait_for(state="visible", timeout=2000)
        except PlaywrightTimeoutError:
            continue
        return box["x"] + x, box["y"] + y
    raise AssertionError(f"no hint on hovering {name}'s chip")


def test_a_chip_opens_the_event_of_its_claim(
    open_page: PageFactory, server: Any, claims: dict[str, Any]
):
    live, secrets, _ = server
    for width, height, name in [(1280, 800, "desktop"), (390, 844, "phone")]:
        page = open_page(width=width, height=height)
        sign_in(page, live.base_url, secrets["reader"])
        if name == "phone":  # the filters are a sheet, closed until asked for
            page.get_by_text("Filters", exact=True).click()
        apply_filters(page, Region="RU-KRS")
        _control(page, dt.datetime.now(dt.UTC).date().isoformat(), "claims", held=1, contested=1)
        # Where chips would overlap (the phone's smaller map), the contested place's is kept.
        page.wait_for_function(f"() => ({DRAWN_CHIPS})().some(([name]) => name === 'Loknya')")
        # Beside Loknya's dot, on its chip: the hint, then a click opens one of the claims
        # that hold on the day (two, of one date).
        x, y = _hover_chip(page, "Loknya")
        expect(page.locator(".event-popup")).to_have_text(
            "Loknya: contested by RU and UA (latest claim 2025-02-01). "
            "Click for that claim's event."
        )
        shot(page, f"control-hover-{name}", full_page=False)
        page.mouse.click(x, y)
        drawer = page.locator("#detail")
        expect(drawer).to_be_visible()
        either = re.compile("^({})$".format("|".join(claims["loknya"])))
        expect(drawer).to_have_attribute("data-id", either)
        expect(drawer).to_contain_text("2025-02-01 claim")
        shot(page, f"control-drawer-{name}", full_page=False)
