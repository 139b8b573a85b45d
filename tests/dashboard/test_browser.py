"""End to end: `streamlit run` on a seeded store, driven through every page in headless Chromium.

Uses Debian's chromium (scripts/install-browser.sh), never a browser Playwright downloads.
Screenshots land in test-artifacts/ (look at them). Skips only where Chromium is absent and this
is not CI; under CI=true a missing browser fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dash_seed import T0, XSS_HANDLE, XSS_TEXTS, seed_small

from listener.post import Author, Batch, Post
from listener.store import Store, schema
from scripts.chromium_kit import ARGS, CHROMIUM, full_page_shot, served_dashboard, settle

__all__ = ["ARGS", "ARTIFACTS", "CHROMIUM", "need_chromium", "seeded_small_store", "serve"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
XSS_TITLE = "<img src=x onerror=alert(7)> Acme complaint spreading"

pytestmark = pytest.mark.browser


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: CI must run the browser test "
                        "(bash scripts/install-browser.sh)")
        pytest.skip(f"{CHROMIUM} is absent: install it with bash scripts/install-browser.sh")


serve = served_dashboard


def seeded_small_store(tmp_path: Path, name: str, then=None) -> tuple[str, object]:
    """The URL of a small seeded SQLite store (dash_seed), and what `then(store)` returned,
    run on it before it closes; skips (or fails under CI) without Chromium."""
    need_chromium()
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    store = Store.open(url)
    seed_small(store)
    result = then(store) if then else None
    store.close()
    return url, result


@pytest.fixture
def server(tmp_path):
    need_chromium()
    url = f"sqlite:///{tmp_path / 'browser.db'}"
    store = Store.open(url)
    seed_small(store)
    store.write(Batch(authors=[Author("x", "evil", handle=XSS_HANDLE, followers=5)],
                      posts=[Post("x", f"xss{i}", "evil", t, T0) for i, t in enumerate(XSS_TEXTS)]))
    with store.engine.begin() as conn:
        conn.execute(schema.alerts.update().where(schema.alerts.c.story_key == "a0")
                     .values(title=XSS_TITLE))
    store.close()
    with serve(url, tmp_path) as base:
        yield base


_settle = settle


def _shot(page, name: str) -> None:
    full_page_shot(page, ARTIFACTS / f"dashboard-{name}.png", 1400)


def test_every_page_in_a_real_browser(server):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=30_000)  # two shared cores: a first load can take seconds
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server)
        nav = page.get_by_test_id("stSidebarNav")

        _settle(page)
        expect(page.get_by_test_id("stMetricValue").first).to_have_text("114")  # + 2 hostile
        expect(page.get_by_text("Mention volume").first).to_be_visible()
        _shot(page, "overview")

        nav.get_by_role("link", name="Alerts").click()
        _settle(page)
        expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
        # The hostile title shows as text; no <img src=x> reached the DOM.
        expect(page.get_by_role("heading", name=XSS_TITLE)).to_be_visible()
        assert page.locator("img[src='x']").count() == 0
        _shot(page, "alerts")

        nav.get_by_role("link", name="Posts").click()
        _settle(page)
        page.get_by_label("Text contains").fill("alert(")
        page.keyboard.press("Enter")
        _settle(page)
        expect(page.get_by_text("2 shown")).to_be_visible()
        _shot(page, "posts")

        nav.get_by_role("link", name="Engagement").click()
        _settle(page)
        expect(page.get_by_role("heading", name="Unanswered, riskiest first")).to_be_visible()
        expect(page.get_by_text("No own accounts for Acme").first).to_be_visible()
        _shot(page, "engagement")

        nav.get_by_role("link", name="Influencers").click()
        _settle(page)
        expect(page.get_by_text("Ranking run").first).to_be_visible()
        # The table is a canvas: select the first row by clicking its checkbox cell.
        box = page.get_by_test_id("stDataFrame").first.bounding_box()
        page.mouse.click(box["x"] + 16, box["y"] + 35 + 17)
        _settle(page)
        expect(page.get_by_text("Author: user0")).to_be_visible()
        _shot(page, "influencers")

        nav.get_by_role("link", name="Graph explorer").click()
        _settle(page)
        expect(page.get_by_text("Showing 18 of 18 authors")).to_be_visible()
        # The network's written-out Vega-Lite spec draws (as SVG): one circle per author.
        circles = page.get_by_test_id("stVegaLiteChart").first.locator(
            "path[aria-roledescription='circle']")
        expect(circles.first).to_be_visible()
        assert circles.count() == 18
        with page.expect_download() as download:
            page.get_by_role("button", name="Download GEXF").click()
        assert Path(download.value.path()).read_text().startswith("<?xml")
        _shot(page, "graph")

        # The filters persist: pick a brand here, it is still picked on the Overview.
        page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="Globex").click()
        _settle(page)
        nav.get_by_role("link", name="Overview").click()
        _settle(page)
        expect(page.get_by_test_id("stMetricValue").first).to_have_text("30")
        browser.close()
    assert dialogs == []  # no script from a post, handle or title ever ran
