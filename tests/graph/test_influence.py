import json

import numpy as np
import pytest

from graph import DEFAULT_WEIGHTS, Edges, GraphInputError, build_graph, louvain, score_influence
from tests.graph.conftest import NOW, edges_of, random_edges


def test_influence_is_absolute_so_an_author_scores_the_same_in_a_bigger_graph(star):
    alone = score_influence(build_graph(star)).explain(0)["influence"]
    bigger = Edges.from_arrays([10, 11, 12, 13, 14] * 4, [20, 20, 20, 20, 20] * 4,
                               ["repost"] * 20, [star.created_at.max()] * 20)
    both = Edges.from_arrays(np.r_[star.source, bigger.source], np.r_[star.target, bigger.target],
                             np.r_[star.kind, bigger.kind], np.r_[star.created_at,
                                                                  bigger.created_at])
    scores = score_influence(build_graph(both))
    assert scores.explain(0)["influence"] == pytest.approx(alone)
    assert scores.explain(20)["rank"] == 1 and scores.explain(0)["percentile"] < 100


def test_star_hub_ranks_first_with_hand_checked_components(star):
    scores = score_influence(build_graph(star))
    hub = scores.explain(0)
    assert hub["rank"] == 1
    c = hub["components"]
    assert (c["amplification"], c["unique_amplifiers"], c["reach"], c["kcore"]) == (4, 4, 4, 1)
    assert c["pagerank"] == pytest.approx(11 / 21, abs=1e-6)
    assert c["reposts"] == 4 and c["mentions"] == 0
    assert c["audience"] is None and c["negative_share"] is None
    # Absolute scale: 4 fresh interactions against half the points at 50, whatever the graph.
    expected = 100 * np.log1p(4) / (np.log1p(4) + np.log1p(50))
    assert hub["influence"] == pytest.approx(expected)
    assert sum(c["contributions"].values()) == pytest.approx(expected, abs=1e-3)
    assert hub["percentile"] == pytest.approx(80.0)
    # Leaves were amplified by nobody: no points at all, tied, ordered by id.
    assert [r["author_id"] for r in scores.rows()] == [0, 1, 2, 3, 4]
    assert scores.influence[1:].tolist() == [0.0] * 4


def test_chain_ranks_by_amplification_then_reach(chain):
    # The shipped weights use amplification alone; a caller's weight on reach separates ties.
    scores = score_influence(build_graph(chain), weights={"reach": 0.05})
    # 0, 1 and 2 each got one repost; 0 and 1 reach two users, 2 only one; 3 nobody amplified.
    assert [r["author_id"] for r in scores.rows()][-1] == 3
    assert scores.explain(2)["influence"] < scores.explain(1)["influence"]
    assert scores.components["reach"].tolist() == [2, 2, 1, 0]


def test_recent_amplification_outweighs_old():
    edges = Edges.from_arrays(
        [1, 2, 3, 4, 5],
        [10, 10, 20, 20, 20],
        [0] * 5,
        [NOW, NOW, NOW - 86400 * 3, NOW - 86400 * 3, NOW - 86400 * 3],
    )
    scores = score_influence(build_graph(edges, now=NOW))
    assert scores.explain(10)["rank"] == 1  # two fresh reposts beat three 3-day-old ones
    assert scores.explain(20)["components"]["amplification"] == pytest.approx(3 / 64)


def test_audience_negative_share_and_unknowns(star):
    graph = build_graph(star)
    scores = score_influence(
        graph,
        followers={0: 10, 1: 5000, 2: None},
        posts=(np.array([0, 1]), np.array([4, 0])),
        negative_posts={0: 3},
    )
    assert scores.explain(1)["components"]["audience"] == 5000
    assert scores.explain(3)["components"]["audience"] is None
    assert scores.explain(0)["components"]["negative_share"] == 0.75
    assert scores.explain(1)["components"]["negative_share"] is None
    # A big audience lifts a leaf above the others, never above measured amplification.
    assert scores.explain(1)["rank"] == 2
    # Unknown followers count as the median author's, not as zero.
    assert scores.explain(3)["influence"] > scores.explain(2)["influence"] - 1e-9


def test_weights_are_validated_and_can_be_changed(star):
    graph = build_graph(star)
    with pytest.raises(GraphInputError, match="unknown influence components"):
        score_influence(graph, weights={"likes": 1.0})
    with pytest.raises(GraphInputError, match="non-negative"):
        score_influence(graph, weights={"kcore": -1.0})
    only_core = score_influence(graph, weights={k: 0.0 for k in DEFAULT_WEIGHTS} | {"kcore": 1})
    assert only_core.weights["kcore"] == 1


def test_rank_is_invariant_to_edge_order():
    edges = random_edges(4000, 500, seed=7)
    shuffled = edges.select(np.random.default_rng(1).permutation(len(edges)))
    first = score_influence(build_graph(edges))
    second = score_influence(build_graph(shuffled))
    assert first.rows() == second.rows()
    assert louvain(build_graph(edges)).tolist() == louvain(build_graph(shuffled)).tolist()


def test_rows_are_json_ready_and_best_first():
    scores = score_influence(build_graph(random_edges(500, 80)), followers={})
    rows = scores.rows(top=10)
    assert [r["rank"] for r in rows] == list(range(1, 11))
    assert json.loads(json.dumps(rows)) == rows
    with pytest.raises(KeyError):
        scores.explain(-5)


def test_mentions_count_as_amplification_by_default():
    scores = score_influence(build_graph(edges_of([(1, 0), (2, 0)], kind="mention")))
    assert scores.explain(0)["components"]["amplification"] == 2
    assert scores.explain(0)["components"]["reach"] == 0


def test_an_empty_window_gives_empty_results():
    graph = build_graph(Edges.from_arrays([], [], np.array([], dtype=int), []))
    scores = score_influence(graph, followers={1: 10})
    assert scores.rows() == [] and len(scores.frame()) == 0
    assert louvain(graph).tolist() == []
