"""The Graph explorer's network view: the busiest authors of some amplification edges, laid out.

A browser stays responsive with a few hundred nodes, so a view keeps the `cap` authors with the
most amplification (weighted degree, given and received). Laying them out (a spring layout) and
reading the edges behind them cost a second or two at a million posts, so the pipeline computes
the views the dashboard opens on (`listener.jobs.graph_views`, after `rank`) and saves them as
plain records (`to_record`); the dashboard reads one back (`from_record`) when it matches the
view asked for, and computes any other view itself with the same functions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

__all__ = ["DEFAULT_CAP", "DEFAULT_WINDOW", "capped", "default_window", "from_record", "layout",
           "to_record", "view_key"]

DEFAULT_CAP = 200  # authors in a view unless the reader asks for more (the page's slider)
DEFAULT_WINDOW = timedelta(days=7)  # the dashboard's default time range


def default_window(last_post: datetime) -> tuple[datetime, datetime]:
    """The dashboard's default window ("Last 7 days"): up to the end of the newest post's hour."""
    until = last_post.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return until - DEFAULT_WINDOW, until


def capped(edges: pd.DataFrame, cap: int, focus: int | None = None) -> nx.DiGraph:
    """The `cap` busiest authors of `edges` (source, target, kind, weight: who amplified whom,
    how often) as a weighted DiGraph, always with `focus`; each arc has its total weight and
    its kinds ("quote,repost"). Nodes and arcs in (source, target) order."""
    g = nx.DiGraph()
    if edges.empty:
        return g
    e = edges[edges["source"] != edges["target"]]
    pairs = e.groupby(["source", "target"], as_index=False, sort=True)["weight"].sum()
    degree = pd.concat([pairs.groupby("source")["weight"].sum(),
                        pairs.groupby("target")["weight"].sum()]).groupby(level=0).sum()
    keep = set(degree.sort_values(ascending=False, kind="stable").index[:cap])
    if focus is not None and focus in degree.index:
        keep.add(focus)
    pairs = pairs[pairs["source"].isin(keep) & pairs["target"].isin(keep)]
    inside = e[e["source"].isin(keep) & e["target"].isin(keep)]
    kinds: dict[tuple[int, int], set[str]] = {}
    for src, dst, kind in zip(inside["source"].tolist(), inside["target"].tolist(),
                              inside["kind"].astype(str).tolist(), strict=True):
        kinds.setdefault((src, dst), set()).add(kind)
    g.add_edges_from((src, dst, {"weight": w, "kinds": ",".join(sorted(kinds[(src, dst)]))})
                     for src, dst, w in zip(pairs["source"].astype("int64").tolist(),
                                            pairs["target"].astype("int64").tolist(),
                                            pairs["weight"].astype("int64").tolist(),
                                            strict=True))
    if focus is not None and focus in keep:
        g.add_node(int(focus))
    return g


def layout(g: nx.Graph) -> dict[int, tuple[float, float]]:
    """Spring-layout positions (seeded: the same graph is drawn the same way every time)."""
    if g.number_of_nodes() == 0:
        return {}
    k = 1.5 / np.sqrt(max(g.number_of_nodes(), 1))
    pos = nx.spring_layout(g.to_undirected(), k=k, iterations=60, seed=7, weight=None)
    return {v: (float(p[0]), float(p[1])) for v, p in pos.items()}


def view_key(brand_ids, platforms, since: datetime, until: datetime, cap: int,
             run_id: int | None) -> str:
    """What a saved view answers: its brands, platforms, window, cap and influence run."""
    brands = ",".join(str(b) for b in sorted(int(b) for b in brand_ids))
    plats = "all" if platforms is None else ",".join(sorted(platforms))
    return (f"brands={brands};platforms={plats};since={since.isoformat()};"
            f"until={until.isoformat()};cap={int(cap)};run={run_id}")


def to_record(g: nx.DiGraph, pos: dict, authors: int, interactions: int, key: str,
              stamp: str | None) -> dict[str, Any]:
    """A JSON-ready view: nodes in order with positions, arcs with weight and kinds."""
    return {"key": key, "stamp": stamp, "authors": int(authors),
            "interactions": int(interactions),
            "nodes": [[int(v), pos[v][0], pos[v][1]] for v in g.nodes],
            "edges": [[int(u), int(v), int(d["weight"]), d.get("kinds", "")]
                      for u, v, d in g.edges(data=True)]}


def from_record(record: dict[str, Any]) -> tuple[nx.DiGraph, dict, int, int]:
    """(graph, positions, authors, interactions) of a saved view, as `capped` and `layout`
    made them (same node and arc order)."""
    g = nx.DiGraph()
    g.add_nodes_from(int(v) for v, _, _ in record["nodes"])
    g.add_edges_from((int(u), int(v), {"weight": int(w), "kinds": k})
                     for u, v, w, k in record["edges"])
    pos = {int(v): (float(x), float(y)) for v, x, y in record["nodes"]}
    return g, pos, int(record["authors"]), int(record["interactions"])
