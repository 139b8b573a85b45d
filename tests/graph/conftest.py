"""Small hand-made graphs whose answers can be worked out on paper."""

from __future__ import annotations

import numpy as np
import pytest

from graph import Edges

NOW = 1_700_000_000.0


def edges_of(arcs: list[tuple[int, int]], kind: str = "repost", at: float = NOW) -> Edges:
    """One interaction of ``kind`` at time ``at`` per (source, target) pair."""
    source, target = zip(*arcs, strict=True)
    return Edges.from_arrays(source, target, [kind] * len(arcs), [at] * len(arcs))


@pytest.fixture
def star() -> Edges:
    """Leaves 1-4 each repost hub 0 once."""
    return edges_of([(leaf, 0) for leaf in range(1, 5)])


@pytest.fixture
def chain() -> Edges:
    """3 reposts 2, 2 reposts 1, 1 reposts 0."""
    return edges_of([(3, 2), (2, 1), (1, 0)])


@pytest.fixture
def two_communities() -> Edges:
    """Two groups of four who all reply to each other, and one repost from group A to group B."""
    a, b = [10, 11, 12, 13], [20, 21, 22, 23]
    arcs = [(x, y) for group in (a, b) for x in group for y in group if x != y]
    return Edges.from_arrays(
        [s for s, _ in arcs] + [10],
        [t for _, t in arcs] + [20],
        ["reply"] * len(arcs) + ["repost"],
        [NOW] * (len(arcs) + 1),
    )


def random_edges(n_edges: int, n_authors: int, seed: int = 0) -> Edges:
    """A random heavy-tailed interaction set with posts, for invariance and scale checks."""
    rng = np.random.default_rng(seed)
    popularity = rng.zipf(1.8, n_authors).astype(float)
    target = rng.choice(n_authors, n_edges, p=popularity / popularity.sum())
    source = rng.integers(0, n_authors, n_edges)
    ids = rng.integers(0, 2**62, n_authors)
    return Edges.from_arrays(
        ids[source],
        ids[target],
        rng.integers(0, 4, n_edges),
        NOW - rng.random(n_edges) * 3 * 86400,
        rng.integers(0, 2**62, n_edges),
        rng.integers(0, 2**62, n_edges),
    )
