"""`undertow graph export`: the amplification graph with scores and communities, for Gephi or CSV.

GEXF and GraphML hold the `top` most influential authors and the arcs among them (networkx's
writers take minutes and hundreds of MB on a whole 300k-author graph, and Gephi would not show
it either); CSV holds every author and arc.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from listener.errors import NotFoundError
from listener.jobs.rank import load_edges
from listener.store import Store
from listener.store.influence import author_facts, handles


def export_graph(store: Store, fmt: str, brand: str | None, since: datetime | None, top: int,
                 out: Path) -> list[Path]:
    from graph import (
        build_graph,
        louvain,
        score_influence,
        to_networkx,
        write_edges_csv,
        write_gexf,
        write_graphml,
        write_nodes_csv,
    )

    brand_id = store.brand(brand).id if brand else None
    edges = load_edges(store, brand_id, since)
    if edges is None:
        raise NotFoundError("No interactions to export: collect or import posts first")
    graph = build_graph(edges, now=float(edges.created_at.max()))
    # The same inputs as `undertow rank`, so the export ranks authors as the dashboard does.
    facts = author_facts(store, brand_id, since, None)
    scores = score_influence(graph, followers=facts.followers, posts=facts.posts,
                             negative_posts=facts.negative_posts)
    labels = louvain(graph)
    stem = f"undertow-{(brand or 'all').lower().replace(' ', '-')}"
    if fmt == "csv":
        # A folder gets the brand's files; a file name (`--out graph.csv`) names the pair.
        folder, base = (out, stem) if out.suffix == "" else (out.parent, out.stem)
        folder.mkdir(parents=True, exist_ok=True)
        names = handles(store, [int(i) for i in scores.ids])
        nodes, arcs = folder / f"{base}-nodes.csv", folder / f"{base}-edges.csv"
        write_nodes_csv(scores, nodes, communities=labels, handles=names)
        write_edges_csv(graph, arcs)
        return [nodes, arcs]
    chosen = scores.order()[:top]
    names = handles(store, [int(scores.ids[i]) for i in chosen])
    g = to_networkx(graph, nodes=chosen, scores=scores, communities=labels, handles=names)
    path = out / f"{stem}.{fmt}" if out.suffix == "" else out
    path.parent.mkdir(parents=True, exist_ok=True)
    (write_gexf if fmt == "gexf" else write_graphml)(g, path)
    return [path]
