"""The recency weighting chosen from the history: what it picks, and that it sees no future."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graph import Edges, build_graph
from graph.build import DEFAULT_HALF_LIFE_S
from graph.decay import Decay, choose_decay

DAY = 86400.0


def bursty(seed: int = 0, days: int = 60, per_day: int = 200):
    """Each day a different small set of authors is hot and stays hot for about a day, while a
    few old stars, big long ago, get nothing new: recency predicts, lifetime counts mislead."""
    rng = np.random.default_rng(seed)
    target, ts = [], []
    for star in range(20):  # lifetime leaders from the first days, silent afterwards
        target += [1_000_000 + star] * 400
        ts += list(rng.uniform(0, 2 * DAY, 400))
    for day in range(days):
        hot = rng.choice(50_000, 150, replace=False)
        target += list(rng.choice(hot, per_day * 5))
        ts += list(day * DAY + rng.uniform(0, DAY, per_day * 5))
    return np.array(target), np.array(ts)


def steady(seed: int = 0, years: int = 4, n: int = 20_000):
    """A sparse sample spread over years where who gets amplified is a fixed trait of the
    author (a popularity drawn once): the last days hold almost nothing, lifetime counts win."""
    rng = np.random.default_rng(seed)
    popularity = rng.pareto(1.2, 5000) + 1
    target = rng.choice(5000, n, p=popularity / popularity.sum())
    ts = rng.uniform(0, years * 365 * DAY, n)
    return target, ts


def test_a_bursty_history_gets_a_short_memory():
    target, ts = bursty()
    decay = choose_decay(target, ts)
    assert decay.half_life_s <= 4 * DAY and decay.floor < 0.9, decay
    assert decay.scores["none"] < max(decay.scores.values())


def test_a_steady_sparse_history_gets_a_long_memory_or_none():
    target, ts = steady()
    decay = choose_decay(target, ts)
    assert decay.half_life_s >= 90 * DAY or decay.floor >= 0.8, decay


def test_the_choice_ignores_everything_after_now_and_the_order_of_events():
    target, ts = bursty()
    now = float(np.quantile(ts, 0.7))
    past = ts <= now
    alone = choose_decay(target[past], ts[past], now)
    # Events after `now` (here: a later history with another shape) change nothing.
    later_t, later_ts = steady(seed=1)
    mixed = choose_decay(np.concatenate([target, later_t + 10**7]),
                         np.concatenate([ts, later_ts + ts.max() + DAY]), now)
    assert (mixed.half_life_s, mixed.floor, mixed.scores) == (
        alone.half_life_s, alone.floor, alone.scores)
    order = np.random.default_rng(5).permutation(past.sum())
    shuffled = choose_decay(target[past][order], ts[past][order], now)
    assert (shuffled.half_life_s, shuffled.floor) == (alone.half_life_s, alone.floor)


def test_self_interactions_do_not_count():
    target, ts = bursty()
    # Authors that amplify only themselves, a lot, at the end: dropped, so nothing changes.
    extra = np.arange(2_000_000, 2_000_050).repeat(100)
    with_self = choose_decay(np.concatenate([target, extra]),
                             np.concatenate([ts, np.full(len(extra), ts.max())]),
                             source=np.concatenate([np.zeros(len(target), int) - 1, extra]))
    plain = choose_decay(target, ts)
    assert (with_self.half_life_s, with_self.floor) == (plain.half_life_s, plain.floor)


def test_a_short_history_keeps_the_defaults():
    decay = choose_decay(np.arange(50), np.arange(50.0))
    assert (decay.half_life_s, decay.floor) == (DEFAULT_HALF_LIFE_S, 0.0)
    assert "too few" in decay.reason


def test_labels_and_json_form():
    assert Decay(12 * 3600.0, 0.0, "").label == "12 h"
    assert Decay(90 * DAY, 0.5, "").label == "90 d, floor 0.5"
    none = Decay(math.inf, 0.0, "")
    assert none.label == "none (in-degree)" and none.as_dict()["half_life_s"] is None


def test_build_graph_floor_keeps_part_of_every_interaction_forever():
    edges = Edges.from_arrays([1, 1], [0, 0], ["repost", "repost"], [0.0, 10 * DAY])
    now = 10 * DAY
    assert build_graph(edges, now=now, half_life_s=DAY).weight[0] == pytest.approx(
        1 + 2.0**-10, abs=1e-6)
    assert build_graph(edges, now=now, half_life_s=DAY, decay_floor=0.5).weight[0] == (
        pytest.approx(1 + 0.5 + 0.5 * 2.0**-10, abs=1e-6))
    assert build_graph(edges, now=now, half_life_s=math.inf).weight[0] == 2.0
    with pytest.raises(ValueError):
        build_graph(edges, decay_floor=1.5)
