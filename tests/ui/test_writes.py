"""Writes from the dashboard, each through the page as a person makes it, against a server and
database of this module's own (tests/ui/dashboard.py): what the API refuses is shown in its
words (a reader's 403, the four-eyes rule, a 422 naming the field), and what it accepts shows
in the drawer, the table and the counts.

The page asks the API for the key's role (/v1/keys/me) and offers only the writes that role
may make; the API still decides each one (an analyst merging another key's event, the
four-eyes rule), and its refusal is shown as it words it."""

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.ui.dashboard import TOTAL, PageFactory, apply_filters, map_shows, shot, sign_in

POSTED = "Posted from the page"


def _open(page: Page, event_id: str) -> None:
    page.locator(f'#events tr[data-id="{event_id}"]').get_by_role("button").click()
    expect(page.locator("#detail")).to_be_focused()
    expect(page.locator("#detail")).to_have_attribute("data-id", event_id)


def _change_status(page: Page, status: str, rationale: str) -> None:
    drawer = page.locator("#detail")
    drawer.locator("summary", has_text="Change the status").click()
    form = drawer.locator("#status-form")
    form.get_by_label("New status").select_option(status)
    form.get_by_label("Rationale").fill(rationale)
    form.locator("button[type=submit]").click()


def test_status_sources_and_new_events_from_the_page(open_page: PageFactory, server: Any):
    live, secrets, seeded = server
    claimed = seeded["claimed"]

    # A reader is offered no write: the page knows the key's role and says why.
    reader = open_page()
    sign_in(reader, live.base_url, secrets["reader"])
    expect(reader.locator("#whoami")).to_have_text("reader · reader")
    apply_filters(reader, Region="RU-BEL", From="2025-03-01", To="2025-03-31")
    _open(reader, claimed["id"])
    drawer = reader.locator("#detail")
    expect(drawer.locator(".writes")).to_have_text(
        "This key is a reader: it may read events, not change them."
    )
    expect(drawer.locator("form")).to_have_count(0)
    expect(reader.get_by_role("button", name="New event")).to_be_hidden()
    shot(reader, "write-reader", full_page=False)
    # An analyst may add a source, not judge: no status form.
    judge_not = open_page()
    sign_in(judge_not, live.base_url, secrets["analyst"])
    expect(judge_not.locator("#whoami")).to_have_text("analyst · analyst")
    apply_filters(judge_not, Region="RU-BEL", From="2025-03-01", To="2025-03-31")
    _open(judge_not, claimed["id"])
    expect(judge_not.locator("#detail #source-form")).to_have_count(1)
    expect(judge_not.locator("#detail #status-form")).to_have_count(0)
    expect(judge_not.get_by_role("button", name="New event")).to_be_visible()

    # A verifier posts an event, finding its place by name in the gazetteer.
    verifier = open_page()
    sign_in(verifier, live.base_url, secrets["verifier"])
    expect(verifier.locator("#table-count")).to_have_text(f"(1–25 of {TOTAL})")
    verifier.get_by_role("button", name="New event").click()
    composer = verifier.locator("#composer")
    expect(composer).to_be_focused()
    composer.get_by_label("Date of the event").fill("2025-02-10")
    composer.get_by_label("Summary").fill(POSTED)
    composer.get_by_label("Source name").fill("Page test source")
    composer.get_by_label("Type", exact=True).select_option("protests")
    # No place chosen from the suggestions: the page says so and sends nothing.
    composer.get_by_label("Place of the event").fill("Sudzha")
    composer.get_by_role("button", name="Post the event").click()
    expect(verifier.locator("#composer-result")).to_contain_text("Choose the place")
    suggestion = composer.locator("#place-options option").first
    expect(suggestion).to_have_attribute("value", "Sudzha, RU-KRS (51.190, 35.270)")
    composer.get_by_label("Place of the event").fill("Sudzha, RU-KRS (51.190, 35.270)")
    # The sub-type menu offers the type's sub-types only, as the API's schema ties them.
    with httpx.Client(base_url=live.base_url, timeout=120) as anyone:
        schema = anyone.get("/openapi.json").json()["components"]["schemas"]["EventCreate"]
    protests = schema["x-sub-event-types"]["protests"]
    subtype = composer.get_by_label("Sub-type")
    expect(subtype.locator("option")).to_have_count(len(protests))
    assert subtype.locator("option").evaluate_all("o => o.map((x) => x.value)") == protests
    composer.get_by_label("Type", exact=True).select_option("battles")
    expect(subtype).to_have_value("armed_clash")
    # A date to come: the API's 422 names the field, nothing is written.
    composer.get_by_label("Date of the event").fill("2099-01-01")
    composer.get_by_role("button", name="Post the event").click()
    expect(verifier.locator("#composer-result")).to_contain_text("422")
    expect(verifier.locator("#composer-result")).to_contain_text("event_date: Value error, must be")
    shot(verifier, "write-new-event-refused", full_page=False)
    composer.get_by_label("Date of the event").fill("2025-02-10")
    composer.get_by_role("button", name="Post the event").click()
    drawer = verifier.locator("#detail")
    expect(drawer).to_be_visible()
    expect(composer).to_be_hidden()
    expect(drawer.locator(".result.ok")).to_have_text("Event posted at Sudzha.")
    expect(drawer.locator(".summary")).to_have_text(POSTED)
    expect(drawer.locator(".fact-where dd")).to_contain_text("Sudzha")
    expect(drawer.locator(".sources li")).to_contain_text("Page test source")
    expect(verifier.locator("#detail-title .badge")).to_have_text("C claimed")
    posted = drawer.get_attribute("data-id")
    assert posted
    expect(verifier.locator("#map")).to_have_attribute("data-selected", posted)
    expect(verifier.locator("#table-count")).to_have_text(f"(1–25 of {TOTAL + 1})")
    expect(verifier.locator("#fig-events .figure")).to_have_text(str(TOTAL + 1))
    headers = {"Authorization": f"Bearer {secrets['reader']}"}
    with httpx.Client(base_url=live.base_url, headers=headers, timeout=120) as api:
        found = api.get("/v1/events", params={"q": POSTED}).json()["items"]
    assert [(e["id"], e["place"]["name"], e["event_date"]) for e in found] == [
        (posted, "Sudzha", "2025-02-10")
    ]
    shot(verifier, "write-new-event", full_page=False)

    # The same verifier may not judge it: the four-eyes rule, in the API's words.
    _change_status(verifier, "verified", "I checked it myself.")
    result = verifier.locator("#status-form .result")
    expect(result).to_contain_text("403")
    expect(result).to_contain_text(
        "Four-eyes rule: the key that created this event cannot change its status; "
        "another verifier must."
    )
    shot(verifier, "write-four-eyes", full_page=False)

    # Another key (an admin) verifies it: the drawer, the history and the table say so.
    admin = open_page()
    sign_in(admin, live.base_url, secrets["admin"])
    apply_filters(admin, Text=POSTED)
    expect(admin.locator("#events tbody tr")).to_have_count(1)
    map_shows(admin, by_status="claimed 1")
    _open(admin, posted)
    _change_status(admin, "verified", "Two sources agree.")
    drawer = admin.locator("#detail")
    expect(drawer.locator(".result.ok")).to_have_text("Status changed: claimed → verified.")
    expect(admin.locator("#detail-title .badge")).to_have_text("V verified")
    expect(drawer.locator(".history li").last).to_contain_text("by admin")
    expect(drawer.locator(".history li").last.locator(".change")).to_contain_text(
        "Status: claimed → verified"
    )
    expect(drawer.locator(".history li").last).to_contain_text("Two sources agree.")
    expect(admin.locator(f'#events tr[data-id="{posted}"] .badge')).to_have_text("V verified")
    expect(admin.locator("#fig-verified .sub")).to_have_text("1 of 1")
    map_shows(admin, by_status="verified 1")  # the map asks for its tiles again
    shot(admin, "write-status", full_page=False)

    # An analyst adds a source that denies it: a change of content, so back to claimed.
    analyst = open_page()
    sign_in(analyst, live.base_url, secrets["analyst"])
    apply_filters(analyst, Text=POSTED)
    map_shows(analyst, by_status="verified 1")
    _open(analyst, posted)
    drawer = analyst.locator("#detail")
    drawer.locator("summary", has_text="Add a source").click()
    form = drawer.locator("#source-form")
    form.get_by_label("Source name").fill("Second look")
    form.get_by_label("Stance").select_option("denies")
    form.get_by_label("Reliability").select_option("B")
    form.get_by_label("Credibility").select_option("2")
    form.get_by_label("Dead it claims").fill("3")
    form.get_by_label("Excerpt").fill("Nothing happened there.")
    form.locator("button[type=submit]").click()
    expect(drawer.locator(".result.ok")).to_have_text(
        "Source added: Second look; the event is claimed again until another key checks it."
    )
    sources = drawer.locator(".sources li")
    expect(sources).to_have_count(2)
    denial = sources.filter(has_text="Second look")
    expect(denial.locator(".stance")).to_have_text("denies")
    expect(denial.locator(".grade")).to_have_text("B2")
    expect(denial).to_contain_text("added by analyst")
    expect(analyst.locator("#detail-title .badge")).to_have_text("C claimed")
    change = drawer.locator(".history li").last.locator(".change")
    expect(change).to_contain_text("Source added: Second look")
    expect(change).to_contain_text("Status: verified → claimed")
    expect(drawer.locator("table.claims tfoot td").first).to_contain_text("3 (3–3)")
    map_shows(analyst, by_status="claimed 1")
    shot(analyst, "write-source", full_page=False)


