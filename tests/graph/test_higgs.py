"""The issue's goal, checked on the real data at every rolling origin (bench/influence.py)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def load_bench(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_rank_at_every_rolling_origin_on_higgs(shared_data):
    path = shared_data / "higgs" / "higgs-activity_time.txt.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    bench = load_bench("influence")
    events, posts = bench.load_higgs(path)
    report = bench.run("higgs", events, posts, resamples=10)
    origins = report["origins"]
    assert [o["origin"][:10] for o in origins] == [f"2012-07-0{d}" for d in range(2, 8)]
    assert origins[2]["events_before"] == 53_785  # the old 3-day split, as the issue measured it
    for o in origins:
        r = o["rankings"]
        # The shipped score is amplification alone, so the two rankings are the same, and the
        # paired interval of their difference is 0.
        for m in ("precision_at_100", "ndcg_at_100"):
            assert r["shipped"][m]["value"] == r["amplification"][m]["value"]
            assert r["amplification"][m]["shipped_minus_ci95"] == [0.0, 0.0]
        for m in ("precision_at_100", "ndcg_at_100"):
            low, high = r["shipped"][m]["ci95"]
            assert low <= high
    # The decay is chosen at each origin from the events before it (graph/decay.py), and the
    # shipped score stays at least in-degree's at 07-03 to 07-06 (07-03 and 07-04: the choice is
    # no decay, i.e. in-degree itself, equal up to fixed-point rounding); at 07-07 it trails by
    # one user in a hundred (reported in docs/influence.md).
    for o in origins[1:5]:
        r = o["rankings"]
        assert o["decay"]["label"], o["origin"]
        for m in ("precision_at_100", "ndcg_at_100"):
            assert r["shipped"][m]["value"] >= r["in_degree"][m]["value"] - 1e-3, (o["origin"], m)
            assert r["shipped"][m]["value"] > r["posts"][m]["value"]
    # At every later origin, where shipped trails a goal ranking the paired bootstrap interval of
    # the difference holds 0 (docs/influence.md: "within CI"), never a separated loss.
    vs = report["summary"]["shipped"]["vs"]
    assert len(vs) == 5
    assert not [(o, g, m) for o, cells in vs.items() for g, ms in cells.items()
                for m, word in ms.items() if word == "below"]
    # The walk-forward rows exist from the second origin on, chosen before each origin.
    assert origins[0]["learned"] is None and all(o["learned"] for o in origins[1:])


def test_twitter15_gets_a_long_memory_where_12_hours_forgot_everything(shared_data):
    """At the 2014-11 origin a 12 h half-life ranked nearly everyone at zero (P@100 0.05 against
    in-degree's 0.23); the decay chosen from the events before the origin does not."""
    path = shared_data / "cascades" / "twitter15.tar.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    bench = load_bench("influence")
    events, posts = bench.load_twitter15(path)
    users = np.unique(np.concatenate([events["a"], events["b"], posts["author"]]))
    ts = events["ts"].to_numpy()
    origin = bench.origins("twitter15", ts)[3]
    rankings, _, details = bench.rankings_at(events, posts, users, origin)
    decay = details["decay"]
    assert decay["half_life_s"] is None or decay["half_life_s"] >= 14 * 86400 or decay["floor"] >= 0.5
    future = ts >= origin
    truth = np.bincount(np.searchsorted(users, events["b"].to_numpy()[future]),
                        minlength=len(users)).astype(float)
    scored = bench.evaluate({k: rankings[k] for k in ("shipped", "in_degree", "amplification@12h")},
                            truth, 0, seed=3)
    p = {k: v["precision_at_100"]["value"] for k, v in scored.items()}
    assert p["shipped"] >= p["in_degree"] > p["amplification@12h"] + 0.1, p


def test_coordination_flag_finds_injected_groups_in_real_higgs(shared_data):
    path = shared_data / "higgs" / "higgs-activity_time.txt.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    bench = load_bench("coordination")
    higgs, _ = bench.load_higgs(path)
    result = bench.evaluate("higgs", higgs[higgs["kind"] == "repost"], groups=20, seed=3)
    assert result["default"]["recall"] >= 0.9
    assert result["default"]["fp_rate"] <= 0.01
