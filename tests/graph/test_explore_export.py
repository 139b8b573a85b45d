import networkx as nx
import pandas as pd
import pytest

from graph import (
    build_graph,
    ego_network,
    louvain,
    score_influence,
    to_networkx,
    write_edges_csv,
    write_gexf,
    write_graphml,
    write_nodes_csv,
)
from tests.graph.conftest import edges_of, random_edges


def test_ego_network_radius_and_cap(chain):
    graph = build_graph(chain)
    one = ego_network(graph, 1)
    assert set(one.nodes) == {0, 1, 2}
    assert one.nodes[1]["distance"] == 0 and one.nodes[2]["distance"] == 1
    assert set(ego_network(graph, 1, radius=2).nodes) == {0, 1, 2, 3}
    with pytest.raises(KeyError):
        ego_network(graph, 99)


def test_ego_network_keeps_the_closest_accounts_when_capped():
    # 5 talks to 1 three times, to 2 twice, to 3 once.
    graph = build_graph(edges_of([(5, 1)] * 3 + [(5, 2)] * 2 + [(3, 5)]))
    assert set(ego_network(graph, 5, max_nodes=3).nodes) == {5, 1, 2}


def test_networkx_view_carries_scores_and_plain_attributes(star):
    graph = build_graph(star)
    scores = score_influence(graph)
    view = to_networkx(graph, scores=scores, communities=louvain(graph), handles={0: "hub"})
    assert view.nodes[0]["label"] == "@hub" and view.nodes[0]["rank"] == 1
    assert "audience" not in view.nodes[0]  # unknown, left out
    assert view.edges[1, 0]["reposts"] == 1 and view.edges[1, 0]["count"] == 1
    assert all(type(v) in (int, float, str) for _, d in view.nodes(data=True) for v in d.values())


@pytest.mark.parametrize("fmt", ["gexf", "graphml"])
def test_exports_are_read_back_by_networkx(tmp_path, fmt):
    graph = build_graph(random_edges(800, 120, seed=4))
    scores = score_influence(graph, followers={int(graph.ids[0]): 12})
    view = to_networkx(graph, scores=scores, communities=louvain(graph))
    path = tmp_path / f"g.{fmt}"
    if fmt == "gexf":
        write_gexf(view, path)
        back = nx.read_gexf(path, node_type=int)
    else:
        write_graphml(view, path)
        back = nx.read_graphml(path, node_type=int)
    assert set(back.nodes) == set(view.nodes)
    assert set(back.edges) == set(view.edges)
    top = int(scores.ids[scores.order()[0]])
    assert back.nodes[top]["rank"] == 1
    assert back.nodes[top]["influence"] == pytest.approx(view.nodes[top]["influence"])
    u, v = next(iter(view.edges))
    assert back.edges[u, v]["weight"] == pytest.approx(view.edges[u, v]["weight"])


def test_csv_nodes_and_edges(tmp_path, star):
    graph = build_graph(star)
    scores = score_influence(graph)
    write_nodes_csv(scores, tmp_path / "nodes.csv", communities=louvain(graph), handles={0: "hub"})
    write_edges_csv(graph, tmp_path / "edges.csv")
    nodes = pd.read_csv(tmp_path / "nodes.csv")
    assert nodes.loc[0, "author_id"] == 0 and nodes.loc[0, "handle"] == "hub"
    assert nodes.loc[0, "reposts"] == 4 and nodes["audience"].isna().all()
    assert {"community", "points_amplification", "kcore"} <= set(nodes.columns)
    edges = pd.read_csv(tmp_path / "edges.csv")
    assert edges["target_author_id"].tolist() == [0, 0, 0, 0]
    assert edges["last_at"].iloc[0] == "2023-11-14T22:13:20Z"


def test_numpy_and_unknown_attributes_are_made_plain(tmp_path):
    import numpy as np

    from graph import amplification_path
    from tests.graph.test_paths import cascade

    tree = amplification_path(cascade(), 100, communities={1: 0, 3: 1}).tree
    tree.nodes[100]["score"] = np.float32(0.5)
    tree.nodes[200]["score"] = float("nan")
    write_graphml(tree, tmp_path / "tree.graphml")
    back = nx.read_graphml(tmp_path / "tree.graphml", node_type=int)
    assert set(back.edges) == set(tree.edges)
    assert back.nodes[100]["score"] == 0.5 and "score" not in back.nodes[200]
    assert back.nodes[300]["kind"] == "quote" and back.nodes[300]["community"] == 1
