import networkx as nx
import pytest

from graph import build_graph, label_communities, louvain, modularity
from tests.graph.conftest import random_edges


def test_two_groups_are_found(two_communities):
    graph = build_graph(two_communities)
    labels = louvain(graph)
    by_id = dict(zip(graph.ids.tolist(), labels.tolist(), strict=True))
    assert {by_id[i] for i in (10, 11, 12, 13)} == {0}
    assert {by_id[i] for i in (20, 21, 22, 23)} == {1}
    # 6 edges of weight 2 (both directions) per group plus the bridge: m = 25, each group's
    # degree 25, so Q = 2 * (12/25 - (25/50)**2).
    assert modularity(graph, labels) == pytest.approx(0.46)


@pytest.mark.parametrize("seed", [2, 5])
def test_louvain_is_as_good_as_networkx_on_random_graphs(seed):
    graph = build_graph(random_edges(6000, 800, seed=seed))
    undirected = nx.Graph()
    undirected.add_nodes_from(range(graph.n_nodes))
    counts = graph.kind_counts.sum(axis=1).tolist()
    for s, t, c in zip(graph.source.tolist(), graph.target.tolist(), counts, strict=True):
        undirected.add_edge(
            s, t, weight=undirected.get_edge_data(s, t, {"weight": 0})["weight"] + c
        )
    theirs = nx.community.modularity(
        undirected, nx.community.louvain_communities(undirected, seed=0)
    )
    ours = modularity(graph, louvain(graph, seed=0))
    assert ours > theirs - 0.01


def test_labels_prefer_distinctive_terms_then_handles(two_communities):
    graph = build_graph(two_communities)
    labels = louvain(graph)
    tokens = {
        10: ["#delay", "the"],
        11: ["#delay", "the"],
        12: ["the"],
        20: ["#refund", "the"],
        21: ["#refund", "the"],
        22: ["the"],
    }
    found = label_communities(graph.ids, labels, tokens=tokens)
    assert [c.terms[0] for c in found] == ["#delay", "#refund"]
    assert all(c.size == 4 for c in found)
    plain = label_communities(graph.ids, labels, handles={10: "ana", 20: "bo"})
    assert plain[0].label == "@ana" and plain[1].label == "@bo"
    assert label_communities(graph.ids, labels)[0].label == "community 0"
