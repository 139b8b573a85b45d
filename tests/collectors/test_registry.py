"""The registry (entry points, built-ins through the same door) and the collector contract."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest

from listener.collectors import Collector, Page, RetryPolicy, Unit, registry
from listener.errors import ConfigError
from listener.post import Batch
from listener.settings import Secret, Settings
from listener.store import Brand
from tests.collectors.fake_apis import one_pass

REPO = Path(__file__).resolve().parents[2]
ECHO = f"{__name__}:EchoCollector"


class EchoCollector(Collector):
    """A third-party collector as a plugin would write it."""

    name = "echo"
    title = "Echo"

    @classmethod
    def from_settings(cls, settings, policy):
        collector = cls()
        collector.policy = policy
        return collector

    @staticmethod
    def classify(exc):
        return None

    def units(self, brands: Sequence[Brand], *, brand_filter: bool = False) -> list[Unit]:
        return [Unit(f"echo:{b.query}", f"echo {b.name}", b.name) for b in brands]

    def fetch(self, unit: Unit, cursor: str | None) -> Iterator[Page]:
        yield Page(Batch(), cursor="done")


@pytest.fixture(autouse=True)
def fresh_registry():
    registry._entry_points.cache_clear()
    yield
    registry._entry_points.cache_clear()


def with_plugins(monkeypatch, *eps: EntryPoint) -> None:
    """The installed entry points as they are, plus `eps` (from no distribution: plugins)."""
    installed = list(entry_points(group=registry.GROUP))
    monkeypatch.setattr(registry, "entry_points",
                        lambda group: [*installed, *(e for e in eps if e.group == group)])
    registry._entry_points.cache_clear()


def declared_in_pyproject() -> dict[str, str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"][
        registry.GROUP]


def test_the_builtins_are_the_entry_points_pyproject_declares():
    installed = {ep.name: ep.value for ep in entry_points(group=registry.GROUP)
                 if ep.dist is not None and ep.dist.name == "undertow"}
    assert installed == declared_in_pyproject(), "pyproject.toml changed: run make install"
    assert registry.available() == ["bluesky", "mastodon", "news", "reddit", "x"]
    assert registry.load("x").__name__ == "XCollector"


def test_a_plugin_registers_through_the_same_door(monkeypatch, sqlite_store, settings):
    with_plugins(monkeypatch, EntryPoint("echo", ECHO, registry.GROUP))
    assert registry.available() == ["bluesky", "echo", "mastodon", "news", "reddit", "x"]
    cls = registry.load("echo")
    sqlite_store.add_brand("Acme", "acme")
    result = one_pass(sqlite_store, cls.from_settings(settings, RetryPolicy("Echo", cls.classify)))
    assert result.failures == []
    assert sqlite_store.get_cursor("echo", "echo:acme") == "done"


def test_a_plugin_entry_point_replaces_a_builtin(monkeypatch):
    with_plugins(monkeypatch, EntryPoint("x", ECHO, registry.GROUP))
    assert registry.load("x") is EchoCollector


def test_bad_names_and_bad_entry_points_are_config_errors(monkeypatch):
    with_plugins(monkeypatch, EntryPoint("bad", "listener.post:Post", registry.GROUP))
    with pytest.raises(ConfigError, match="No collector named 'nope'; available: bad, bluesky, mastodon, news, reddit, x"):
        registry.load("nope")
    with pytest.raises(ConfigError, match="not a Collector"):
        registry.load("bad")


def test_no_registered_collectors_says_to_install(monkeypatch):
    monkeypatch.setattr(registry, "entry_points", lambda group: [])
    registry._entry_points.cache_clear()
    with pytest.raises(ConfigError, match="make install"):
        registry.available()


@pytest.mark.parametrize("name", registry.available())
def test_every_registered_collector_honours_the_contract(name, settings, tmp_path):
    cls = registry.load(name)
    assert cls.name == name and cls.title and cls.default_interval > 0
    assert cls.classify(KeyError("not an API fault")) is None
    policy = RetryPolicy(cls.title, cls.classify)
    empty = Settings.load(env={"UNDERTOW_HOME": str(tmp_path)}, env_file=tmp_path / "no.env")
    for field, value in vars(settings).items():
        empty.__dict__.setdefault(field, value)  # settings this suite adds (see conftest)
    if cls.env_vars:
        with pytest.raises(ConfigError) as err:
            cls.from_settings(empty, policy)
        assert any(var in str(err.value) for var in cls.env_vars)
    for var in cls.env_vars:  # every credential set to a placeholder; nothing is requested
        name = var.removeprefix("UNDERTOW_").lower()
        value = "https://test.example"
        setattr(settings, name, Secret(value) if isinstance(getattr(settings, name), Secret)
                else value)
    collector = cls.from_settings(settings, policy)
    assert collector.policy is policy
    brands = [Brand(1, "Acme", "acme OR #acme", None, {}), Brand(2, "Zed", "zed", None, {})]
    units = collector.units(brands)
    assert len({u.key for u in units}) == len(units)
    assert [u.key for u in collector.units(brands)] == [u.key for u in units]  # stable keys
    assert {u.brand for u in collector.units(brands, brand_filter=True)} == {"Acme", "Zed"}


def test_settings_has_the_collector_fields(tmp_path):
    env = {"UNDERTOW_REDDIT_WATCH": "askreddit, r/unitedairlines",
           "UNDERTOW_REDDIT_SUBREDDITS": "travel", "UNDERTOW_X_BACKFILL_HOURS": "24"}
    loaded = Settings.load(env=env, env_file=tmp_path / "no.env")
    assert getattr(loaded, "reddit_watch", None) == "askreddit, r/unitedairlines"
    assert getattr(loaded, "reddit_subreddits", None) == "travel"
    assert float(getattr(loaded, "x_backfill_hours", None) or 0) == 24
    for name in ("bluesky_handle", "bluesky_app_password", "bluesky_service",
                 "mastodon_instances", "mastodon_access_token", "news_feeds"):
        assert hasattr(loaded, name)
