"""Volume anomaly: hand-checked robust scores, seasonal baselines and the minimum count."""

from __future__ import annotations

import math

import pytest

from graph.anomaly import VolumeConfig, bin_posts, score_bins, volume_anomaly

HOUR = 3600.0
DAY = 24 * HOUR
T0 = 1_700_000_000 - 1_700_000_000 % (7 * DAY)  # a bin-aligned start


def steady(hours: float, per_30min: int, start: float = T0, negative: bool = True):
    """`per_30min` posts spread evenly over every half hour."""
    n = int(hours * 2 * per_30min)
    step = 1800 / per_30min
    return [start + i * step for i in range(n)], [negative] * n


def test_bin_posts_counts():
    bins = bin_posts([0, 10, 299, 300, 601], [True, False, True, True, False], [5, 7, None, 2, 1])
    assert bins == {0: [2, 3, 5], 1: [1, 1, 2], 2: [0, 1, 0]}


def test_no_history_never_alerts():
    times = [T0 + i for i in range(50)]
    a = volume_anomaly(times, [True] * 50, T0 + 60)
    assert a.baseline == "none" and not a.anomalous and a.negative == 50


def test_trailing_baseline_by_hand():
    times, neg = steady(12, 2)
    at = T0 + 12 * HOUR + 29 * 60  # the window (12:00, 12:30] holds the burst
    burst = [T0 + 12 * HOUR + 60 + i for i in range(20)]
    a = volume_anomaly(times + burst, neg + [True] * 20, at)
    assert a.baseline == "trailing"
    assert a.negative == 20 and a.negative_baseline == 2
    # MAD is 0, so the negative-binomial floor rules: sqrt(2 + 1 + 0.25 * 2^2) = 2
    assert a.negative_z == pytest.approx((20 - 2) / 2)
    assert a.anomalous


def test_daily_peak_is_not_an_anomaly_but_a_new_one_is():
    times, neg = steady(5 * 24, 2)
    for d in range(5):  # every day at 09:00-09:30, 20 more negative posts
        times += [T0 + d * DAY + 9 * HOUR + 60 + i * 60 for i in range(20)]
        neg += [True] * 20
    at = T0 + 4 * DAY + 9 * HOUR + 29 * 60
    a = volume_anomaly(times, neg, at)
    assert a.baseline == "hour_of_day" and not a.anomalous
    at2 = T0 + 4 * DAY + 15 * HOUR + 29 * 60  # the same burst at 15:00 is news
    extra = [T0 + 4 * DAY + 15 * HOUR + 60 + i * 60 for i in range(20)]
    b = volume_anomaly(times + extra, neg + [True] * 20, at2)
    assert b.baseline == "hour_of_day" and b.anomalous


def test_hour_of_week_with_three_weeks():
    times, neg = steady(3 * 7 * 24 + 1, 2)
    a = volume_anomaly(times, neg, times[-1])
    assert a.baseline == "hour_of_week" and not a.anomalous


def test_minimum_count_keeps_quiet_brands_quiet():
    times, neg = steady(24, 1)
    quiet = [t for i, t in enumerate(times) if i % 10 == 0]  # a post every 5 hours
    at = T0 + 24 * HOUR + 29 * 60
    spike = [T0 + 24 * HOUR + 60 * i for i in range(1, 9)]  # 8 complaints: huge z, too few
    a = volume_anomaly(quiet + spike, [True] * (len(quiet) + 8), at)
    assert a.negative == 8 and a.negative_z > 4 and not a.anomalous
    cfg = VolumeConfig(min_count=5)
    assert volume_anomaly(quiet + spike, [True] * (len(quiet) + 8), at, config=cfg).anomalous


def test_share_and_reach():
    times, neg = steady(12, 10)
    neg = [i % 5 == 0 for i in range(len(times))]  # 20% negative, 2 per 30 min
    reach = [10.0] * len(times)
    at = T0 + 12 * HOUR + 29 * 60
    # 12 negative posts by big accounts: volume z = (12 - 2) / 2 = 5 and share jumps too
    burst = [T0 + 12 * HOUR + 60 + i for i in range(12)]
    a = volume_anomaly(times + burst, neg + [True] * 12, at, reach=reach + [1e5] * 12)
    assert a.share_baseline == pytest.approx(0.2)
    assert a.share == pytest.approx(12 / 12)  # the window holds only the burst
    assert a.share_z > 4 and a.reach_z > 4 and a.anomalous
    # Reach alone triggers: 10 negatives (no more than usual at 10/30 min) from huge accounts.
    neg2 = [True] * len(times)
    b = volume_anomaly(times, neg2, times[-1], reach=[10.0] * (len(times) - 10) + [1e6] * 10)
    assert b.negative_z < 4 and b.reach_z > 4 and b.anomalous


def test_batch_matches_bins():
    times, neg = steady(12, 3)
    cfg = VolumeConfig()
    at = times[-1]
    bins = bin_posts(times, neg, None, cfg.bin_min)
    end = int(at // (cfg.bin_min * 60))
    assert score_bins(bins, end, min(bins), cfg) == volume_anomaly(times, neg, at)
    assert math.isfinite(volume_anomaly(times, neg, at).negative_z)
