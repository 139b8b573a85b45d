"""`undertow rank`: load interaction edges from the store, rank influencers, save the run.

The store reads edges and author facts as columns (`listener.store.influence`); `graph/` does
the ranking; the top `keep` authors of each run are saved with every score component, so rank
changes over time can be shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from listener.store import Store
from listener.store.influence import author_facts, edge_columns, handles, save_run
from listener.store.influence import top_influencers as store_top

KEEP = 5000


@dataclass
class RankReport:
    run_id: int | None
    brand: str | None
    edges: int
    authors: int
    communities: int
    seconds: float


def load_edges(store: Store, brand_id: int | None = None, since: datetime | None = None,
               until: datetime | None = None):
    """Interactions as `graph.Edges`; with a brand, those touching a post tagged with it."""
    from graph import Edges

    cols = edge_columns(store, brand_id, since, until)
    if cols is None:
        return None
    return Edges.from_arrays(cols.source, cols.target, cols.kind, cols.created_at,
                             cols.source_post, cols.target_post)


def rank(store: Store, brand: str | None = None, since: datetime | None = None,
         until: datetime | None = None, keep: int = KEEP, communities: bool = True,
         echo: Callable[[str], None] = print) -> RankReport:
    from graph import build_graph, label_communities, louvain, score_influence
    from graph.decay import choose_decay

    started = time.monotonic()
    brand_id = store.brand(brand).id if brand else None
    edges = load_edges(store, brand_id, since, until)
    if edges is None:
        if since or until:
            echo("No interactions in that time window: widen --since/--until (`undertow status` "
                 "shows what is stored).")
        else:
            echo("No interactions to rank yet: collect or import posts first (`undertow demo`).")
        return RankReport(None, brand, 0, 0, 0, time.monotonic() - started)
    facts = author_facts(store, brand_id, since, until)
    now = until.timestamp() if until else float(edges.created_at.max())
    # How fast amplification fades, backtested on this store's own history (graph/decay.py).
    decay = choose_decay(edges.target, edges.created_at, now, source=edges.source)
    graph = build_graph(edges, now=now, half_life_s=decay.half_life_s, decay_floor=decay.floor)
    scores = score_influence(graph, followers=facts.followers, posts=facts.posts,
                             negative_posts=facts.negative_posts)
    labels = louvain(graph) if communities else None
    frame = scores.frame(communities=labels).head(keep)
    top_ids = [int(i) for i in frame["author_id"]]
    names = handles(store, top_ids)
    community_info = []
    if labels is not None:
        for c in label_communities(scores.ids, labels, handles=names, influence=scores.influence,
                                   min_size=3)[:50]:
            community_info.append({"number": c.number, "size": c.size, "label": c.label,
                                   "top_authors": [int(a) for a in c.top_authors]})
    component_cols = [c for c in frame.columns if c not in ("author_id", "rank", "influence",
                                                            "community")]
    params = {"weights": scores.weights, "decay": decay.as_dict(), "edges": len(edges), "authors": len(scores.ids),
              "keep": keep, "communities": community_info}
    run_id = save_run(store, brand_id, since, until, params, [
        {"author_id": int(r["author_id"]), "rank": int(r["rank"]),
         "influence": _plain(r["influence"]) or 0.0,
         "community": None if labels is None else int(r["community"]),
         "components": {c: _plain(r[c]) for c in component_cols}}
        for r in frame.to_dict("records")])
    report = RankReport(run_id, brand, len(edges), len(scores.ids),
                        len(set(labels.tolist())) if labels is not None else 0,
                        time.monotonic() - started)
    return report


def _plain(value):
    """JSON-safe: numpy scalars become Python numbers, NaN (no data) becomes null."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 6)
    return value


def top_influencers(store: Store, brand: str | None = None, top: int = 20) -> list[dict]:
    """The latest run's top authors with their handles, followers and score components."""
    return store_top(store, store.brand(brand).id if brand else None, top)


def stage(store: Store, settings, echo: Callable[[str], None]) -> None:
    """Pipeline stage: rank over everything, then per brand."""
    report = rank(store, echo=echo)
    if report.run_id is None:
        return
    echo(f"Ranked {report.authors:,} authors from {report.edges:,} interactions "
         f"({report.communities:,} communities) in {report.seconds:.1f} s.")
    for b in store.brands():
        rank(store, brand=b.name, echo=echo)
    echo(f"Ranked influencers per brand for {len(store.brands())} brands.")
