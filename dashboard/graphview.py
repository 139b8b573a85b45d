"""The Graph explorer's network: cap, colour by community, size by influence, lay out, export.

A browser stays responsive with a few hundred nodes, so the view keeps the `cap` authors with
the most amplification (weighted degree), always including the focus author. Communities come
from the latest influence run where it has them; otherwise Louvain runs on the capped view.
The chart is Altair (bundled with Streamlit: no CDN), with zoom, pan and tooltips.
"""

from __future__ import annotations

import io
from typing import Any

import altair as alt
import networkx as nx
import numpy as np
import pandas as pd

MAX_COMMUNITIES = 10  # distinct colours; the rest share grey
LABELLED = 12  # authors named on the chart
# Tableau 10 with its grey swapped for a dark teal: grey means "Other" (and "not ranked").
_TABLEAU = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
            "#ff9da7", "#9c755f", "#17565e", "#c7c7c7"]
OTHER, UNRANKED = "Other", "Not ranked"


def build(edges: pd.DataFrame, cap: int, focus: int | None = None) -> nx.DiGraph:
    """The `cap` busiest authors as a weighted DiGraph (edge source -> target: who amplified)."""
    g = nx.DiGraph()
    if edges.empty:
        return g
    agg = edges.groupby(["source", "target"], as_index=False).agg(
        weight=("weight", "sum"), kinds=("kind", lambda k: ",".join(sorted(set(map(str, k))))))
    agg = agg[agg["source"] != agg["target"]]
    degree = pd.concat([agg.groupby("source")["weight"].sum(),
                        agg.groupby("target")["weight"].sum()]).groupby(level=0).sum()
    keep = set(degree.sort_values(ascending=False, kind="stable").index[:cap])
    if focus is not None and focus in degree.index:
        keep.add(focus)
    agg = agg[agg["source"].isin(keep) & agg["target"].isin(keep)]
    for src, dst, w, kinds in agg.itertuples(index=False):
        g.add_edge(int(src), int(dst), weight=int(w), kinds=kinds)
    if focus is not None and focus in keep:
        g.add_node(int(focus))
    return g


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


def frames(g: nx.DiGraph, focus: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Node and edge tables with layout coordinates, ready to chart."""
    if g.number_of_nodes() == 0:
        return pd.DataFrame(), pd.DataFrame()
    k = 1.5 / np.sqrt(max(g.number_of_nodes(), 1))
    pos = nx.spring_layout(g.to_undirected(), k=k, iterations=60, seed=7, weight=None)
    inf = np.array([g.nodes[v]["influence"] for v in g.nodes], dtype=float)
    has_influence = bool(np.isfinite(inf).any())
    top = pd.Series([g.nodes[v]["community"] for v in g.nodes]).value_counts().index[
        :MAX_COMMUNITIES].tolist()
    rows = []
    for v, value in zip(g.nodes, inf, strict=True):
        d = g.nodes[v]
        size = value if has_influence and np.isfinite(value) else (
            0.0 if has_influence else float(d["amplified"]))
        rows.append({
            "author_id": str(v), "handle": d["handle"], "x": pos[v][0], "y": pos[v][1],
            "community": _community_name(d["community"], top),
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


def chart(nodes: pd.DataFrame, edges: pd.DataFrame, size_title: str, title: str) -> alt.Chart:
    """Edges as lines, authors as circles: colour = community, area = influence; zoom and pan."""
    axis = alt.Axis(title=None, labels=False, ticks=False, grid=False, domain=False)
    xs, ys = _domain(nodes["x"]), _domain(nodes["y"])
    x = alt.X("x:Q", axis=axis, scale=alt.Scale(domain=xs))
    y = alt.Y("y:Q", axis=axis, scale=alt.Scale(domain=ys))
    layers = []
    if len(edges):
        opacity = 0.35 if len(edges) < 500 else 0.15  # a dense view stays readable
        layers.append(alt.Chart(edges).mark_rule(color="#888", opacity=opacity).encode(
            x=x, y=y, x2="x2:Q", y2="y2:Q",
            strokeWidth=alt.StrokeWidth("weight:Q", scale=alt.Scale(range=[0.5, 4]),
                                        legend=None)))
    pts = alt.Chart(nodes).mark_circle(opacity=0.9, stroke="#222", strokeWidth=0.5).encode(
        x=x, y=y,
        color=alt.Color("community:N", scale=_palette(nodes["community"]),
                        legend=alt.Legend(title="Community", symbolSize=160,
                                          symbolStrokeWidth=0)),
        size=alt.Size("size:Q", title=size_title, scale=alt.Scale(range=[20, 900])),
        tooltip=[alt.Tooltip("handle:N", title="Author"),
                 alt.Tooltip("community:N", title="Community"),
                 alt.Tooltip("influence:Q", title="Influence", format=".3f"),
                 alt.Tooltip("followers:Q", title="Followers", format=","),
                 alt.Tooltip("amplified:Q", title="Amplifications received in view",
                             format=",")],
    )
    layers.append(pts)
    layers.append(alt.Chart(nodes[nodes["label"] != ""]).mark_text(
        dy=-12, fontSize=11, color="#333").encode(x=x, y=y, text="label:N"))
    if nodes["focus"].any():
        layers.append(alt.Chart(nodes[nodes["focus"]]).mark_point(
            shape="diamond", size=500, color="black", strokeWidth=2).encode(x=x, y=y))
    return alt.layer(*layers).properties(title=title, height=620).interactive()


def _domain(values: pd.Series) -> list[float]:
    """The data's extent plus a margin, so the outermost circles and names are not cut off."""
    lo, hi = float(values.min()), float(values.max())
    pad = (hi - lo) * 0.08 or 1.0
    return [lo - pad, hi + pad]


def _community_name(community: int, top: list[int]) -> str:
    if community < 0:  # an author the latest ranking does not hold
        return UNRANKED
    return f"Community {community}" if community in top else OTHER


def _palette(communities: pd.Series) -> alt.Scale:
    """Distinct colours for the largest communities, greys for the rest and the unranked."""
    greys = {OTHER: "#c7c7c7", UNRANKED: "#e3e3e3"}
    named = sorted((c for c in communities.unique() if c not in greys),
                   key=lambda c: int(c.rsplit(" ", 1)[-1]))
    rest = [c for c in greys if c in set(communities)]
    return alt.Scale(domain=named + rest,
                     range=_TABLEAU[: len(named)] + [greys[c] for c in rest])


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
