"""Severity levels: the one table that names a severity (0-1) "low", "medium" or "high".

The detector labels its stories with it, the store decides re-opening by it, delivery decides
what is worth an email or a chat post by it, and the dashboard and emails colour by it. It lives
in `graph` because the detector (a pure library) needs it and everything else may import graph.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LEVELS", "REPORT_FROM", "Level", "level", "named", "rank"]


@dataclass(frozen=True, slots=True)
class Level:
    name: str
    floor: float  # the lowest severity at this level
    colour: str  # for emails and the dashboard


# Lowest first: a level's rank is its index.
LEVELS = (Level("low", 0.0, "#7f8c8d"), Level("medium", 0.7, "#e67e22"),
          Level("high", 0.9, "#c0392b"))
# A story is an alert from this severity on; below it the store keeps a watch item.
REPORT_FROM = LEVELS[1].floor


def level(severity: float) -> Level:
    """The highest level whose floor `severity` reaches (below every floor counts as the lowest)."""
    return next((lv for lv in reversed(LEVELS) if severity >= lv.floor), LEVELS[0])


def rank(severity: float | None) -> int:
    """0 for low, 1 for medium, 2 for high; -1 for no severity (an alert never notified)."""
    return -1 if severity is None else LEVELS.index(level(severity))


def named(name: str) -> Level:
    """The level called `name` (any case); ValueError naming the choices otherwise."""
    for lv in LEVELS:
        if lv.name == name.strip().lower():
            return lv
    raise ValueError(f"{name!r} is not a level: use one of {', '.join(lv.name for lv in LEVELS)}")
