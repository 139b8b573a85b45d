"""The coordination flag on small hand-made activity: lock-step groups in, organic noise out."""

import numpy as np
import pytest

from graph.coordination import (
    GraphInputError,
    co_timed_pairs,
    coordinated_share,
    find_coordination,
)


def activity(seed: int = 0):
    """400 organic accounts reposting 300 items at random times over a week, plus one group of 6
    accounts that repost the same 8 items within 20 s of each other."""
    rng = np.random.default_rng(seed)
    n = 4000
    account = rng.integers(0, 400, n)
    item = rng.integers(0, 300, n)
    ts = rng.uniform(0, 7 * 86400, n)
    group = np.arange(1000, 1006)
    g_account = np.repeat(group, 8)
    g_item = np.tile(np.arange(8) * 30, 6)
    g_ts = np.tile(np.arange(8) * 3600.0, 6) + rng.uniform(0, 20, 48)
    return (np.r_[account, g_account], np.r_[item, g_item], np.r_[ts, g_ts]), group


def test_group_is_one_cluster_and_organic_accounts_are_not_flagged():
    (account, item, ts), group = activity()
    found = find_coordination(account, item, ts)
    assert found.clusters() and sorted(found.clusters()[0].tolist()) == group.tolist()
    assert set(found.flagged.tolist()) == set(group.tolist())
    assert (found.shared >= 4).all() and (found.similarity >= 0.2).all()


def test_the_flag_does_not_depend_on_input_order():
    (account, item, ts), _ = activity(1)
    order = np.random.default_rng(5).permutation(len(account))
    a = find_coordination(account, item, ts)
    b = find_coordination(account[order], item[order], ts[order])
    assert sorted(a.flagged.tolist()) == sorted(b.flagged.tolist())


def test_same_items_far_apart_in_time_are_not_co_timed():
    account = np.array([1, 2, 1, 2, 1, 2, 1, 2])
    item = np.array([1, 1, 2, 2, 3, 3, 4, 4])
    together = np.array([0, 5, 100, 110, 200, 230, 300, 301], dtype=float)
    ids, pa, pb, shared = co_timed_pairs(account, item, together)
    assert (ids[pa].tolist(), ids[pb].tolist(), shared.tolist()) == ([1], [2], [4])
    apart = together + np.array([0, 3600] * 4)
    assert len(co_timed_pairs(account, item, apart)[3]) == 0
    # Two accounts are not a cluster: a group needs three.
    assert len(find_coordination(account, item, together).flagged) == 0
    assert len(find_coordination(account, item, together, min_cluster=2).flagged) == 2


def test_share_of_a_story_from_clusters():
    (account, item, ts), group = activity()
    found = find_coordination(account, item, ts)
    story = np.r_[group[:4], [5, 6, 7, 8]]
    share = coordinated_share(found, story)
    assert share["share"] == pytest.approx(0.5)
    assert share["clusters"][0]["accounts"] == group[:4].tolist()
    assert coordinated_share(found, np.array([], dtype=np.int64))["share"] == 0.0


def test_bad_input_is_a_clear_error():
    with pytest.raises(GraphInputError, match="differ in length"):
        find_coordination([1, 2], [1], [0.0, 1.0])
