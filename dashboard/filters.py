"""The sidebar's filters (brand, platforms, window, comparison), read from and written to the URL.

The widgets live in the entry script, so their values persist across pages. On a session's
first run the URL (`dashboard.url_state`) presets them; on every run the address bar is
rewritten to say the current view, so it can be bookmarked or sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import streamlit as st

from dashboard import url_state

RANGES: dict[str, timedelta | None] = {
    "Last 24 hours": timedelta(hours=24),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
    "All time": None,
}
CUSTOM = "Chosen dates"
RANGE_KEYS = {"Last 24 hours": "24h", "Last 7 days": "7d", "Last 30 days": "30d", "All time": "all"}
COMPARE = {"previous": "The period before", "custom": "Chosen dates", "none": "No comparison"}
ALL_BRANDS = "All brands"


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices, resolved: brand ids, platforms (None = all), the window
    [since, until) and the period it is compared with (None = no comparison)."""

    brand: str
    brand_ids: tuple[int, ...]
    platforms: tuple[str, ...] | None
    since: datetime
    until: datetime
    compare_since: datetime | None
    compare_until: datetime | None
    range_name: str

    @property
    def unit(self) -> str:
        return "hour" if self.until - self.since <= timedelta(days=8) else "day"

    @property
    def brand_id(self) -> int | None:
        return self.brand_ids[0] if self.brand != ALL_BRANDS else None

    @property
    def previous_since(self) -> datetime:
        """Start of the period just before the window, as long as it (the default comparison)."""
        return self.since - (self.until - self.since)

    def window(self) -> tuple:
        return (self.platforms, self.since, self.until)

    def compared(self) -> tuple | None:
        """(platforms, since, until) of the comparison period, or None."""
        if self.compare_since is None or self.compare_until is None:
            return None
        return (self.platforms, self.compare_since, self.compare_until)

    @property
    def compare_label(self) -> str:
        if self.compare_since is None:
            return "no comparison"
        return f"compared with {span_text(self.compare_since, self.compare_until)}"


def span_text(since: datetime, until: datetime) -> str:
    """A window as people read it: '5 Jan 2026 00:00 to 7 Jan 2026 00:00 UTC'."""
    return f"{since:%d %b %Y %H:%M} to {until:%d %b %Y %H:%M} UTC"


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def _dates(value: Any) -> tuple[date, date] | None:
    """A date_input range as (first, last); one day while the user has picked only one end."""
    if isinstance(value, list | tuple) and value and all(value):
        return value[0], value[-1]
    return None


def _preset(f: dict[str, Any], names: list[str]) -> None:
    """Once per session: put what the URL says into the widgets' state before they draw."""
    ss = st.session_state
    if ss.get("_url_read"):
        return
    ss["_url_read"] = True
    u = url_state.read(st.query_params)
    if u.brand in names:
        ss["f_brand"] = u.brand
    if u.platforms and (chosen := [p for p in u.platforms if p in f["platforms"]]):
        ss["f_platforms"] = chosen
    if u.since and u.until:
        ss["f_range"] = CUSTOM
        ss["f_dates"] = (u.since.date(), (u.until - timedelta(microseconds=1)).date())
        ss["_url_window"] = (u.since, u.until)  # hours survive when the dates are not changed
    elif u.range:
        ss["f_range"] = {v: k for k, v in RANGE_KEYS.items()}[u.range]
    if u.compare == "custom":
        ss["f_compare"] = "custom"
        ss["f_cdates"] = (u.compare_since.date(),
                          (u.compare_until - timedelta(microseconds=1)).date())
        ss["_url_compare"] = (u.compare_since, u.compare_until)
    elif u.compare:
        ss["f_compare"] = u.compare
    if u.post is not None:
        ss["post_id"] = u.post
    if u.author is not None:
        ss["author_id"] = u.author
    ss["_url_page"] = u.page


def _window(key: str, exact_key: str, default: tuple[date, date]) -> tuple[datetime, datetime]:
    """A picked date range as [first midnight, day after last): the URL's exact hours when
    it gave them and the widget still shows their dates."""
    picked = _dates(st.session_state.get(key)) or default
    exact = st.session_state.get(exact_key)
    if exact and (exact[0].date(), (exact[1] - timedelta(microseconds=1)).date()) == picked:
        return exact
    return _midnight(picked[0]), _midnight(picked[1]) + timedelta(days=1)


