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
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass

__all__ = [
    "Baseline",
    "Bins",
    "Medians",
    "VolumeAnomaly",
    "VolumeConfig",
    "anomalous",
    "baseline",
    "bin_posts",
    "could_be_anomalous",
    "medians",
    "score_bins",
    "score_window",
    "volume_anomaly",
    "window_sums",
]

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


def _windows(bins: Bins, ends: Sequence[int], width: int) -> list[list[float]]:
    """(negative, total, reach) summed over the `width` bins ending at each of `ends`.

    Plain Python, newest bin first, one addition after another: the same floats as summing an
    array of the bins, at a fraction of the cost for the handful of bins a window holds.
    """
    sums = []
    for e in ends:
        neg = total = reach = 0.0
        for j in range(width):
            v = bins.get(e - j, _ZERO)
            neg += v[0]
            total += v[1]
            reach += v[2]
        sums.append([neg, total, reach])
    return sums


def _median(xs: Sequence[float]) -> float:
    # statistics.median without its checks: called a few times per brand per minute.
    s, n = sorted(xs), len(xs)
    return float(s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2)


def _spread(samples: Sequence[float], floor: float) -> tuple[float, float]:
    """Median and robust scale (MAD, at least `floor`) of a baseline's samples."""
    med = _median(samples)
    mad = _median([abs(v - med) for v in samples])
    return med, max(1.4826 * mad, floor)


@dataclass(frozen=True, slots=True)
class Baseline:
    """What past windows say about the window ending at a bin: median and scale per measure.

    It reads only bins before that window, so a caller that scores the same end bin many times
    (the detector, every minute of a 5-minute bin) computes it once and scores the window
    with `score_window` while those bins are unchanged.
    """

    kind: str  # "hour_of_week", "hour_of_day", "trailing" or "none" (too little history)
    neg: tuple[float, float] = (0.0, 1.0)
    share: tuple[float, float] = (0.0, 1.0)
    reach: tuple[float, float] = (0.0, 1.0)


def _past(
    bins: Bins,
    end_bin: int,
    first_bin: int,
    c: VolumeConfig,
    windows: MutableMapping[int, list[float]] | None,
) -> tuple[str, list[list[float]]]:
    """The kind of baseline the window ending with `end_bin` gets, and its past windows' sums."""
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
    if not offsets:
        return kind, []
    ends = [end_bin - o for o in offsets]
    if windows is None:
        return kind, _windows(bins, ends, width)
    missing = [e for e in ends if e not in windows]
    windows.update(zip(missing, _windows(bins, missing, width), strict=True))
    return kind, [windows[e] for e in ends]


def baseline(
    bins: Bins,
    end_bin: int,
    first_bin: int,
    config: VolumeConfig,
    windows: MutableMapping[int, list[float]] | None = None,
) -> Baseline:
    """The baseline of the window ending with bin `end_bin` (`first_bin`: the series' first).

    `windows` keeps past window sums by end bin from call to call (consecutive end bins share
    most of theirs); the caller empties it when a bin before the current window changes.
    """
    c = config
    kind, past = _past(bins, end_bin, first_bin, c, windows)
    if not past:
        return Baseline(kind)
    negs = [v[0] for v in past]
    m = _median(negs)
    noise = math.sqrt(m + 1 + c.overdispersion * m * m)
    per_post = sum(v[2] for v in past) / max(sum(negs), 1)
    return Baseline(
        kind,
        _spread(negs, noise),
        _spread([v[0] / v[1] if v[1] else 0.0 for v in past], 0.05),
        _spread([v[2] for v in past], per_post * noise + 1),
    )


@dataclass(frozen=True, slots=True)
class Medians:
    """The medians of a window's baseline (`Baseline.neg[0]` and `Baseline.reach[0]`): two of
    its six medians, enough to tell most windows apart from an anomaly (`could_be_anomalous`)
    before the spreads are worked out."""

    kind: str
    neg: float = 0.0
    reach: float = 0.0


def medians(
    bins: Bins,
    end_bin: int,
    first_bin: int,
    config: VolumeConfig,
    windows: MutableMapping[int, list[float]] | None = None,
) -> Medians:
    """The medians of `baseline(bins, end_bin, first_bin, config, windows)`, the same floats."""
    kind, past = _past(bins, end_bin, first_bin, config, windows)
    if not past:
        return Medians(kind)
    return Medians(kind, _median([v[0] for v in past]), _median([v[2] for v in past]))


def window_sums(bins: Bins, end_bin: int, config: VolumeConfig) -> list[float]:
    """(negative, total, reach) of the window ending with bin `end_bin`, as `score_window`
    sums them."""
    return _windows(bins, (end_bin,), max(1, config.window_min // config.bin_min))[0]


def could_be_anomalous(neg: float, reach: float, m: Medians, config: VolumeConfig) -> bool:
    """False when a window with these sums is not anomalous against any baseline with these
    medians, whatever its spread (`anomalous` asks more: the z-scores too)."""
    c = config
    return m.kind != "none" and neg >= c.min_count and (
        neg >= c.min_ratio * m.neg or (reach > 0 and reach >= c.min_ratio * m.reach))


def anomalous(neg: float, reach: float, base: Baseline, config: VolumeConfig) -> bool:
    """`score_window(...).anomalous` for a window with these sums (`window_sums`), without
    building the VolumeAnomaly: the detector asks every minute of every brand, and almost
    every answer is no. The share never makes a window anomalous."""
    c = config
    if base.kind == "none" or neg < c.min_count:
        return False
    (neg_med, neg_scale), (reach_med, reach_scale) = base.neg, base.reach
    neg_z = float((neg - neg_med) / neg_scale)
    reach_z = float((reach - reach_med) / reach_scale)
    return (neg_z >= c.z_threshold and neg >= c.min_ratio * neg_med) or (
        reach_z >= c.z_threshold and reach >= c.min_ratio * reach_med and reach > 0)


def score_window(bins: Bins, end_bin: int, base: Baseline, config: VolumeConfig) -> VolumeAnomaly:
    """Score the window ending with bin `end_bin` against its `baseline`."""
    c = config
    neg, total, reach = _windows(bins, [end_bin], max(1, c.window_min // c.bin_min))[0]
    share = neg / total if total else 0.0
    if base.kind == "none":
        return VolumeAnomaly(_bin_end(end_bin, c), c.window_min, base.kind, int(neg), 0.0, 0.0,
                             share, 0.0, 0.0, reach, 0.0, 0.0, False)  # fmt: skip
    (neg_med, neg_scale), (share_med, share_scale), (reach_med, reach_scale) = (
        base.neg, base.share, base.reach)  # fmt: skip
    neg_z = float((neg - neg_med) / neg_scale)
    reach_z = float((reach - reach_med) / reach_scale)
    loud = anomalous(neg, reach, base, c)
    return VolumeAnomaly(
        _bin_end(end_bin, c),
        c.window_min,
        base.kind,
        int(neg),
        neg_med,
        neg_z,
        share,
        share_med,
        float((share - share_med) / share_scale),
        reach,
        reach_med,
        reach_z,
        bool(loud),
    )


def score_bins(bins: Bins, end_bin: int, first_bin: int, config: VolumeConfig) -> VolumeAnomaly:
    """Score the window ending with bin `end_bin`; `first_bin` is the series' first bin (history)."""
    return score_window(bins, end_bin, baseline(bins, end_bin, first_bin, config), config)


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
