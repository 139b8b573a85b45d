"""Real-browser checks of the new interactions: a bookmarked URL opens its view, and clicking the
volume chart's spike lists the posts behind it, two clicks from the Overview to all of them."""

from __future__ import annotations

import re

import pytest
from test_browser import ARGS, ARTIFACTS, CHROMIUM, _settle, _shot, seeded_small_store, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def base(tmp_path):
    url, _ = seeded_small_store(tmp_path, "drill")
    with serve(url, tmp_path) as address:
        yield address


def test_a_url_range_and_a_drill_down_from_the_spike(base):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        # Range: a bookmarked URL opens Acme on 5 Jan, compared with 6 Jan.
        page.goto(f"{base}/?brand=Acme&from=2026-01-05&to=2026-01-06&compare=2026-01-06..2026-01-07")
        _settle(page)
        expect(page.get_by_test_id("stMetricValue").first).to_have_text("36")
        expect(page.get_by_text("+50% vs comparison")).to_be_visible()
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Window: 05 Jan 2026 00:00 to 06 Jan 2026 00:00 UTC")
               ).to_be_visible()
        assert "from=2026-01-05" in page.url and "brand=Acme" in page.url

        # Drill-down: click the highest point of the volume chart (the 00:00 spike).
        chart = page.get_by_test_id("stVegaLiteChart").first
        points = chart.locator("path[aria-roledescription='point']")
        boxes = [points.nth(i).bounding_box() for i in range(points.count())]
        top = min((b for b in boxes if b), key=lambda b: b["y"])
        page.mouse.click(top["x"] + top["width"] / 2, top["y"] + top["height"] / 2)
        page.wait_for_timeout(2000)
        _settle(page)
        expect(page.get_by_text("Posts behind the selection:")).to_be_visible()
        # md() puts an invisible word joiner after each colon (no autolinks in untrusted text)
        window = re.compile("05 Jan 2026 00:\u2060?00 to 05 Jan 2026 01:\u2060?00 UTC")
        expect(page.get_by_text(window).first).to_be_visible()
        _shot(page, "overview-drill")
        page.get_by_role("button", name="Open all of them in Posts").click()
        _settle(page)
        expect(page.get_by_text("13 shown").first).to_be_visible()  # a0 and its 12 reposts
        assert "page=posts" in page.url
        _shot(page, "posts-drill")
        browser.close()
