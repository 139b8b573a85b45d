"""The detector's shortcuts (docs/alerts.md, Speed) decide what the full computations decide.

The brand window is scored only when its medians say it could be anomalous; a cascade's ranked
amplifiers and influencer involvement are kept between evaluations (not in the checkpoint);
the mentions that left the window are dropped from the front while they come in time order.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np

from graph.anomaly import (
    VolumeConfig,
    anomalous,
    baseline,
    could_be_anomalous,
    medians,
    score_window,
    window_sums,
)
from graph.cascades import influencer_involvement
from graph.detector import Detector, DetectorConfig, SignalPost

T0 = 1_700_000_000.0
BIN = 300


def _series(seed: int, days: int = 25) -> dict[int, list[float]]:
    """Five-minute bins with a daily cycle, clumps and a few bursts of negative posts."""
    rng = np.random.default_rng(seed)
    bins = {}
    start = int(T0 // BIN)
    for i in range(days * 288):
        rate = 6 + 4 * np.sin(2 * np.pi * i / 288)
        neg = float(rng.negative_binomial(4, 4 / (4 + rate)))
        if rng.random() < 0.01:  # a burst
            neg += float(rng.integers(10, 60))
        reach = float(sum(rng.lognormal(5.5, 1.8, int(neg))))
        bins[start + i] = [neg, neg + float(rng.poisson(3 * rate)), reach]
    return bins


def test_the_window_shortcuts_agree_with_the_full_score():
    config = VolumeConfig(trailing_min=24 * 60)
    seen = {"anomalous": 0, "ruled_out": 0, "scored": 0}
    for seed in (1, 2):
        bins = _series(seed)
        first = min(bins)
        windows: dict[int, list[float]] = {}
        for end in range(first, max(bins) + 1, 7):
            base = baseline(bins, end, first, config)
            m = medians(bins, end, first, config, windows)
            assert m.kind == base.kind
            if base.kind != "none":
                assert (m.neg, m.reach) == (base.neg[0], base.reach[0])
            full = score_window(bins, end, base, config)
            neg, total, reach = window_sums(bins, end, config)
            assert (neg, reach) == (full.negative, full.reach)
            assert anomalous(neg, reach, base, config) == full.anomalous
            if not could_be_anomalous(neg, reach, m, config):
                assert not full.anomalous
                seen["ruled_out"] += 1
            else:
                seen["scored"] += 1
            seen["anomalous"] += full.anomalous
    # Not vacuous: windows of every kind were met.
    assert all(v > 20 for v in seen.values()), seen


def _stream() -> list[SignalPost]:
    """A day of background on brand A, a cascade whose ranked amplifiers come late, and
    negative posts that arrive after newer ones (late)."""
    posts, step = [], 120.0
    for i in range(int(1.5 * 86400 / step)):
        posts.append(SignalPost(f"bg{i}", "A", T0 + i * step, i % 3 == 0, author=i % 300,
                                themes=("Late Flight",)))
    onset = T0 + 86400
    posts.append(SignalPost("root", "A", onset, True, author=9000, themes=("Lost Luggage",)))
    for j in range(120):
        posts.append(SignalPost(f"r{j}", "A", onset + 20 * j + 1, True, author=9001 + j,
                                parent="root"))
    posts.sort(key=lambda p: (p.at, p.id))
    # Twenty complaints posted an hour into the cascade, read after everything else.
    late = [SignalPost(f"late{k}", "A", onset + 3600 + 30 * k, True, author=50 + k)
            for k in range(20)]
    cut = next(i for i, p in enumerate(posts) if p.at > onset + 2 * 3600)
    return posts[:cut] + late + posts[cut:]


RANKS = {9001 + 60: 3, 9001 + 90: 1, 9001 + 119: 7}  # amplifiers far into the cascade


def _run(posts, resume_at: int | None = None, chunk: int = 97):
    det = Detector(DetectorConfig(top_n=25, min_influencer_events=20), ranks=RANKS)
    updates = []
    for i in range(0, len(posts), chunk):
        if resume_at is not None and i >= resume_at:
            det = Detector.from_json(det.to_json(), DetectorConfig(top_n=25,
                                     min_influencer_events=20), ranks=RANKS)
            resume_at = None
        updates += det.process(posts[i:i + chunk])
    return det, updates


def test_kept_involvement_is_what_a_fresh_scan_finds_and_survives_a_resume():
    posts = _stream()
    det, updates = _run(posts)
    story = det._stories["cascade:root"]
    c = det._cascades["root"]
    fresh = influencer_involvement(
        [(c.root, c.root_author, [e.author for e in c.events if e.author in RANKS])], RANKS, 25)
    assert story.influencers == fresh and {v.rank for v in fresh} == {1, 3, 7}
    # Resumed from a checkpoint half way (the kept lists are not in it): the same stories,
    # updates and final state.
    again, updates_again = _run(posts, resume_at=len(posts) // 2)
    assert [asdict(s) for s in updates_again] == [asdict(s) for s in updates]
    assert json.loads(again.to_json()) == json.loads(det.to_json())


def test_recent_mentions_are_the_window_in_and_out_of_time_order():
    """Right after each evaluation of brand A, its recent mentions are exactly the negative
    posts read so far that are inside the window, in the order they were read."""
    posts = _stream()
    det = Detector()
    window = det.config.volume.window_min * 60
    read, checked, late_seen = [], 0, False
    for p in posts:
        det.process([p])
        if p.negative:
            read.append(p)
        brand = det._brands["A"]
        if brand.evaluated_at == det.now and p.at == det.now:  # evaluated on this post
            horizon = det.now - window
            assert [r.key for r in brand.recent] == [q.id for q in read if q.at > horizon]
            checked += 1
            late_seen |= any(q.id.startswith("late") for q in read)
    assert checked > 500 and late_seen
