"""axe-core (vendored for the tests only, tests/ui/vendor/axe-core/, pinned in
tests/ui/package-lock.json; the app never serves it) audits the dashboard at 1280x800 and
390 px in its main states: signed in, filtered, an event's drawer open, the new-event form.
No serious or critical violation is allowed.

The page's policy allows scripts from its own origin only: the test answers a same-origin URL
the app does not serve with axe's file (Playwright's routing), so the audit runs under the
page's real Content-Security-Policy."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.ui.dashboard import TOTAL, PageFactory, apply_filters, map_shows, shot, sign_in

VENDOR = Path(__file__).resolve().parent / "vendor" / "axe-core"
AXE = VENDOR / "axe.min.js"
AXE_PATH = "/__axe-under-test__/axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return { passed: result.passes.length,
    violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " :: " + n.failureSummary) })) };
}"""


def _audit(page: Page, state: str) -> None:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(url=AXE_PATH)
    result = page.evaluate(RUN_AXE)
    assert result["passed"] > 10, state  # the audit ran its rules on the page
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    others = sorted(
        {f"{v['id']} ({v['impact']})" for v in result["violations"]}
        - {f"{v['id']} ({v['impact']})" for v in serious}
    )
    print(f"axe, {state}: {result['passed']} rules passed; lesser findings: {others}")
    assert not serious, f"{state}: " + json.dumps(serious, indent=1, ensure_ascii=False)


def _with_axe(page: Page, base_url: str) -> None:
    page.route(
        base_url + AXE_PATH,
        lambda route: route.fulfill(body=AXE.read_bytes(), content_type="text/javascript"),
    )


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_no_serious_accessibility_violations(
    open_page: PageFactory, server: Any, width: int, height: int
):
    live, secrets, seeded = server
    size = f"{width}px"
    page = open_page(width=width, height=height)
    _with_axe(page, live.base_url)
    page.goto(live.base_url + "/")
    expect(page.locator("#login")).to_be_visible()
    _audit(page, f"sign-in page at {size}")

    sign_in(page, live.base_url, secrets["admin"])  # offered every write
    expect(page.locator("#table-count")).to_contain_text(f"of {TOTAL}")
    map_shows(page, outlines="drawn", drawn=str(TOTAL))
    _audit(page, f"signed in at {size}")

    if width < 640:  # the filters are a sheet to open on a phone
        page.get_by_text("Filters", exact=True).click()
        _audit(page, f"filter sheet open at {size}")
    apply_filters(page, Region="RU-BEL", From="2025-03-01", To="2025-03-31")
    expect(page.locator("#events tbody tr")).to_have_count(5)
    _audit(page, f"filtered at {size}")

    page.locator(f'#events tr[data-id="{seeded["verified"]["id"]}"]').get_by_role("button").click()
    expect(page.locator("#detail")).to_be_focused()
    expect(page.locator("#detail .history li")).to_have_count(3)
    for summary in ("Change the status", "Add a source", "Merge into a duplicate"):
        page.locator("#detail summary", has_text=summary).click()
    expect(page.locator('#merge-action ul[data-state="done"]')).to_have_count(1)
    _audit(page, f"drawer open at {size}")
    shot(page, f"accessibility-drawer-{width}", full_page=False)

    page.get_by_role("button", name="Close").first.click()
    page.get_by_role("button", name="New event").click()
    expect(page.locator("#composer")).to_be_focused()
    _audit(page, f"new-event form at {size}")


def test_axe_is_the_pinned_release_and_not_served_by_the_app(server: Any):
    live, _, _ = server
    lock = json.loads((VENDOR.parent.parent / "package-lock.json").read_text())["packages"]
    pinned = json.loads((VENDOR.parent.parent / "package.json").read_text())["devDependencies"]
    version = pinned["axe-core"]
    assert lock["node_modules/axe-core"]["version"] == version
    assert lock["node_modules/axe-core"]["integrity"].startswith("sha512-")
    assert f"axe v{version}" in AXE.read_text()[:200]
    for path in ("/ui/static/vendor/axe-core/axe.min.js", AXE_PATH, "/ui/static/axe.min.js"):
        assert httpx.get(live.base_url + path).status_code == 404, path
