"""Collectors are found through the `undertow.collectors` entry-point group, and only there.

Built-in collectors go through the same door as third-party ones: pyproject.toml declares them as
entry points, one line each, so adding a platform is its collector module, its mapping and that
line (`make install` rereads pyproject.toml when it changes). A plugin's entry point of the
same name as a built-in wins, so a plugin can replace one.

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

__all__ = ["GROUP", "available", "declared_settings", "load", "with_ability"]

GROUP = "undertow.collectors"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    # Scanning installed distributions takes ~0.1 s; plugins do not appear mid-run.
    # Undertow's own first, so that a plugin's of the same name replaces it.
    eps = sorted(entry_points(group=GROUP), key=lambda ep: _distribution(ep) != "undertow")
    found = {ep.name: ep for ep in eps}
    if not found:
        raise ConfigError(f"No collectors registered under the {GROUP!r} entry points: install "
                          "Undertow (make install, or pip install -e .) so its own are found")
    return found


def _distribution(ep: EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else None


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