def _merge_first_candidate(page: Page) -> str:
    """Open the drawer's merge section and press the first duplicate's button; its id."""
    drawer = page.locator("#detail")
    drawer.locator("summary", has_text="Merge into a duplicate").click()
    first = drawer.locator("#merge-action li[data-id]").first
    # Each button is named by its candidate, for a screen reader's list of buttons.
    button = first.get_by_role("button", name=re.compile("^Merge this event into the event of "))
    expect(button).to_have_text("Merge this event into it")
    target = first.get_attribute("data-id")
    assert target
    date = first.inner_text()[:10]  # the candidate's date opens its line
    named = re.compile(f"^Merge this event into the event of {date} at ")
    expect(button).to_have_accessible_name(named)
    button.click()
    return target


def test_merging_a_duplicate_from_the_page(open_page: PageFactory, server: Any):
    live, secrets, _ = server
    admin_headers = {"Authorization": f"Bearer {secrets['admin']}"}
    with httpx.Client(base_url=live.base_url, headers=admin_headers, timeout=120) as api:
        other = api.post("/v1/keys", json={"name": "second analyst", "role": "analyst"}).json()

        def kharkiv_total() -> int:
            summary = api.get("/v1/stats/summary", params={"region": "UA-63"})
            total: int = summary.json()["total"]
            return total

        before = kharkiv_total()
        # An analyst who did not file the event (the seed's analyst imported Kharkiv's) is
        # offered the merge, and the API refuses it in its words; nothing changes.
        second = open_page()
        sign_in(second, live.base_url, other["secret"])
        apply_filters(second, Region="UA-63")
        expect(second.locator("#table-count")).to_have_text(f"(1–25 of {before})")
        row = second.locator("#events tbody tr").first
        merged = row.get_attribute("data-id")
        assert merged
        _open(second, merged)
        _merge_first_candidate(second)
        result = second.locator("#merge-action .result")
        expect(result).to_have_class("result error")
        expect(result).to_contain_text("403")
        expect(result).to_contain_text(
            "only the key that created it, a verifier or an admin may merge it into another"
        )
        shot(second, "write-merge-refused", full_page=False)
        assert api.get(f"/v1/events/{merged}").status_code == 200
        assert kharkiv_total() == before

        # The analyst who filed it merges it: the drawer shows the survivor, whose history
        # says so, the merged event is gone (410 naming the survivor) and the counts drop.
        analyst = open_page()
        sign_in(analyst, live.base_url, secrets["analyst"])
        apply_filters(analyst, Region="UA-63")
        expect(analyst.locator("#table-count")).to_have_text(f"(1–25 of {before})")
        _open(analyst, merged)
        survivor = _merge_first_candidate(analyst)
        drawer = analyst.locator("#detail")
        expect(drawer).to_have_attribute("data-id", survivor)
        expect(drawer.locator(".result.ok")).to_contain_text("Merged: the event of 2024-06-")
        expect(drawer.locator(".history li").last).to_contain_text("Merge")
        expect(analyst.locator("#table-count")).to_contain_text(f"of {before - 1}")
        shot(analyst, "write-merge", full_page=False)
        gone = api.get(f"/v1/events/{merged}")
        assert gone.status_code == 410
        assert gone.json()["merged_into"] == survivor
        assert kharkiv_total() == before - 1
