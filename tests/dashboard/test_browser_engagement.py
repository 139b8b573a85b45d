"""One real page load of the Engagement page on the support conversations, in headless Chromium."""

from __future__ import annotations

import numpy as np
import pytest
from test_browser import ARGS, ARTIFACTS, CHROMIUM, _settle, _shot, need_chromium, serve

from listener.store import Store
from tests.support_conversations import first_response_minutes, load_support, raw_conversations

pytestmark = pytest.mark.browser


def test_engagement_page_in_a_real_browser(tmp_path, shared_data):
    from playwright.sync_api import expect, sync_playwright

    need_chromium()
    url = f"sqlite:///{tmp_path / 'support.db'}"
    store = Store.open(url)
    load_support(store, shared_data, ["AppleSupport", "AmazonHelp"])
    store.close()
    apple = [m for m in first_response_minutes(raw_conversations(shared_data),
                                               ["AppleSupport", "AmazonHelp"])["AppleSupport"]
             if m is not None]
    ARTIFACTS.mkdir(exist_ok=True)
    expect.set_options(timeout=30_000)
    with serve(url, tmp_path) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base)
        _settle(page)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_test_id("stSelectbox").nth(0).click()
        page.get_by_role("option", name="AppleSupport").click()
        _settle(page)
        sidebar.get_by_test_id("stSelectbox").nth(1).click()
        page.get_by_role("option", name="All time").click()
        _settle(page)
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Engagement").click()
        _settle(page)
        metric = page.get_by_test_id("stMetric").filter(has_text="Median first response")
        expect(metric.get_by_test_id("stMetricValue")).to_have_text(f"{np.median(apple):,.0f} min")
        expect(page.get_by_role("heading", name="Did replying help?")).to_be_visible()
        _shot(page, "engagement-support")
        browser.close()
