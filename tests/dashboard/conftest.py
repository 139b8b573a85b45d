"""Fixtures for the dashboard tests: seeded SQLite stores and an AppTest on them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).parent))

from dash_seed import make_app, seed_small  # noqa: E402

from listener.store import Store  # noqa: E402


@pytest.fixture
def empty_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Store.open(url).close()
    monkeypatch.setenv("UNDERTOW_DATABASE_URL", url)
    monkeypatch.delenv("UNDERTOW_DASHBOARD_PASSWORD", raising=False)
    return url


@pytest.fixture
def seeded(tmp_path, monkeypatch) -> Store:
    """The small store of `dash_seed.seed_small`, named by UNDERTOW_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    store = Store.open(url)
    seed_small(store)
    monkeypatch.setenv("UNDERTOW_DATABASE_URL", url)
    monkeypatch.delenv("UNDERTOW_DASHBOARD_PASSWORD", raising=False)
    yield store
    store.close()


@pytest.fixture
def app(seeded) -> AppTest:
    at = make_app()
    at.run()
    assert not at.exception, at.exception
    return at
