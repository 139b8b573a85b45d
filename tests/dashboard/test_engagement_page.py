"""The Engagement page: the support conversations' response times as the files give them."""

from __future__ import annotations

import numpy as np
import pytest
from dash_seed import make_app
from test_pages import open_page, texts

from listener.store import Store
from tests.support_conversations import (
    COMPANIES,
    first_response_minutes,
    load_support,
    raw_conversations,
)


@pytest.fixture
def support_url(tmp_path, monkeypatch, shared_data) -> str:
    url = f"sqlite:///{tmp_path / 'support.db'}"
    store = Store.open(url)
    load_support(store, shared_data)
    store.close()
    monkeypatch.setenv("UNDERTOW_DATABASE_URL", url)
    monkeypatch.delenv("UNDERTOW_DASHBOARD_PASSWORD", raising=False)
    return url


def test_the_page_shows_each_companys_response_times(support_url, shared_data):
    expected = first_response_minutes(raw_conversations(shared_data), COMPANIES)
    at = make_app()
    at.run()
    at.sidebar.selectbox(key="f_range").set_value("All time").run()
    open_page(at, "views/engagement.py")
    table = at.dataframe[0].value.set_index("name")
    for company in COMPANIES:
        times = [m for m in expected[company] if m is not None]
        assert table.loc[company, "median_min"] == pytest.approx(float(np.median(times)))
        assert table.loc[company, "p90_min"] == pytest.approx(float(np.percentile(times, 90)))
        assert table.loc[company, "answered"] == len(times)
    # One brand: its KPIs as metrics, and its queue (questions nobody answered).
    at.sidebar.selectbox(key="f_brand").set_value("AppleSupport").run()
    assert not at.exception
    apple = [m for m in expected["AppleSupport"] if m is not None]
    shown = {m.label: m.value for m in at.metric}
    assert shown["Median first response"] == f"{np.median(apple):,.0f} min"
    assert "Did replying help?" in texts(at) and "answer on the platform" in texts(at)
    queue = at.dataframe[1].value
    assert len(queue) and queue["link"].str.startswith("https://x.com/").all()
    # The brand's own posts are shown, as its answers (never as its mentions).
    answers = at.dataframe[2].value
    assert len(answers) == len(apple) and set(answers["account"]) == {"AppleSupport"}


def test_brands_without_accounts_are_told_why_everything_looks_unanswered(app):
    open_page(app, "views/engagement.py")
    assert "No own accounts for Acme, Globex, Initech" in texts(app).replace("\\", "")
    assert len(app.dataframe[1].value) > 0
