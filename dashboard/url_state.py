"""The dashboard's URL scheme: one module reads and writes every query parameter, so a view can be
bookmarked or linked (an alert email links to its alert) and a new parameter is added in one place.

Parameters (all optional; an unknown or malformed value is ignored, never an error page):

    page       overview | alerts | posts | engagement | influencers | graph
    brand      a brand name, as in the sidebar ("All brands" when absent)
    platforms  comma-separated platforms ("x,reddit"); absent = all
    from, to   the window, ISO dates or times in UTC (2026-01-05 or 2026-01-05T14:00); `to` is
               exclusive; a date alone means its midnight, so to=2026-01-06 includes the 5th
    range      24h | 7d | 30d | all: a window ending at the newest post (ignored when from/to)
    compare    previous (default) | none | FROM..TO (a chosen period, ISO as above)
    post       a post id (the Posts page opens it)
    author     an author id (Influencers opens the author)
    alert      an alert id: reserved for the Alerts page (`ALERT`)

`read` turns parameters into a `UrlState`; `params` turns one back into parameters; `link`
builds a relative URL for a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

PAGES = ("overview", "alerts", "posts", "engagement", "influencers", "graph")
RANGES: dict[str, timedelta | None] = {"24h": timedelta(hours=24), "7d": timedelta(days=7),
                                       "30d": timedelta(days=30), "all": None}
COMPARE_PREVIOUS, COMPARE_NONE = "previous", "none"
ALERT = "alert"  # the Alerts page's parameter: an alert id
ORDER = ("page", "brand", "platforms", "from", "to", "range", "compare", "post", "author", ALERT)

__all__ = ["ALERT", "ORDER", "PAGES", "RANGES", "UrlState", "link", "params", "parse_time",
           "read"]


def parse_time(value: str | None) -> datetime | None:
    """An ISO date or date-time as an aware UTC datetime; None when absent or malformed."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.strip().replace(" ", "T").removesuffix("Z"))
    except ValueError:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _fmt(t: datetime) -> str:
    t = t.astimezone(UTC)
    return f"{t:%Y-%m-%d}" if (t.hour, t.minute, t.second) == (0, 0, 0) else f"{t:%Y-%m-%dT%H:%M}"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@dataclass(frozen=True)
class UrlState:
    """What the URL says; None = not given (the page's default applies)."""

    page: str | None = None
    brand: str | None = None
    platforms: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None
    range: str | None = None
    compare: str | None = None  # previous | none | custom (then compare_since/until)
    compare_since: datetime | None = None
    compare_until: datetime | None = None
    post: int | None = None
    author: int | None = None
    alert: int | None = None
    extra: Mapping[str, str] = field(default_factory=dict)  # parameters this module ignores

    def with_(self, **changes) -> UrlState:
        return replace(self, **changes)


def read(query: Mapping[str, str]) -> UrlState:
    """Parse query parameters (a dict or `st.query_params`); bad values are dropped."""
    get = {k: (v[-1] if isinstance(v, list) else v) for k, v in dict(query).items()}
    since, until = parse_time(get.get("from")), parse_time(get.get("to"))
    if not (since and until and until > since):  # a window needs both ends, in order
        since = until = None
    compare = get.get("compare")
    c_since = c_until = None
    if compare and ".." in compare:
        a, _, b = compare.partition("..")
        c_since, c_until = parse_time(a), parse_time(b)
        compare = "custom" if c_since and c_until and c_until > c_since else None
        if compare is None:
            c_since = c_until = None
    elif compare not in (COMPARE_PREVIOUS, COMPARE_NONE):
        compare = None
    platforms = tuple(p for p in (get.get("platforms") or "").split(",") if p) or None
    return UrlState(
        page=get.get("page") if get.get("page") in PAGES else None,
        brand=get.get("brand") or None, platforms=platforms, since=since, until=until,
        range=get.get("range") if get.get("range") in RANGES else None,
        compare=compare, compare_since=c_since, compare_until=c_until,
        post=_int(get.get("post")), author=_int(get.get("author")), alert=_int(get.get(ALERT)),
        extra={k: v for k, v in get.items() if k not in ORDER})


def params(state: UrlState) -> dict[str, str]:
    """The parameters that say `state`, in a stable order (what the address bar shows)."""
    out: dict[str, str] = {}
    if state.page:
        out["page"] = state.page
    if state.brand:
        out["brand"] = state.brand
    if state.platforms:
        out["platforms"] = ",".join(state.platforms)
    if state.since and state.until:
        out["from"], out["to"] = _fmt(state.since), _fmt(state.until)
    elif state.range:
        out["range"] = state.range
    if state.compare == "custom" and state.compare_since and state.compare_until:
        out["compare"] = f"{_fmt(state.compare_since)}..{_fmt(state.compare_until)}"
    elif state.compare == COMPARE_NONE:
        out["compare"] = COMPARE_NONE
    for key in ("post", "author", ALERT):
        if getattr(state, key) is not None:
            out[key] = str(getattr(state, key))
    return out


def link(state: UrlState, page: str | None = None, **changes) -> str:
    """A relative URL (`?page=...&...`) for `state` on `page` with some fields changed."""
    if page is not None:
        changes["page"] = page
    return "?" + urlencode(params(state.with_(**changes)))
