"""networkx views of parts of the graph, for exploration, drawing and export.

Only the part that is looked at becomes Python objects: an author's ego network, the top authors,
a community. A whole million-edge graph does convert (``nodes=None``) but takes seconds per
100k arcs, which is fine for an export and too slow for ranking.
"""

from __future__ import annotations

from collections.abc import Mapping

import networkx as nx
import numpy as np

from graph._arrays import gather_rows
from graph.build import AmplificationGraph
from graph.edges import KIND_NAMES
from graph.influence import COMPONENTS, RECEIVED_NAMES, InfluenceScores


def _node_attributes(
    graph: AmplificationGraph,
    position: int,
    scores: InfluenceScores | None,
    communities: np.ndarray | None,
    handles: Mapping[int, str] | None,
) -> dict[str, object]:
    author = int(graph.ids[position])
    attrs: dict[str, object] = {
        "label": f"@{handles[author]}" if handles and author in handles else str(author)
    }
    if scores is not None:
        attrs["influence"] = float(scores.influence[position])
        attrs["rank"] = int(scores.rank[position])
        for name in COMPONENTS:
            value = float(scores.components[name][position])
            if not np.isnan(value):  # GEXF and Gephi have no "unknown"; leave it out
                attrs[name] = value
    if communities is not None:
        attrs["community"] = int(communities[position])
    return attrs


def to_networkx(
    graph: AmplificationGraph,
    *,
    nodes: np.ndarray | list[int] | None = None,
    scores: InfluenceScores | None = None,
    communities: np.ndarray | None = None,
    handles: Mapping[int, str] | None = None,
) -> nx.DiGraph:
    """A DiGraph keyed by author id of the authors at positions ``nodes`` in ``graph.ids`` (all by
    default), e.g. ``scores.order()[:500]`` for the top 500 or ``graph.index_of(author_ids)``.

    Arcs among them keep their direction (amplifier -> amplified) and carry ``weight``
    (recency-weighted), ``count`` and the count per kind; nodes carry a label (handle or id), and
    the influence, rank, components and community when given. Every attribute is a plain
    str/int/float, so GEXF and GraphML writers and Gephi take them as they are.
    """
    if scores is not None and len(scores.ids) != graph.n_nodes:
        raise ValueError("scores were computed on a different graph")
    chosen = (
        np.arange(graph.n_nodes) if nodes is None else np.unique(np.asarray(nodes, dtype=np.int64))
    )
    member = np.zeros(graph.n_nodes, dtype=bool)
    member[chosen] = True
    arcs = np.flatnonzero(member[graph.source] & member[graph.target])
    result = nx.DiGraph()
    result.add_nodes_from(
        (int(graph.ids[p]), _node_attributes(graph, p, scores, communities, handles))
        for p in chosen.tolist()
    )
    ids = graph.ids
    counts = graph.kind_counts[arcs]
    names = [RECEIVED_NAMES[k] for k in KIND_NAMES]
    result.add_edges_from(
        (s, t, {"weight": w, "count": sum(c), **dict(zip(names, c, strict=True))})
        for s, t, w, c in zip(
            ids[graph.source[arcs]].tolist(),
            ids[graph.target[arcs]].tolist(),
            graph.weight[arcs].tolist(),
            counts.tolist(),
            strict=True,
        )
    )
    return result


def ego_network(
    graph: AmplificationGraph,
    author_id: int,
    *,
    radius: int = 1,
    max_nodes: int = 100,
    scores: InfluenceScores | None = None,
    communities: np.ndarray | None = None,
    handles: Mapping[int, str] | None = None,
) -> nx.DiGraph:
    """The authors within ``radius`` interactions of ``author_id`` (either direction), capped.

    When a ring has more authors than fit under ``max_nodes``, those with the most interactions
    with the ring inside it are kept (ties by author id), so a hub's ego network shows its closest
    accounts rather than an arbitrary sample. Nodes get a ``distance`` attribute. KeyError if the
    author is not in the graph.
    """
    center = int(graph.index_of(author_id)[0])
    if center < 0:
        raise KeyError(author_id)
    n = graph.n_nodes
    rows = np.concatenate([graph.source, graph.target])
    cols = np.concatenate([graph.target, graph.source])
    counts = np.tile(graph.kind_counts.sum(axis=1), 2).astype(np.float64)
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    cols, counts = cols[order], counts[order]
    distance = np.full(n, -1, dtype=np.int64)
    distance[center] = 0
    ring, kept = np.array([center]), 1
    for step in range(1, radius + 1):
        if kept >= max_nodes or len(ring) == 0:
            break
        reached = gather_rows(indptr, cols, ring)
        ties = gather_rows(indptr, counts, ring)
        fresh = distance[reached] < 0
        strength = np.bincount(reached[fresh], weights=ties[fresh], minlength=n)
        candidates = np.flatnonzero(strength > 0)
        best = np.lexsort((graph.ids[candidates], -strength[candidates]))
        ring = candidates[best[: max_nodes - kept]]
        distance[ring] = step
        kept += len(ring)
    inside = np.flatnonzero(distance >= 0)
    result = to_networkx(
        graph, nodes=inside, scores=scores, communities=communities, handles=handles
    )
    for position in inside.tolist():
        result.nodes[int(graph.ids[position])]["distance"] = int(distance[position])
    return result
