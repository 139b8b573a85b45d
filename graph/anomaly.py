"""Volume anomaly: is a brand getting unusually many negative mentions right now?

Volume alerts of the "last hour vs the past 12 hours" kind fire every Monday morning and every
evening peak. We compare a sliding window with the same window at the same time of the week
(hour of week) in past weeks; with less history, the same time of day in past days; with less
still, the windows of the past day. Median and MAD make the baseline robust to the past bursts it
contains, a Poisson floor keeps a flat baseline from turning one extra post into a huge z-score,
and a minimum count keeps quiet brands from alerting on noise. The floor is negative-binomial rather
than Poisson because mentions clump (one angry customer posts five times).

Three measures are scored: negative volume, negative share of all mentions, and reach-weighted
negative volume (followers of the authors). Volume or reach trigger; share only adds evidence
(a promotion that brings many neutral posts should not hide a complaint burst, nor cause one).

Series are kept in fixed bins (default 5 minutes): a mapping bin index -> (negative, total,
reach), bin index = floor(unix seconds / bin seconds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Bins", "VolumeAnomaly", "VolumeConfig", "bin_posts", "score_bins", "volume_anomaly"]

Bins = Mapping[int, Sequence[float]]  # bin index -> (negative, total, reach)
WEEK_MIN = 7 * 24 * 60
DAY_MIN = 24 * 60


@dataclass(frozen=True, slots=True)
class VolumeConfig:
    window_min: int = 30
    bin_min: int = 5
    min_count: int = 10  # negative posts in the window before it may alert
    z_threshold: float = 4.0
    min_ratio: float = 2.0  # and at least this many times the baseline median
    min_periods: int = 3  # past weeks (or days) needed for a seasonal baseline
    max_periods: int = 8
    trailing_min: int = 6 * 60  # history needed for the trailing (non-seasonal) baseline
    # Mentions come in clumps: the noise floor is negative-binomial, var = m + overdispersion*m^2.
    overdispersion: float = 0.25


@dataclass(frozen=True, slots=True)
class VolumeAnomaly:
    at: float  # unix seconds, end of the window
    window_min: int
    baseline: str  # "hour_of_week", "hour_of_day", "trailing" or "none" (too little history)
    negative: int
    negative_baseline: float
    negative_z: float
    share: float
    share_baseline: float
    share_z: float
    reach: float
    reach_baseline: float
    reach_z: float
    anomalous: bool


def bin_posts(
    times_s: Sequence[float],
    negative: Sequence[bool],
    reach: Sequence[float | None] | None = None,
    bin_min: int = 5,
) -> dict[int, list[float]]:
    """Count posts into bins: (negative, total, reach of negative posts; unknown reach = 0)."""
    bins: dict[int, list[float]] = {}
    width = bin_min * 60
    for i, t in enumerate(times_s):
        b = bins.setdefault(int(t // width), [0.0, 0.0, 0.0])
        b[1] += 1
        if negative[i]:
            b[0] += 1
            b[2] += float(reach[i] or 0) if reach is not None else 0.0
    return bins


_ZERO = (0.0, 0.0, 0.0)


def _windows(bins: Bins, ends: Sequence[int], width: int) -> np.ndarray:
    """(negative, total, reach) summed over the `width` bins ending at each of `ends`."""
    idx = [e - j for e in ends for j in range(width)]
    vals = np.array([bins.get(i, _ZERO) for i in idx], dtype=float)
    return vals.reshape(len(ends), width, 3).sum(1)


def _median(xs: Sequence[float]) -> float:
    # statistics.median without its checks: called a few times per brand per minute.
    s, n = sorted(xs), len(xs)
    return float(s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2)


def _robust(x: float, samples: Sequence[float], floor: float) -> tuple[float, float]:
    med = _median(samples)
    mad = _median([abs(v - med) for v in samples])
    return med, float((x - med) / max(1.4826 * mad, floor))


def score_bins(bins: Bins, end_bin: int, first_bin: int, config: VolumeConfig) -> VolumeAnomaly:
    """Score the window ending with bin `end_bin`; `first_bin` is the series' first bin (history)."""
    c = config
    width = max(1, c.window_min // c.bin_min)
    history_min = (end_bin - first_bin) * c.bin_min
    kind, offsets = "none", []
    for name, period in (("hour_of_week", WEEK_MIN), ("hour_of_day", DAY_MIN)):
        if history_min >= c.min_periods * period:
            n = min(c.max_periods, history_min // period)
            kind, offsets = name, [k * period // c.bin_min for k in range(1, n + 1)]
            break
    else:
        if history_min >= c.trailing_min:
            n = min(DAY_MIN, history_min) // c.window_min
            kind, offsets = "trailing", [k * width for k in range(1, n + 1)]
    neg, total, reach = (float(v) for v in _windows(bins, [end_bin], width)[0])
    share = neg / total if total else 0.0
    if not offsets:
        return VolumeAnomaly(
            _bin_end(end_bin, c),
            c.window_min,
            kind,
            int(neg),
            0.0,
            0.0,
            share,
            0.0,
            0.0,
            reach,
            0.0,
            0.0,
            False,
        )
    past = _windows(bins, [end_bin - o for o in offsets], width).tolist()
    negs = [v[0] for v in past]
    m = _median(negs)
    noise = math.sqrt(m + 1 + c.overdispersion * m * m)
    neg_med, neg_z = _robust(neg, negs, noise)
    share_med, share_z = _robust(share, [v[0] / v[1] if v[1] else 0.0 for v in past], 0.05)
    per_post = sum(v[2] for v in past) / max(sum(negs), 1)
    reach_med, reach_z = _robust(reach, [v[2] for v in past], per_post * noise + 1)
    loud = neg >= c.min_count and (
        (neg_z >= c.z_threshold and neg >= c.min_ratio * neg_med)
        or (reach_z >= c.z_threshold and reach >= c.min_ratio * reach_med and reach > 0)
    )
    return VolumeAnomaly(
        _bin_end(end_bin, c),
        c.window_min,
        kind,
        int(neg),
        neg_med,
        neg_z,
        share,
        share_med,
        share_z,
        reach,
        reach_med,
        reach_z,
        bool(loud),
    )


def _bin_end(end_bin: int, config: VolumeConfig) -> float:
    return float((end_bin + 1) * config.bin_min * 60)


def volume_anomaly(
    times_s: Sequence[float],
    negative: Sequence[bool],
    at_s: float,
    reach: Sequence[float | None] | None = None,
    config: VolumeConfig | None = None,
) -> VolumeAnomaly:
    """Batch form: score the window ending at `at_s` from a brand's posts (all of them, any
    order; posts after `at_s` are ignored)."""
    c = config or VolumeConfig()
    keep = [i for i, t in enumerate(times_s) if t <= at_s]
    bins = bin_posts(
        [times_s[i] for i in keep],
        [negative[i] for i in keep],
        None if reach is None else [reach[i] for i in keep],
        c.bin_min,
    )
    end = int(at_s // (c.bin_min * 60))
    return score_bins(bins, end, min(bins, default=end), c)
