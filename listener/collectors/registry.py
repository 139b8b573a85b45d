"""Collectors are found through the `undertow.collectors` entry-point group.

Built-in collectors go through the same door as third-party ones: pyproject.toml declares them as
entry points. `BUILTIN` repeats those declarations as EntryPoint objects, loaded by the same code,
so a checkout whose package metadata predates a new built-in (not reinstalled yet) still has it.
An installed entry point of the same name wins, so a plugin can replace a built-in.

What the rest of Undertow needs to know about the sources is read from here: the settings they
declare (`declared_settings`, for listener.settings and the docs) and who has which optional
ability (`with_ability`, e.g. the platforms `undertow compliance` checks).
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from listener.collectors.base import Collector
from listener.errors import ConfigError
from listener.settings import Setting

__all__ = ["BUILTIN", "GROUP", "available", "declared_settings", "load", "with_ability"]

GROUP = "undertow.collectors"
BUILTIN = (
    EntryPoint("x", "listener.collectors.x:XCollector", GROUP),
    EntryPoint("reddit", "listener.collectors.reddit:RedditCollector", GROUP),
    EntryPoint("bluesky", "listener.collectors.bluesky:BlueskyCollector", GROUP),
    EntryPoint("mastodon", "listener.collectors.mastodon:MastodonCollector", GROUP),
    EntryPoint("news", "listener.collectors.news:NewsCollector", GROUP),
)


@cache
def _entry_points() -> dict[str, EntryPoint]:
    # Scanning installed distributions takes ~0.1 s; plugins do not appear mid-run.
    found = {ep.name: ep for ep in BUILTIN}
    found.update({ep.name: ep for ep in entry_points(group=GROUP)})
    return found


def available() -> list[str]:
    """Names of every registered collector, sorted."""
    return sorted(_entry_points())


def load(name: str) -> type[Collector]:
    """The collector class registered as `name`."""
    eps = _entry_points()
    if name not in eps:
        raise ConfigError(f"No collector named {name!r}; available: {', '.join(sorted(eps))}")
    cls = eps[name].load()
    if not (isinstance(cls, type) and issubclass(cls, Collector)):
        raise ConfigError(f"Entry point {name!r} ({eps[name].value}) is not a Collector subclass")
    return cls


def with_ability(ability: type) -> list[str]:
    """Names of the registered collectors that have `ability` (a base.py mixin), sorted."""
    return [name for name in available() if issubclass(load(name), ability)]


def declared_settings() -> dict[str, Setting]:
    """Every setting the registered collectors declare, by name, in registry order.

    Two collectors declaring one name would read one variable two ways: a ConfigError.
    """
    found: dict[str, Setting] = {}
    owner: dict[str, str] = {}
    for name in available():
        for setting in load(name).config:
            if setting.name in owner:
                raise ConfigError(f"{setting.env} is declared by both {owner[setting.name]} and "
                                  f"{name}; one collector must rename it")
            found[setting.name], owner[setting.name] = setting, name
    return found
