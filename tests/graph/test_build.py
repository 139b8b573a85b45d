import numpy as np
import pandas as pd
import pytest

from graph import Edges, GraphInputError, build_graph
from tests.graph.conftest import NOW, edges_of


def test_star_arcs_point_from_amplifier_to_amplified(star):
    graph = build_graph(star)
    assert graph.ids.tolist() == [0, 1, 2, 3, 4]
    assert graph.source.tolist() == [1, 2, 3, 4]
    assert graph.target.tolist() == [0, 0, 0, 0]
    assert graph.received().tolist() == [4.0, 0, 0, 0, 0]
    assert graph.received_by_kind()[0].tolist() == [4, 0, 0, 0]


def test_weights_halve_every_half_life_and_sum_per_pair():
    edges = Edges.from_arrays(
        [1, 1, 1],
        [0, 0, 0],
        ["repost", "quote", "mention"],
        [NOW, NOW - 12 * 3600, NOW - 24 * 3600],
    )
    graph = build_graph(edges, now=NOW)
    assert graph.n_arcs == 1
    assert graph.weight[0] == pytest.approx(1 + 0.5 + 0.25)
    assert graph.kind_counts[0].tolist() == [1, 1, 0, 1]
    assert graph.last_at[0] == NOW
    heavy = build_graph(edges, now=NOW, kind_weights={"mention": 4.0})
    assert heavy.weight[0] == pytest.approx(1 + 0.5 + 4 * 0.25)


def test_self_interactions_are_dropped_and_extra_authors_kept():
    edges = edges_of([(5, 5), (6, 5)])
    graph = build_graph(edges, authors=[9])
    assert graph.ids.tolist() == [5, 6, 9]
    assert graph.n_arcs == 1


def test_window_keeps_half_open_interval():
    edges = Edges.from_arrays([1, 2, 3], [0, 0, 0], [0, 0, 0], [10.0, 20.0, 30.0])
    assert edges.window(since=20, until=30).source.tolist() == [2]
    assert len(edges.window(since=11)) == 2


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(GraphInputError, match="unknown interaction kinds"):
        Edges.from_arrays([1], [2], ["like"], [0.0])
    with pytest.raises(GraphInputError, match="entries"):
        Edges.from_arrays([1, 2], [2], [0], [0.0])
    with pytest.raises(GraphInputError, match="codes"):
        Edges.from_arrays([1], [2], [7], [0.0])


def test_empty_input_gives_an_empty_graph():
    graph = build_graph(Edges.from_arrays([], [], np.array([], dtype=int), []))
    assert graph.n_nodes == 0 and graph.n_arcs == 0
    assert graph.index_of([3]).tolist() == [-1]


def test_store_shaped_input_is_accepted():
    edges = Edges.from_arrays(
        [1, 2],
        [0, 0],
        np.array(["reply", "quote"], dtype=object),
        np.array(["2024-01-01T00:00:00", "2024-01-01T12:00:00"], dtype="datetime64[s]"),
        source_post=[10, None],
        target_post=pd.array([5, None], dtype="Int64"),
    )
    assert edges.kind.tolist() == [2, 1]
    assert edges.created_at.tolist() == [1704067200.0, 1704110400.0]
    assert edges.source_post.tolist() == [10, -1] and edges.target_post.tolist() == [5, -1]
    with pytest.raises(GraphInputError, match="not floats"):
        Edges.from_arrays([1], [0], [0], [0.0], source_post=[1.5])
    with pytest.raises(GraphInputError, match="missing"):
        Edges.from_arrays([1], [0], np.array([None], dtype=object), [0.0])
