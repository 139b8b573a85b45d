"""Influencer graph library: build, rank, explore and export the amplification graph.

Pure functions on numpy arrays: no database, settings or network. The store job hands over
interaction edges (``Edges``) and optional per-author numbers; everything else happens here.

    edges = Edges.from_arrays(source, target, kind, created_at, source_post, target_post)
    graph = build_graph(edges, now=until)
    scores = score_influence(graph, followers=..., posts=..., negative_posts=...)
    labels = louvain(graph, seed=0)
    rows = scores.rows()                      # JSON-ready, best first, for the store

Errors: ``GraphInputError`` (a ValueError) for inconsistent input; ``KeyError`` for an author or
post that is not in the graph.
"""

from graph.build import DEFAULT_HALF_LIFE_S, DEFAULT_KIND_WEIGHTS, AmplificationGraph, build_graph
from graph.centrality import cascade_reach, core_numbers, pagerank
from graph.communities import Community, label_communities, louvain, modularity
from graph.edges import KIND_CODES, KIND_NAMES, NO_POST, Edges, GraphInputError
from graph.explore import ego_network, to_networkx
from graph.export import (
    edges_frame,
    write_edges_csv,
    write_gexf,
    write_graphml,
    write_nodes_csv,
)
from graph.influence import COMPONENTS, DEFAULT_WEIGHTS, InfluenceScores, score_influence
from graph.paths import AmplificationPath, Bridge, amplification_path

__all__ = [
    "COMPONENTS",
    "DEFAULT_HALF_LIFE_S",
    "DEFAULT_KIND_WEIGHTS",
    "DEFAULT_WEIGHTS",
    "KIND_CODES",
    "KIND_NAMES",
    "NO_POST",
    "AmplificationGraph",
    "AmplificationPath",
    "Bridge",
    "Community",
    "Edges",
    "GraphInputError",
    "InfluenceScores",
    "amplification_path",
    "build_graph",
    "cascade_reach",
    "core_numbers",
    "ego_network",
    "edges_frame",
    "label_communities",
    "louvain",
    "modularity",
    "pagerank",
    "score_influence",
    "to_networkx",
    "write_edges_csv",
    "write_gexf",
    "write_graphml",
    "write_nodes_csv",
]
