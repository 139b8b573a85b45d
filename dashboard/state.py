"""What every page shares: the store's engine, cached queries, the sidebar filters, safe text.

Queries are cached per (database, function, arguments): aggregates for `TTL` seconds, small
reads (alerts, store facts) for `FRESH_TTL`, so moving between pages or re-rendering after a
click costs no SQL; the sidebar's Refresh button drops the cache at once.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard import graphview, queries
from dashboard.filters import ALL_BRANDS, Filters, sidebar_filters, sync_url  # noqa: F401
from graph import view
from listener.inert import one_line
from listener.settings import Settings
from listener.store import Store

TTL = 300  # aggregates: what a page costs at a million posts is paid once per 5 minutes
FRESH_TTL = 30  # small reads that should follow the data closely
_FRESH = {"store_facts", "alerts", "influence_runs", "author"}

NO_POSTS = "No posts yet: run `undertow demo` or `undertow collect`, then reload this page."
NO_BRANDS = ("No brands yet: add one with `undertow brand add NAME --query '...'` "
             "(the demo adds nine).")
NO_SCORES = "No sentiment scores yet: run `undertow score` to score the stored posts."
NO_RANKING = "No influencer ranking yet: run `undertow rank` to rank authors by reach."


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    return Store.open(url)


@st.cache_resource(show_spinner=False, max_entries=8)
def _settings(environment: tuple, env_file: tuple) -> Settings:
    return Settings.load()


def settings() -> Settings:
    """The settings, read again only when the environment or the .env file changed (every
    query asks for the database URL; parsing .env each time was most of a cached page's cost)."""
    environment = tuple(sorted((k, v) for k, v in os.environ.items()
                               if k.startswith("UNDERTOW_")))
    path = os.environ.get("UNDERTOW_ENV_FILE") or ".env"
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        stamp = None
    return _settings(environment, (path, stamp))


def db_url() -> str:
    return settings().db_url


def store() -> Store:
    return _store(db_url())


def engine():
    """The store's engine, for the dashboard's queries (`dashboard.queries` take one)."""
    return store().engine


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=512)
def _cached(url: str, name: str, args: tuple, kwargs: tuple) -> Any:
    return getattr(queries, name)(_store(url).engine, *args, **dict(kwargs))


@st.cache_data(ttl=FRESH_TTL, show_spinner=False, max_entries=256)
def _fresh(url: str, name: str, args: tuple, kwargs: tuple) -> Any:
    return getattr(queries, name)(_store(url).engine, *args, **dict(kwargs))


def q(name: str, *args: Any, **kwargs: Any) -> Any:
    """Run `dashboard.queries.<name>` through the cache."""
    cached = _fresh if name in _FRESH else _cached
    return cached(db_url(), name, tuple(args), tuple(sorted(kwargs.items())))


def facts() -> dict[str, Any]:
    return q("store_facts")


def current_filters() -> Filters | None:
    return st.session_state.get("filters")


def brand_names() -> dict[int, str]:
    return {b["id"]: b["name"] for b in facts()["brands"]}


# -- text users read ----------------------------------------------------------------------

# Every ASCII punctuation character; CommonMark lets a backslash make any of them literal.
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")


# GitHub-flavoured markdown links bare addresses (www., https://, e-mail) even when escaped: a
# word joiner after each dot, colon and @ breaks the pattern and shows nothing.
_AUTOLINK_BREAK = re.compile(r"([.:@])")


def md(text: Any) -> str:
    """Untrusted text made inert for st.markdown: every punctuation mark backslash-escaped and
    autolinks broken, so a post or handle can neither inject HTML nor become a link, image,
    formula or formatting; control characters become one space or a visible symbol."""
    flat = one_line(text)
    return _MD_SPECIAL.sub(r"\\\1", _AUTOLINK_BREAK.sub("\\1\u2060", flat))


def n(value: Any) -> str:
    """A count with thousands separators."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "–"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def refresh() -> None:
    """Drop cached query results, e.g. after the user changed an alert."""
    _cached.clear()
    _fresh.clear()


@dataclass
class Network:
    graph: Any  # networkx.DiGraph of the capped view
    nodes: Any  # pandas frames with layout coordinates, for the chart
    edges: Any
    authors: int  # distinct authors before the cap
    interactions: int
    saved: bool = False  # laid out by the pipeline, not on this visit


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=64)
def _network(url: str, query: str, args: tuple, cap: int, focus: int | None,
             run_id: int | None) -> Network:
    eng = _store(url).engine
    saved = None
    if query == "brand_edges" and focus is None:
        # The pipeline lays out the default views (`listener.jobs.graph_views`): read it back.
        saved = queries.saved_graph_view(eng, view.view_key(*args, cap, run_id))
    if saved is not None:
        g, pos, authors, interactions = view.from_record(saved)
    else:
        edges = getattr(queries, query)(eng, *args)
        g, pos = graphview.build(edges, cap, focus), None
        authors = len(set(edges["source"]) | set(edges["target"])) if len(edges) else 0
        interactions = int(edges["weight"].sum()) if len(edges) else 0
    graphview.decorate(g, queries.node_scores(eng, run_id, tuple(g.nodes)))
    nodes, lines = graphview.frames(g, focus, pos)
    return Network(g, nodes, lines, authors, interactions, saved is not None)


def network(query: str, *args: Any, cap: int, focus: int | None = None,
            run_id: int | None = None) -> Network:
    """A capped, decorated and laid-out amplification network from `queries.<query>(*args)`."""
    return _network(db_url(), query, tuple(args), cap, focus, run_id)
