"""docs/collectors.md's worked example, run as written: its mapping and collector modules and its
entry-point line make a source that Undertow registers, configures and collects from."""

from __future__ import annotations

import json
import re
import sys
import tomllib
import types
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest
import responses

from listener.collectors import RetryPolicy, registry
from listener.settings import Settings
from tests.collectors.fake_apis import one_pass

DOC = Path(__file__).resolve().parents[2] / "docs" / "collectors.md"
FEED = "https://blog.example/feed.json"
# A JSON Feed 1.1 document as a site serves it (jsonfeed.org/version/1.1).
BODY = {
    "version": "https://jsonfeed.org/version/1.1", "title": "Example blog",
    "home_page_url": "https://blog.example/", "feed_url": FEED,
    "items": [
        {"id": "https://blog.example/2025/03/lyon", "url": "https://blog.example/2025/03/lyon",
         "content_text": "Acme Air cancels every Lyon flight", "author": {"name": "Ed"},
         "date_published": "2025-03-10T09:00:00+00:00"},
        {"id": "https://blog.example/2025/03/porto", "url": "https://blog.example/2025/03/porto",
         "title": "Zephyr opens a Porto route", "date_published": "2025-03-09T12:30:00+00:00"},
        {"url": "https://blog.example/no-id", "content_text": "an item without an id",
         "date_published": "2025-03-08T08:00:00+00:00"},
    ],
}


def example() -> tuple[list[str], dict[str, str]]:
    """The Python blocks and the entry-point table of the page's "Adding a collector"."""
    section = DOC.read_text().split("## Adding a collector", 1)[1]
    python = re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)
    toml = re.findall(r"^```toml\n(.*?)^```", section, re.S | re.M)
    assert len(python) == 2 and len(toml) == 1
    return python, tomllib.loads(toml[0])["project"]["entry-points"][registry.GROUP]


@pytest.fixture
def jsonfeed(monkeypatch):
    """The example's modules importable under the names the page gives them, and its entry
    point registered beside the installed ones."""
    (mapping, collector), declared = example()
    for name, code in (("listener.mapping.jsonfeed", mapping),
                       ("listener.collectors.jsonfeed", collector)):
        module = types.ModuleType(name)
        monkeypatch.setitem(sys.modules, name, module)
        exec(compile(code, f"{DOC}:{name}", "exec"), module.__dict__)  # noqa: S102
    extra = [EntryPoint(name, value, registry.GROUP) for name, value in declared.items()]
    installed = list(entry_points(group=registry.GROUP))
    monkeypatch.setattr(registry, "entry_points", lambda group: [*installed, *extra])
    registry._entry_points.cache_clear()
    yield list(declared)
    registry._entry_points.cache_clear()


def test_the_worked_example_registers_configures_and_collects(jsonfeed, sqlite_store, tmp_path):
    assert jsonfeed == ["jsonfeed"]
    assert "jsonfeed" in registry.available()
    assert {"jsonfeed_feeds", "jsonfeed_timeout"} <= set(registry.declared_settings())
    cls = registry.load("jsonfeed")
    settings = Settings.load(env={"UNDERTOW_HOME": str(tmp_path), "UNDERTOW_JSONFEED_FEEDS": FEED,
                                  "UNDERTOW_JSONFEED_TIMEOUT": "5"},
                             env_file=tmp_path / "absent.env")
    assert settings.jsonfeed_timeout == 5.0
    sqlite_store.add_brand("Acme", "acme")
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, FEED, body=json.dumps(BODY), content_type="application/feed+json")
        first = one_pass(sqlite_store, cls.from_settings(settings,
                                                         RetryPolicy(cls.title, cls.classify)))
        second = one_pass(sqlite_store, cls.from_settings(settings,
                                                          RetryPolicy(cls.title, cls.classify)))
    assert first.failures == [] and first.inserted == 2
    assert first.skipped == [f"{FEED}: an item without an id"]
    assert second.inserted == 0 and sqlite_store.status()["posts"] == 2


def test_the_worked_example_is_in_the_cli_help(jsonfeed):
    import click

    from listener.cli.collect import collect

    assert "jsonfeed" in collect.get_help(click.Context(collect))
