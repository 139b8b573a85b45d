"""Communities of the interaction graph (Louvain on arrays) and a readable label for each.

networkx's ``louvain_communities`` moves one node at a time in Python: 72 s on the 1M-edge
benchmark graph (``bench/graph.py``). This is the same method (Blondel et al. 2008: local moving,
then aggregation, repeated) with the local moving vectorised: each round takes the nodes in a
seeded random order, in 64 batches, and every node of a batch moves at once to its best
neighbouring community given the moves of the batches before it. (Moving all nodes at once, as
some parallel variants do, lets a hub's neighbours all pile into it together.) On the benchmark
graph it finds the same modularity as networkx (0.785) in about 6 s.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from graph._arrays import gather_rows, group, run_starts
from graph.build import AmplificationGraph

MAX_ROUNDS = 60
#: Nodes move in this many seeded random batches per round; each batch sees the moves before it.
BATCHES = 64
#: Stop moving nodes once modularity has gained less than MIN_GAIN for PATIENCE rounds running.
MIN_GAIN, PATIENCE = 1e-5, 3


def _symmetric(graph: AmplificationGraph) -> sp.csr_matrix:
    """Undirected weights: raw interaction counts in both directions (decay is for ranking)."""
    n = graph.n_nodes
    counts = graph.kind_counts.sum(axis=1).astype(np.float64)
    rows = np.concatenate([graph.source, graph.target])
    cols = np.concatenate([graph.target, graph.source])
    return sp.csr_matrix((np.concatenate([counts, counts]), (rows, cols)), shape=(n, n))


def modularity(graph: AmplificationGraph, labels: np.ndarray, resolution: float = 1.0) -> float:
    """Newman modularity of ``labels`` on the undirected, count-weighted graph."""
    return _modularity(_symmetric(graph).tocoo(), labels, resolution)


def _modularity(coo: sp.coo_matrix, labels: np.ndarray, resolution: float) -> float:
    total = coo.data.sum()
    if total == 0:
        return 0.0
    inside = coo.data[labels[coo.row] == labels[coo.col]].sum()
    strength = np.bincount(coo.row, weights=coo.data, minlength=len(labels))
    tot = np.bincount(labels, weights=strength)
    return float(inside / total - resolution * ((tot / total) ** 2).sum())


def _move_batch(
    batch: np.ndarray,
    adjacency: sp.csr_matrix,
    strength: np.ndarray,
    community: np.ndarray,
    tot: np.ndarray,
    resolution: float,
    total: float,
) -> int:
    """Move each node of ``batch`` to its best neighbouring community (in place); count moves."""
    n = len(community)
    indptr = adjacency.indptr
    rows = np.repeat(batch, indptr[batch + 1] - indptr[batch])
    cols = gather_rows(indptr, adjacency.indices, batch)
    weights = gather_rows(indptr, adjacency.data, batch)
    off = rows != cols
    if not off.any():
        return 0
    keys, inverse = group(rows[off] * n + community[cols[off]])
    link = np.bincount(inverse, weights=weights[off])
    node, target = keys // n, keys % n
    own = target == community[node]
    k = strength[node]
    # Modularity gain of joining `target` (up to a common factor); the node's own strength
    # leaves its current community first.
    gain = link - resolution * k * (tot[target] - own * k) / total
    starts = run_starts(node)
    owner = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(node)]))
    top = np.maximum.reduceat(gain, starts)
    choice = np.minimum.reduceat(np.where(gain >= top[owner], target, n), starts)
    movers = node[starts]
    current = community[movers]
    stay = -resolution * strength[movers] * (tot[current] - strength[movers]) / total
    stay[owner[own]] = gain[own]
    wants = (top > stay + 1e-9) & (choice != current)
    movers, choice = movers[wants], choice[wants]
    np.subtract.at(tot, community[movers], strength[movers])
    np.add.at(tot, choice, strength[movers])
    community[movers] = choice
    return len(movers)


def _move_nodes(
    adjacency: sp.csr_matrix, resolution: float, rng: np.random.Generator
) -> np.ndarray:
    """Local moving phase on one level; returns a community per node (not yet compacted)."""
    n = adjacency.shape[0]
    coo = adjacency.tocoo()
    strength = np.asarray(adjacency.sum(axis=1)).ravel()
    total = float(strength.sum())
    community = np.arange(n, dtype=np.int64)
    tot = strength.copy()
    best, best_q = community.copy(), _modularity(coo, community, resolution)
    stale = 0
    for _ in range(MAX_ROUNDS):
        moved = 0
        for batch in np.array_split(rng.permutation(n), min(n, BATCHES)):
            moved += _move_batch(batch, adjacency, strength, community, tot, resolution, total)
        if moved == 0:
            break
        q = _modularity(coo, community, resolution)
        stale = 0 if q > best_q + MIN_GAIN else stale + 1
        if q > best_q:
            best, best_q = community.copy(), q
        if stale == PATIENCE:
            break
    return best


def louvain(
    graph: AmplificationGraph, *, resolution: float = 1.0, seed: int = 0, max_levels: int = 20
) -> np.ndarray:
    """A community number per node of ``graph``, 0 for the largest community, 1 the next, ...

    Deterministic for a given seed and graph (edge order does not matter); ties in size are
    ordered by the smallest author id in the community.
    """
    n = graph.n_nodes
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    membership = np.arange(n, dtype=np.int64)
    adjacency = _symmetric(graph)
    rng = np.random.default_rng(seed)
    for _ in range(max_levels):
        moved = _move_nodes(adjacency, resolution, rng)
        _, compact = group(moved)
        size = int(compact.max()) + 1 if len(compact) else 0
        if size == adjacency.shape[0]:
            break
        membership = compact[membership]
        coo = adjacency.tocoo()
        adjacency = sp.csr_matrix(
            (coo.data, (compact[coo.row], compact[coo.col])), shape=(size, size)
        )
    sizes = np.bincount(membership, minlength=int(membership.max(initial=-1)) + 1)
    first = np.full(len(sizes), n, dtype=np.int64)
    np.minimum.at(first, membership, np.arange(n))
    order = np.lexsort((first, -sizes))
    relabel = np.empty(len(order), dtype=np.int64)
    relabel[order] = np.arange(len(order))
    return relabel[membership]


@dataclass(frozen=True)
class Community:
    """One community: who is in it, who leads it, and what it talks about."""

    number: int
    size: int
    label: str
    terms: list[str] = field(default_factory=list)
    #: Member author ids, most influential first (capped by ``label_communities``'s ``members``).
    top_authors: list[int] = field(default_factory=list)


def label_communities(
    ids: np.ndarray,
    labels: np.ndarray,
    *,
    tokens: Mapping[int, Iterable[str]] | None = None,
    handles: Mapping[int, str] | None = None,
    influence: np.ndarray | None = None,
    top_terms: int = 3,
    members: int = 5,
    min_size: int = 1,
) -> list[Community]:
    """Describe each community by its distinctive terms, or else by its leading handles.

    ``tokens`` maps an author id to the terms, hashtags or handles of their posts. A term's score
    in a community is the share of its members using it times log(authors / authors using it
    anywhere), so words everyone uses ("the", the brand name) do not label every community.
    """
    influence = np.zeros(len(ids)) if influence is None else np.asarray(influence, dtype=float)
    order = np.lexsort((ids, -influence))
    by_community: dict[int, list[int]] = {}
    for position in order.tolist():
        by_community.setdefault(int(labels[position]), []).append(position)
    used_by: dict[int, Counter[str]] = {}
    spread: Counter[str] = Counter()
    authors_with_tokens = 0
    label_of = dict(zip(ids.tolist(), labels.tolist(), strict=True))
    for author, words in (tokens or {}).items():
        if author in label_of:
            distinct = set(words)
            used_by.setdefault(label_of[author], Counter()).update(distinct)
            spread.update(distinct)
            authors_with_tokens += 1
    found = []
    for number in sorted(by_community):
        positions = by_community[number]
        if len(positions) < min_size:
            continue
        leaders = [int(ids[p]) for p in positions[:members]]
        counts = used_by.get(number, Counter())
        scored = sorted(
            (
                (-c / len(positions) * math.log(max(authors_with_tokens, 1) / spread[t] + 1.0), t)
                for t, c in counts.items()
                if c >= min(2, len(positions))
            )
        )
        terms = [t for _, t in scored[:top_terms]]
        if terms:
            label = ", ".join(terms)
        elif handles:
            label = ", ".join(f"@{handles[a]}" for a in leaders[:top_terms] if a in handles)
        else:
            label = ""
        found.append(
            Community(
                number=number,
                size=len(positions),
                label=label or f"community {number}",
                terms=terms,
                top_authors=leaders,
            )
        )
    return found