def sidebar_filters(f: dict[str, Any]) -> Filters | None:
    """Draw the filters and resolve them; None when the store has no posts yet."""
    brands = f["brands"]
    names = [ALL_BRANDS] + [b["name"] for b in brands]
    _preset(f, names)
    bar = st.sidebar
    brand = bar.selectbox("Brand", names, key="f_brand")
    ss = st.session_state
    # A widget gets a default only when the URL has not preset it (Streamlit warns on both).
    ss.setdefault("f_platforms", list(f["platforms"]))
    ss.setdefault("f_range", "Last 7 days")
    platforms = bar.multiselect("Platforms", f["platforms"], key="f_platforms")
    range_name = bar.selectbox("Time range", [*RANGES, CUSTOM], key="f_range")
    if f["last"] is None:
        return None
    first_day, last_day = f["first"].date(), f["last"].date()
    newest = f["last"].replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if range_name == CUSTOM:
        week = (max(first_day, last_day - timedelta(days=6)), last_day)
        if _dates(st.session_state.get("f_dates")) is None:
            st.session_state["f_dates"] = week
        bar.date_input("Dates (UTC, inclusive)", key="f_dates", min_value=first_day,
                       max_value=last_day + timedelta(days=1), format="YYYY-MM-DD")
        since, until = _window("f_dates", "_url_window", week)
    else:
        until = newest
        since = until - (RANGES[range_name] or (until - f["first"].replace(
            minute=0, second=0, microsecond=0)))
    mode = bar.selectbox("Compare with", list(COMPARE), format_func=COMPARE.get, key="f_compare")
    c_since = c_until = None
    if mode == "previous":
        c_since, c_until = since - (until - since), since
    elif mode == "custom":
        span = until - since
        before = ((since - span).date(), (since - timedelta(microseconds=1)).date())
        if _dates(st.session_state.get("f_cdates")) is None:
            st.session_state["f_cdates"] = before
        bar.date_input("Comparison dates (UTC, inclusive)", key="f_cdates",
                       format="YYYY-MM-DD")
        c_since, c_until = _window("f_cdates", "_url_compare", before)
    bar.caption(f"Window: {span_text(since, until)}"
                + (", ending at the newest stored post." if range_name != CUSTOM else ".")
                + (f" Compared with {span_text(c_since, c_until)}." if c_since else ""))
    if brand == ALL_BRANDS:
        ids = tuple(b["id"] for b in brands)
    else:
        ids = tuple(b["id"] for b in brands if b["name"] == brand)
    chosen = tuple(sorted(platforms)) if platforms else tuple(f["platforms"])
    label = range_name if range_name != CUSTOM else span_text(since, until)
    return Filters(brand=brand, brand_ids=ids,
                   platforms=None if set(chosen) == set(f["platforms"]) else chosen,
                   since=since, until=until, compare_since=c_since, compare_until=c_until,
                   range_name=label)


def sync_url(fl: Filters | None, page: str) -> None:
    """Rewrite the address bar to say this view (page, filters, selected post and author);
    keeps parameters other modules own (`alert`, unknown ones)."""
    ss = st.session_state
    current = url_state.read(st.query_params)
    state = url_state.UrlState(page=page, alert=current.alert, post=ss.get("post_id"),
                               author=ss.get("author_id"))
    if fl is not None:
        custom = ss.get("f_range") == CUSTOM
        mode = ss.get("f_compare", "previous")
        state = state.with_(
            brand=None if fl.brand == ALL_BRANDS else fl.brand, platforms=fl.platforms,
            since=fl.since if custom else None, until=fl.until if custom else None,
            range=None if custom else RANGE_KEYS.get(ss.get("f_range", ""), None),
            compare=mode if mode != "previous" else None,
            compare_since=fl.compare_since if mode == "custom" else None,
            compare_until=fl.compare_until if mode == "custom" else None)
        if state.range == "7d":
            state = state.with_(range=None)  # the default says nothing
    want = {**url_state.params(state), **dict(current.extra)}
    if want != st.query_params.to_dict():
        st.query_params.from_dict(want)
