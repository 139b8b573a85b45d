from graph import Edges, amplification_path
from tests.graph.conftest import NOW


def cascade() -> Edges:
    """Post 100 by author 1. Author 2 reposts it (post 200), 3 quotes it (300); 4 reposts the
    quote (400) and 5 replies to it (500); 6 reposts 400 (600). Unrelated: 9 reposts post 900.
    The repost by 2 is recorded twice."""
    rows = [  # source author, target author, kind, minutes, source post, target post
        (2, 1, "repost", 1, 200, 100),
        (2, 1, "repost", 1, 200, 100),
        (3, 1, "quote", 2, 300, 100),
        (4, 3, "repost", 5, 400, 300),
        (5, 3, "reply", 6, 500, 300),
        (6, 4, "repost", 9, 600, 400),
        (9, 8, "repost", 3, 901, 900),
        (7, 1, "mention", 4, 700, 100),
    ]
    s, t, k, m, sp, tp = zip(*rows, strict=True)
    return Edges.from_arrays(s, t, k, [NOW + 60 * x for x in m], sp, tp)


def test_tree_of_a_small_cascade():
    path = amplification_path(cascade(), 100)
    tree = path.tree
    assert path.root_author == 1
    assert set(tree.edges) == {(100, 200), (100, 300), (300, 400), (300, 500), (400, 600)}
    assert tree.nodes[600]["depth"] == 3 and tree.nodes[600]["author"] == 6
    assert tree.nodes[300]["kind"] == "quote" and tree.nodes[500]["kind"] == "reply"
    assert path.size == 5 and path.depth == 3
    assert path.authors == {1, 2, 3, 4, 5, 6}
    assert path.bridges == []


def test_bridges_name_who_carried_the_post_into_each_community():
    communities = {1: 0, 2: 0, 3: 1, 4: 2, 5: 1, 6: 0}
    path = amplification_path(cascade(), 100, communities=communities)
    crossings = [(b.author_id, b.from_community, b.to_community, b.first) for b in path.bridges]
    # 3 took it from community 0 into 1; 4 from 1 into 2; 6 back into 0, where it started.
    assert crossings == [(3, 0, 1, True), (4, 1, 2, True), (6, 2, 0, False)]
    assert path.communities_reached() == [1, 2]


def test_unamplified_post_gives_a_single_node():
    path = amplification_path(cascade(), 600)
    assert path.size == 0 and path.root_author is None
