"""End to end in Chromium: the link every alert email and chat post carries,
UNDERTOW_DASHBOARD_URL/?alert=ID, lands on that alert on the Alerts page (not on the most
severe one, which the page shows by default), and the routing panel opens there."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from test_browser import ARGS, ARTIFACTS, CHROMIUM, _settle, _shot, seeded_small_store, serve

from listener.store import schema

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path):
    def story_g(store):
        with store.engine.connect() as conn:
            return conn.execute(select(schema.alerts.c.id, schema.alerts.c.title)
                                .where(schema.alerts.c.story_key == "g")).one()

    url, target = seeded_small_store(tmp_path, "link", story_g)
    with serve(url, tmp_path) as address:
        yield address, target


def _shown(title: str) -> re.Pattern:
    """A title as md() draws it: an invisible word joiner after each '.', ':' and '@'."""
    return re.compile("".join(re.escape(c) + ("\u2060?" if c in ".:@" else "") for c in title))


def test_an_alert_link_opens_that_alert(served):
    from playwright.sync_api import expect, sync_playwright

    base, (alert_id, title) = served
    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{base}/?alert={alert_id}")
        _settle(page)
        expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
        # The linked alert (Globex, acknowledged, severity 0.55), not Acme's 0.91 default.
        expect(page.get_by_role("heading", name=_shown(title))).to_be_visible()
        expect(page.get_by_role("heading", name=_shown("Acme: 'lost my parcel'"))
               ).to_have_count(0)
        assert "/alerts" in page.url and f"alert={alert_id}" in page.url
        page.get_by_text("Routing: who is told").click()
        _settle(page)
        # The table is a canvas (no text in the DOM); its caption is text.
        expect(page.get_by_text("Set with").first).to_be_visible()
        _shot(page, "alert-link")
        browser.close()
