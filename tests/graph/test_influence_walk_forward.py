"""The bench's walk-forward choices see nothing from the origin they are tested on onwards.

On a real slice of Higgs (its first two and a half days, 32,629 events): rewriting every event from an
origin on (who received it) leaves the choices made at that origin unchanged (the recency
weighting, the learned weight set, the best single measure, and the scores that chose them),
while rewriting the events just before it moves those scores, so the check is not vacuous.
"""

import numpy as np
import pytest

from tests.graph.test_higgs import load_bench

DAY = 86400.0


@pytest.fixture(scope="module")
def higgs_slice(shared_data):
    path = shared_data / "higgs" / "higgs-activity_time.txt.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    bench = load_bench("influence")
    events, posts = bench.load_higgs(path)
    start = events["ts"].min()
    keep = events["ts"] < start + 2.5 * DAY
    return bench, events[keep].reset_index(drop=True), posts[posts["ts"] < start + 2.5 * DAY]


def rewrite_targets(events, mask, seed):
    """The same events, times and kinds, but received by other real users of the slice."""
    out = events.copy()
    users = np.unique(events["b"])
    out.loc[mask, "b"] = np.random.default_rng(seed).choice(users, int(mask.sum()))
    # Only rewritten events can become self-loops; drop those, leave the rest as they were.
    return out[~(mask & (out["a"] == out["b"]).to_numpy())].reset_index(drop=True)


def choices(report, at):
    o = report["origins"][at]
    return (o["decay"], o["learned"], o["best_single"], o["walk_forward_scores"])


def test_walk_forward_choices_ignore_everything_from_the_origin_on(higgs_slice):
    bench, events, posts = higgs_slice
    plain = bench.run("higgs", events, posts, resamples=0)
    assert len(plain["origins"]) == 2
    last = plain["origins"][-1]["origin_ts"]
    assert plain["origins"][-1]["learned"] and plain["origins"][-1]["best_single"]
    after = rewrite_targets(events, events["ts"].to_numpy() >= last, seed=1)
    future = bench.run("higgs", after, posts, resamples=0)
    assert choices(future, -1) == choices(plain, -1)
    # ...while what is tested there does change: the rewrite reached the truth.
    assert future["origins"][-1]["future_reposts"] > 0
    assert future["origins"][-1]["rankings"] != plain["origins"][-1]["rankings"]
    # The day before the origin is what the choice is made on: rewriting it moves the scores.
    ts = events["ts"].to_numpy()
    before = rewrite_targets(events, (ts >= last - DAY) & (ts < last), seed=2)
    moved = bench.run("higgs", before, posts, resamples=0)
    assert moved["origins"][-1]["walk_forward_scores"] != plain["origins"][-1]["walk_forward_scores"]


def test_walk_forward_refuses_an_origin_that_is_not_earlier(higgs_slice):
    bench, events, _ = higgs_slice
    n = 10
    history = [{"origin": 5.0, "tiebreak": np.arange(n), "tops": {"x": np.arange(3)}}]
    target, ts = np.arange(n), np.arange(n, dtype=float)
    reposts = np.ones(n, bool)
    assert bench.walk_forward(history, target, ts, reposts, 8.0, n)[0] == "x"
    with pytest.raises(ValueError):
        bench.walk_forward(history, target, ts, reposts, 5.0, n)

