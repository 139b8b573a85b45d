"""Pipeline stage after `rank`: lay out the Graph explorer's default views and save them.

The explorer opens on the amplification network of all brands (or the sidebar's brand) over the
last 7 days, capped at the 200 busiest authors and coloured by the newest influence run. Reading
its edges and laying it out took 1.5-2 s at a million posts on a first visit; saved here, the
dashboard reads the record back (`listener.store.graph_views.saved_view`) and only looks up
the nodes' names and scores. Any other view (another window, platform or cap) is computed by the
dashboard with the same functions (`graph.view`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from graph import view
from listener.store import Store
from listener.store import graph_views as gv


@dataclass
class ViewsReport:
    views: int
    seconds: float


def compute(store: Store, brand_ids: tuple[int, ...], since, until, cap: int = view.DEFAULT_CAP,
            run_id: int | None = None, platforms=None) -> dict:
    """One view as a `graph.view` record (not saved)."""
    engine = store.engine
    before = gv.stamp(engine)
    edges = gv.brand_edges(engine, brand_ids, platforms, since, until)
    g = view.capped(edges, cap)
    authors = len(set(edges["source"]) | set(edges["target"])) if len(edges) else 0
    interactions = int(edges["weight"].sum()) if len(edges) else 0
    key = view.view_key(brand_ids, platforms, since, until, cap, run_id)
    return view.to_record(g, view.layout(g), authors, interactions, key, before)


def save_default_views(store: Store, cap: int = view.DEFAULT_CAP) -> ViewsReport:
    """All brands, then each brand: the last 7 days up to the newest post, `cap` authors."""
    started = time.monotonic()
    engine = store.engine
    last = gv.newest_post(engine)
    brands = sorted(store.brands(), key=lambda b: b.name)
    if last is None or not brands:
        return ViewsReport(0, time.monotonic() - started)
    since, until = view.default_window(last)
    scopes = [(tuple(b.id for b in brands), None)] + [((b.id,), b.id) for b in brands]
    saved = 0
    for brand_ids, brand_id in scopes:
        record = compute(store, brand_ids, since, until, cap, gv.latest_run_id(engine, brand_id))
        gv.save_view(engine, record)
        saved += 1
    return ViewsReport(saved, time.monotonic() - started)


def stage(store: Store, settings, echo: Callable[[str], None]) -> None:
    report = save_default_views(store)
    if report.views:
        echo(f"Laid out {report.views} graph views (all brands and each brand, last 7 days) "
             f"in {report.seconds:.1f} s.")
