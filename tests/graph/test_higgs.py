"""The issue's goal, checked on the real data at every rolling origin (bench/influence.py)."""

import importlib.util
from pathlib import Path

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
        # The shipped score is amplification alone, so the two rankings are the same.
        assert r["shipped"] == r["amplification"]
        for m in ("precision_at_100", "ndcg_at_100"):
            low, high = r["shipped"][m]["ci95"]
            assert low <= high
    # From day 3 on the shipped score is at least in-degree's on both metrics; at the day-2
    # origin (20,288 events) in-degree is one user ahead on P@100 (reported in docs/influence.md).
    for o in origins[2:]:
        r = o["rankings"]
        for m in ("precision_at_100", "ndcg_at_100"):
            assert r["shipped"][m]["value"] >= r["in_degree"][m]["value"], (o["origin"], m)
            assert r["shipped"][m]["value"] > r["posts"][m]["value"]


def test_coordination_flag_finds_injected_groups_in_real_higgs(shared_data):
    path = shared_data / "higgs" / "higgs-activity_time.txt.gz"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    bench = load_bench("coordination")
    higgs, _ = bench.load_higgs(path)
    result = bench.evaluate("higgs", higgs[higgs["kind"] == "repost"], groups=20, seed=3)
    assert result["default"]["recall"] >= 0.9
    assert result["default"]["fp_rate"] <= 0.01
