"""How fast the influence ranking runs on a large synthetic scale-free interaction graph.

The generator (seeded) draws N interactions among N / 10 authors: the amplified author by a Zipf
popularity (weight rank**-0.9, a power-law in-degree), the amplifier by a Zipf activity (rank**-0.6);
80% of interactions stay inside one of 50 planted communities. Kinds are 60% repost, 10% quote,
15% reply, 15% mention; times are uniform over 7 days; author ids are random 62-bit ints, like the
store's stable ids. Self-interactions are dropped, so a few fewer than N edges remain.

Timed: building the graph, PageRank and every score component with the combined rank
(``score_influence``). With ``--communities`` Louvain is timed separately. With ``--networkx`` the
same graph also goes through networkx for comparison (a DiGraph built edge by edge, its PageRank
and core numbers, and with ``--communities`` its Louvain): minutes at 1M edges.

    python bench/graph.py --edges 1000000 [--json] [--communities] [--networkx]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graph import Edges, build_graph, score_influence  # noqa: E402
from graph.communities import louvain, modularity  # noqa: E402

COMMUNITIES, INSIDE = 50, 0.8
KIND_SHARES = (0.6, 0.1, 0.15, 0.15)


def synthetic_edges(n_edges: int, seed: int = 0) -> Edges:
    """A seeded scale-free interaction graph with planted communities (see the module doc)."""
    rng = np.random.default_rng(seed)
    n = max(10, n_edges // 10)
    popularity = rng.permutation(np.arange(1, n + 1) ** -0.9)
    activity = rng.permutation(np.arange(1, n + 1) ** -0.6)
    community = rng.integers(0, COMMUNITIES, n)
    source = np.searchsorted(np.cumsum(activity) / activity.sum(), rng.random(n_edges))
    source = np.minimum(source, n - 1)
    # Targets inside the source's community: inverse-CDF sampling within that community's slice
    # of the popularity cumsum (nodes sorted by community).
    by_community = np.argsort(community, kind="stable")
    cum = np.cumsum(popularity[by_community])
    starts = np.searchsorted(community[by_community], np.arange(COMMUNITIES))
    ends = np.append(starts[1:], n)
    low = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    c = community[source]
    inside = np.searchsorted(cum, low[c] + rng.random(n_edges) * (cum[ends[c] - 1] - low[c]))
    anywhere = np.searchsorted(cum, rng.random(n_edges) * cum[-1])
    target = by_community[
        np.minimum(np.where(rng.random(n_edges) < INSIDE, inside, anywhere), n - 1)
    ]
    ids = rng.integers(0, 2**62, n)
    keep = source != target
    kinds = rng.choice(len(KIND_SHARES), size=n_edges, p=KIND_SHARES)
    created = 1.7e9 + rng.random(n_edges) * 7 * 86400
    posts = rng.integers(0, 2**62, (2, n_edges))
    return Edges.from_arrays(
        ids[source[keep]],
        ids[target[keep]],
        kinds[keep],
        created[keep],
        posts[0, keep],
        posts[1, keep],
    )


def time_networkx(graph, communities: bool) -> dict[str, float]:
    """Seconds networkx takes for the same work, for comparison."""
    import networkx as nx

    ids = graph.ids
    started = time.perf_counter()
    digraph = nx.DiGraph()
    digraph.add_weighted_edges_from(
        zip(
            ids[graph.source].tolist(),
            ids[graph.target].tolist(),
            graph.weight.tolist(),
            strict=True,
        )
    )
    seconds = {"networkx_build_seconds": time.perf_counter() - started}
    started = time.perf_counter()
    nx.pagerank(digraph, weight="weight")
    seconds["networkx_pagerank_seconds"] = time.perf_counter() - started
    undirected = digraph.to_undirected()
    started = time.perf_counter()
    nx.core_number(undirected)
    seconds["networkx_core_number_seconds"] = time.perf_counter() - started
    if communities:
        started = time.perf_counter()
        nx.community.louvain_communities(undirected, seed=0)
        seconds["networkx_louvain_seconds"] = time.perf_counter() - started
    return {k: round(v, 2) for k, v in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--communities", action="store_true", help="also time Louvain")
    parser.add_argument("--networkx", action="store_true", help="also time networkx's equivalents")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()
    edges = synthetic_edges(args.edges, args.seed)
    started = time.perf_counter()
    graph = build_graph(edges)
    build_seconds = time.perf_counter() - started
    scores = score_influence(graph)
    seconds = time.perf_counter() - started
    report: dict[str, float | int] = {
        "edges": args.edges,
        "seconds": round(seconds, 2),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.communities:
        started = time.perf_counter()
        labels = louvain(graph, seed=args.seed)
        report["communities_seconds"] = round(time.perf_counter() - started, 2)
        report["communities"] = int(labels.max()) + 1
        report["modularity"] = round(modularity(graph, labels), 4)
    if args.networkx:
        report.update(time_networkx(graph, args.communities))
    if args.json:
        print(json.dumps(report))
        return
    print(
        f"Synthetic graph: {len(edges):,} interactions, {graph.n_nodes:,} authors, "
        f"{graph.n_arcs:,} arcs"
    )
    print(
        f"Built in {build_seconds:.2f} s; ranked (PageRank, cores, reach, combined) in "
        f"{seconds:.2f} s in all; peak memory {report['peak_mb']:,.0f} MB"
    )
    top = scores.rows(top=1)[0]
    print(f"Top author {top['author_id']}: influence {top['influence']:.1f}")
    if args.communities:
        print(
            f"Louvain: {report['communities']:,} communities, modularity "
            f"{report['modularity']:.3f}, in {report['communities_seconds']:.1f} s"
        )
    for key, value in report.items():
        if key.startswith("networkx_"):
            print(
                f"{key.removeprefix('networkx_').replace('_seconds', '')} with networkx: "
                f"{value:.1f} s"
            )


if __name__ == "__main__":
    main()
