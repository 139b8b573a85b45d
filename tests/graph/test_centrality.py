import networkx as nx
import numpy as np
import pytest

import graph.centrality as centrality
from graph import Edges, build_graph, cascade_reach, core_numbers, pagerank
from graph.explore import to_networkx
from tests.graph.conftest import edges_of, random_edges


def test_pagerank_of_a_star_by_hand(star):
    # Hub h, leaves l: l = 0.85 h / 5 + 0.15 / 5 (the hub is dangling), h = 1 - 4 l.
    ranks = pagerank(build_graph(star))
    assert ranks[0] == pytest.approx(11 / 21, abs=1e-6)
    assert ranks[1:] == pytest.approx([2.5 / 21] * 4, abs=1e-6)


def test_pagerank_matches_networkx_on_a_weighted_graph():
    graph = build_graph(random_edges(3000, 400))
    ours = pagerank(graph, tol=1e-13, max_iter=500)
    theirs = nx.pagerank(to_networkx(graph), alpha=0.85, weight="weight", tol=1e-13, max_iter=500)
    assert ours == pytest.approx([theirs[i] for i in graph.ids.tolist()], abs=1e-9)


def test_core_numbers_by_hand(star, chain, two_communities):
    assert core_numbers(build_graph(star)).tolist() == [1] * 5
    assert core_numbers(build_graph(chain)).tolist() == [1] * 4
    assert core_numbers(build_graph(two_communities)).tolist() == [3] * 8


def test_core_numbers_match_networkx():
    graph = build_graph(random_edges(5000, 600, seed=3))
    undirected = to_networkx(graph).to_undirected()
    expected = nx.core_number(undirected)
    assert core_numbers(graph).tolist() == [expected[i] for i in graph.ids.tolist()]


def test_reach_of_a_chain_is_bounded_by_depth(chain):
    graph = build_graph(chain)
    assert cascade_reach(graph).tolist() == [2, 2, 1, 0]
    assert cascade_reach(graph, depth=3).tolist() == [3, 2, 1, 0]
    assert cascade_reach(build_graph(chain), depth=1).tolist() == [1, 1, 1, 0]


def test_reach_counts_distinct_users_and_only_reposts_and_quotes(star):
    graph = build_graph(star)
    assert cascade_reach(graph).tolist() == [4, 0, 0, 0, 0]
    assert cascade_reach(build_graph(edges_of([(1, 0), (2, 0)], kind="mention"))).tolist() == [
        0,
        0,
        0,
    ]


def test_large_reach_is_estimated_within_sketch_error():
    rng = np.random.default_rng(1)
    # 300 hubs, each with 20-400 amplifiers drawn from 5,000 users, who amplify each other too.
    source = rng.integers(0, 5000, 40_000) + 1000
    target = np.where(
        rng.random(40_000) < 0.5, rng.integers(0, 300, 40_000), rng.integers(0, 5000, 40_000) + 1000
    )
    graph = build_graph(
        Edges.from_arrays(source, target, np.zeros(40_000, dtype=int), np.zeros(40_000))
    )
    estimate = cascade_reach(graph, depth=2)
    matrix = graph.matrix_in.copy()
    matrix.data[:] = 1
    two_steps = (matrix + matrix @ matrix).tolil()
    two_steps.setdiag(0)
    exact = np.asarray((two_steps.tocsr() > 0).sum(axis=1)).ravel()
    big = exact > 200
    assert big.sum() > 100
    error = np.abs(estimate[big] - exact[big]) / exact[big]
    assert error.mean() < 0.12
    small = exact < 64
    assert (estimate[small] == exact[small]).all()


def test_core_numbers_finish_sequentially_after_many_rounds(monkeypatch):
    interactions = build_graph(random_edges(5000, 600, seed=3))
    expected = core_numbers(interactions).tolist()
    for rounds in (1, 3):
        monkeypatch.setattr(centrality, "MAX_PEEL_ROUNDS", rounds)
        assert core_numbers(interactions).tolist() == expected
