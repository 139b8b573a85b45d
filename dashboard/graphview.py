"""The Graph explorer's network: cap, colour by community, size by influence, lay out, export.

A browser stays responsive with a few hundred nodes, so the view keeps the `cap` authors with
the most amplification (weighted degree), always including the focus author (`graph.view`,
which also lays it out; the pipeline saves the default views laid out). Communities come
from the latest influence run where it has them; otherwise Louvain runs on the capped view.
The chart is a Vega-Lite spec (Vega ships inside Streamlit's frontend: no CDN), with zoom, pan
and tooltips.
"""

from __future__ import annotations

import io
import json
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from graph import view

MAX_COMMUNITIES = 10  # distinct colours; the rest share grey
LABELLED = 12  # authors named on the chart
# Tableau 10 with its grey swapped for a dark teal: grey means "Other" (and "not ranked").
_TABLEAU = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
            "#ff9da7", "#9c755f", "#17565e", "#c7c7c7"]
OTHER, UNRANKED = "Other", "Not ranked"


def build(edges: pd.DataFrame, cap: int, focus: int | None = None) -> nx.DiGraph:
    """The `cap` busiest authors as a weighted DiGraph (edge source -> target: who amplified)."""
    return view.capped(edges, cap, focus)


def decorate(g: nx.DiGraph, nodes: pd.DataFrame) -> None:
    """Attach handle, followers, influence and community to each node (in place)."""
    info = {int(r.author_id): r for r in nodes.itertuples(index=False)}
    in_weight = dict(g.in_degree(weight="weight"))
    for node in g.nodes:
        r = info.get(node)
        g.nodes[node]["handle"] = str(r.handle) if r is not None and r.handle else str(node)
        g.nodes[node]["followers"] = int(r.followers) if r is not None and pd.notna(
            r.followers) else 0
        influence = r.influence if r is not None else None
        g.nodes[node]["influence"] = float(influence) if pd.notna(influence) else np.nan
        community = r.community if r is not None else None
        g.nodes[node]["community"] = int(community) if pd.notna(community) else -1
        g.nodes[node]["amplified"] = int(in_weight.get(node, 0))
    if g.number_of_nodes() and all(g.nodes[v]["community"] < 0 for v in g.nodes):
        parts = nx.community.louvain_communities(g.to_undirected(), weight="weight", seed=7)
        for i, part in enumerate(sorted(parts, key=len, reverse=True)):
            for v in part:
                g.nodes[v]["community"] = i


