"""Drill-down: from a point or bar a user selected on a chart to the posts behind it.

Charts carry a point selection named `PICK` over the fields that identify a mark (brand and
time, label and time, brand). `from_event` turns Streamlit's selection event into a `Drill` (the
post filter it means); `show` lists its newest posts under the chart and offers the Posts page,
which reads the same `Drill` from the session ("drill").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

PICK = "pick"
UNIT = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


@dataclass(frozen=True)
class Drill:
    """Posts of some brands in [since, until), optionally of one model label; `what` says it."""

    brand_ids: tuple[int, ...]
    since: datetime
    until: datetime
    labels: tuple[str, ...] | None
    what: str
    theme: tuple[int, int] | None = None  # (brand id, theme id): a found theme's posts


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    t = pd.to_datetime(value, unit="ms", utc=True) if isinstance(value, int | float) \
        else pd.to_datetime(value, utc=True)
    return None if pd.isna(t) else t.to_pydatetime()


def picked(event: Any) -> list[dict[str, Any]]:
    """The selected data of a chart's selection event ([] when nothing is selected)."""
    selection = getattr(event, "selection", None) if not isinstance(event, Mapping) else \
        event.get("selection")
    if not selection:
        return []
    points = selection.get(PICK) if isinstance(selection, Mapping) else None
    return [p for p in points or [] if isinstance(p, Mapping)]


def from_point(point: Mapping[str, Any], brands: Mapping[str, int], scope: tuple[int, ...],
               since: datetime, until: datetime, unit: str) -> Drill | None:
    """The posts one selected mark stands for: its brand (else the page's brands), its hour or
    day (else the window) and its label (else any)."""
    names = {v: k for k, v in brands.items()}
    brand = point.get("brand")
    ids = (brands[brand],) if brand in brands else scope
    if not ids:
        return None
    start = _time(point.get("time"))
    if start is not None:
        since, until = start, start + UNIT[unit]
    label = point.get("label")
    labels = (str(label),) if label else None
    who = names[ids[0]] if len(ids) == 1 else f"{len(ids)} brands"
    when = f"{since:%d %b %Y %H:%M} to {until:%d %b %Y %H:%M} UTC"
    return Drill(ids, since, until, labels, f"{who}, {when}" + (f", {label}" if label else ""))


def from_theme(brand_id: int, brand: str, theme_id: int, name: str, since: datetime,
               until: datetime) -> Drill:
    """The posts of one found complaint theme of one brand in the window."""
    return Drill((brand_id,), since, until, None,
                 f"{brand}, theme \"{name}\", {since:%d %b %Y} to {until:%d %b %Y}",
                 (brand_id, theme_id))


def from_event(event: Any, brands: Mapping[str, int], scope: tuple[int, ...], since: datetime,
               until: datetime, unit: str) -> Drill | None:
    points = picked(event)
    return from_point(points[0], brands, scope, since, until, unit) if points else None


__all__ = ["PICK", "Drill", "from_event", "from_point", "from_theme", "picked"]
