"""Severity: the calibrated probability that a story becomes big.

A brand team reads severity as "how likely is this to blow up", so it is that probability, not
a saturating sum of signals: P(the story reaches `DetectorConfig.viral_size` posts), from a
logistic model of what the detector knows about the story at that moment (its size against the
big size, the growth forecast's P(viral), the volume anomaly, the influencers, its age). A story
that already reached the big size has severity 1; below that, ties between stories at the same
probability are the store's to break by size.

The model (`graph/models/severity.json`) is fitted by `python bench/fit_severity.py` on replays
of the airline tweets (real brand volume) with synthetic cascades of 5 to 2,000 reactions injected
at seeds the benchmark does not use; the label of a story snapshot is whether the story ended at
or above the big size. Influencer involvement is an input like the others: it is worth what it
predicts, so an influencer on a 7-reaction cascade does not make the story "high".
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FEATURES", "SeverityModel", "features", "fit_logistic", "load_severity_model"]

MODEL_PATH = Path(__file__).parent / "models" / "severity.json"
FEATURES = (
    "log_size_over_big",  # log((posts + 1) / big size): how far it still has to go
    "forecast_logit",  # logit of the growth forecast's P(final >= big), 0 without a forecast
    "has_forecast",
    "volume_log_ratio",  # log((window negatives + 1) / (usual + 1)), while the volume is anomalous
    "volume_z",  # the window's negative z-score, clipped to [0, 30], while anomalous
    "influencer",  # 1 - (best rank - 1) / top_n: a top-ranked author is in the story
    "log_age",  # log1p(minutes since the story's first post)
    "burst",  # a volume burst of separate posts, not one cascade
)


@dataclass(frozen=True, slots=True)
class SeverityModel:
    """Logistic coefficients on standardised features (mean and scale kept with them)."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    _terms: tuple[tuple[float, float], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Plain floats: eight products in Python cost less than building arrays, and the
        # detector asks at every story update.
        terms = tuple(zip(self.mean.tolist(), (self.coef / self.scale).tolist(), strict=True))
        object.__setattr__(self, "_terms", terms)

    def probability(self, x: Sequence[float]) -> float:
        v = self.intercept
        for xi, (m, w) in zip(x, self._terms, strict=True):
            v += (xi - m) * w
        return _sigmoid(v)


def features(
    posts: int,
    big: float,
    age_min: float,
    burst: bool,
    p_viral: float | None = None,
    volume: Any = None,
    best_rank: int | None = None,
    top_n: int = 100,
) -> list[float]:
    """The model's inputs for one story snapshot (see FEATURES). `volume` is a
    graph.anomaly.VolumeAnomaly that is still current, or None."""
    if p_viral is None:
        forecast_logit, has_forecast = 0.0, 0.0
    else:
        p = min(max(p_viral, 1e-3), 1 - 1e-3)
        forecast_logit, has_forecast = math.log(p / (1 - p)), 1.0
    if volume is not None and volume.anomalous:
        ratio = math.log((volume.negative + 1) / (volume.negative_baseline + 1))
        z = min(max(volume.negative_z, 0.0), 30.0)
    else:
        ratio = z = 0.0
    influencer = 0.0 if best_rank is None else 1 - (best_rank - 1) / max(top_n, 1)
    return [math.log((posts + 1) / big), forecast_logit, has_forecast, ratio, z,
            max(influencer, 0.0), math.log1p(max(age_min, 0.0)), float(burst)]


@lru_cache(maxsize=4)
def load_severity_model(path: Path | None = None) -> SeverityModel:
    d = json.loads((path or MODEL_PATH).read_text())
    if tuple(d["features"]) != FEATURES:
        raise ValueError(f"{path or MODEL_PATH} was fitted on other features: refit it")
    return SeverityModel(np.asarray(d["coef"], float), float(d["intercept"]),
                         np.asarray(d["mean"], float), np.asarray(d["scale"], float))


def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None,
                 l2: float = 1.0, iterations: int = 50) -> SeverityModel:
    """L2-penalised logistic regression by Newton steps (weights `w`, e.g. one per story)."""
    w = np.ones(len(y)) if w is None else np.asarray(w, float)
    mean, scale = x.mean(0), x.std(0) + 1e-9
    z = np.column_stack([(x - mean) / scale, np.ones(len(y))])
    beta = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(z @ beta)))
        grad = z.T @ (w * (p - y)) + penalty * beta
        hess = (z * (w * p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return SeverityModel(beta[:-1], float(beta[-1]), mean, scale)


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