def frames(g: nx.DiGraph, focus: int | None = None,
           pos: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Node and edge tables with layout coordinates (`pos`, else laid out now), ready to chart."""
    if g.number_of_nodes() == 0:
        return pd.DataFrame(), pd.DataFrame()
    if pos is None:
        pos = view.layout(g)
    inf = np.array([g.nodes[v]["influence"] for v in g.nodes], dtype=float)
    has_influence = bool(np.isfinite(inf).any())
    top = pd.Series([g.nodes[v]["community"] for v in g.nodes]).value_counts().index[
        :MAX_COMMUNITIES].tolist()
    names = _community_names(g, top, inf if has_influence else None)
    rows = []
    for v, value in zip(g.nodes, inf, strict=True):
        d = g.nodes[v]
        size = value if has_influence and np.isfinite(value) else (
            0.0 if has_influence else float(d["amplified"]))
        rows.append({
            "author_id": str(v), "handle": d["handle"], "x": pos[v][0], "y": pos[v][1],
            "community": names.get(d["community"], UNRANKED if d["community"] < 0 else OTHER),
            "size": size, "influence": None if not np.isfinite(value) else value,
            "followers": d["followers"], "amplified": d["amplified"],
            "focus": v == focus,
        })
    nodes = pd.DataFrame(rows)
    # Name the biggest authors on the chart; the rest in their tooltips.
    named = set(nodes.sort_values("size", ascending=False).index[:LABELLED])
    nodes["label"] = [h if i in named or f else "" for i, h, f in
                      zip(nodes.index, nodes["handle"], nodes["focus"], strict=True)]
    edges = pd.DataFrame([
        {"x": pos[u][0], "y": pos[u][1], "x2": pos[v][0], "y2": pos[v][1],
         "weight": d["weight"], "kinds": d["kinds"]}
        for u, v, d in g.edges(data=True)])
    return nodes, edges


def chart(nodes: pd.DataFrame, edges: pd.DataFrame, size_title: str, title: str) -> dict:
    """Edges as lines, authors as circles: colour = community, area = influence; zoom and pan.

    A Vega-Lite spec written out (for `st.vega_lite_chart`), the one Altair would make: built
    through Altair, its thousands of edge rows were deep-copied and schema-checked on every
    render, 0.2-0.4 s of the page. `tests/dashboard/test_parts.py` validates it with the schema.
    """
    axis = {"title": None, "labels": False, "ticks": False, "grid": False, "domain": False}
    x = {"field": "x", "type": "quantitative", "axis": axis,
         "scale": {"domain": _domain(nodes["x"])}}
    y = {"field": "y", "type": "quantitative", "axis": axis,
         "scale": {"domain": _domain(nodes["y"])}}
    datasets: dict[str, list] = {}

    def data(name: str, frame: pd.DataFrame) -> dict:
        datasets[name] = _records(frame)
        return {"name": name}

    layers = []
    if len(edges):
        opacity = 0.35 if len(edges) < 500 else 0.15  # a dense view stays readable
        layers.append({
            "data": data("edges", edges[["x", "y", "x2", "y2", "weight"]]),
            "mark": {"type": "rule", "color": "#888", "opacity": opacity},
            "encoding": {"x": x, "y": y, "x2": {"field": "x2"}, "y2": {"field": "y2"},
                         "strokeWidth": {"field": "weight", "type": "quantitative",
                                         "scale": {"range": [0.5, 4]}, "legend": None}}})
    palette = _palette(nodes["community"])
    layers.append({
        "data": data("authors", nodes[["x", "y", "handle", "community", "size", "influence",
                                       "followers", "amplified"]]),
        "mark": {"type": "circle", "opacity": 0.9, "stroke": "#222", "strokeWidth": 0.5},
        "encoding": {
            "x": x, "y": y,
            "color": {"field": "community", "type": "nominal",
                      "scale": palette,
                      "legend": {"title": "Community", "symbolSize": 160,
                                 "symbolStrokeWidth": 0}},
            "size": {"field": "size", "type": "quantitative", "title": size_title,
                     "scale": {"range": [20, 900]}},
            "tooltip": [
                {"field": "handle", "type": "nominal", "title": "Author"},
                {"field": "community", "type": "nominal", "title": "Community"},
                {"field": "influence", "type": "quantitative", "title": "Influence",
                 "format": ".3f"},
                {"field": "followers", "type": "quantitative", "title": "Followers",
                 "format": ","},
                {"field": "amplified", "type": "quantitative",
                 "title": "Amplifications received in view", "format": ","}]}})
    layers.append({
        "data": data("names", nodes.loc[nodes["label"] != "", ["x", "y", "label"]]),
        "mark": {"type": "text", "dy": -12, "fontSize": 11, "color": "#333"},
        "encoding": {"x": x, "y": y, "text": {"field": "label", "type": "nominal"}}})
    if nodes["focus"].any():
        layers.append({
            "data": data("focus", nodes.loc[nodes["focus"], ["x", "y"]]),
            "mark": {"type": "point", "shape": "diamond", "size": 500, "color": "black",
                     "strokeWidth": 2},
            "encoding": {"x": x, "y": y}})
    layers[0]["name"] = "graph"
    return {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "title": title,
            "height": 620, "datasets": datasets, "layer": layers,
            # Scroll to zoom, drag to pan (Altair's .interactive()).
            "params": [{"name": "zoom", "select": {"type": "interval",
                                                   "encodings": ["x", "y"]},
                        "bind": "scales", "views": ["graph"]}]}


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: numpy numbers as Python ones, NaN as null."""
    return json.loads(frame.to_json(orient="records", double_precision=15))


def _domain(values: pd.Series) -> list[float]:
    """The data's extent plus a margin, so the outermost circles and names are not cut off."""
    lo, hi = float(values.min()), float(values.max())
    pad = (hi - lo) * 0.08 or 1.0
    return [lo - pad, hi + pad]


def _community_names(g: nx.DiGraph, top: list[int], influence: np.ndarray | None
                     ) -> dict[int, str]:
    """Each of the largest communities named by its two leading handles in this view (most
    influential, then most amplified): "Community 3" tells an analyst nothing. Communities
    are disjoint, so the names are unique."""
    members: dict[int, list[tuple[float, int, str]]] = {}
    for i, v in enumerate(g.nodes):
        d = g.nodes[v]
        if d["community"] in top and d["community"] >= 0:
            value = influence[i] if influence is not None else np.nan
            members.setdefault(d["community"], []).append(
                (-(value if np.isfinite(value) else -1.0), -d["amplified"], d["handle"]))
    return {c: ", ".join(f"@{h}" for *_, h in sorted(m)[:2]) for c, m in members.items()}


def _palette(communities: pd.Series) -> dict[str, list[str]]:
    """Distinct colours for the largest communities (largest first), greys for the rest and
    the unranked."""
    greys = {OTHER: "#c7c7c7", UNRANKED: "#e3e3e3"}
    named = [c for c in communities.value_counts().index if c not in greys][:MAX_COMMUNITIES]
    rest = [c for c in greys if c in set(communities)]
    return {"domain": named + rest, "range": _TABLEAU[: len(named)] + [greys[c] for c in rest]}


def export(g: nx.DiGraph, fmt: str) -> bytes:
    """GEXF or GraphML bytes that Gephi (and networkx) open."""
    h = nx.DiGraph()
    for v, d in g.nodes(data=True):
        attrs: dict[str, Any] = {"label": d.get("handle", str(v)),
                                 "followers": int(d.get("followers", 0)),
                                 "community": int(d.get("community", -1)),
                                 "amplified": int(d.get("amplified", 0))}
        if np.isfinite(d.get("influence", np.nan)):
            attrs["influence"] = float(d["influence"])
        h.add_node(str(v), **attrs)
    for u, v, d in g.edges(data=True):
        h.add_edge(str(u), str(v), weight=float(d["weight"]), kinds=d.get("kinds", ""))
    buf = io.BytesIO()
    if fmt == "gexf":
        nx.write_gexf(h, buf)
    else:
        nx.write_graphml(h, buf)
    return buf.getvalue()
