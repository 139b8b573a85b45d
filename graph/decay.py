"""How fast amplification is forgotten, chosen from the store's own history.

A fixed 12-hour half-life was the best on Higgs (a week-long burst) and a poor choice on
Twitter15 (1,490 stories over five years): there the last days before most dates hold almost
nothing, everyone's recent amplification is zero, and lifetime in-degree predicts far better.
The right memory depends on how the data arrives, so ``choose_decay`` backtests it on the
history it is given, never on what comes after. The candidates weigh each interaction
``floor + (1 - floor) * 0.5 ** (age / half_life)`` (``graph.build``): floors 0 to 0.9 (how much
of lifetime in-degree stays in the score) times half-lives from 3 hours to a year, and no decay
at all (plain in-degree). At internal origins at the 10th to 50th percentiles of the history's
event times, each candidate ranks authors by what they received before the origin and is scored
against what they received from the origin up to ``now`` (precision@100 plus NDCG@100, as
``bench/influence.py`` scores the shipped ranking), so every horizon is at least half the
history, like "who carries the next story" over the months ahead. The rule: among the candidates
that did at least as well as no decay at *every* internal origin, the best mean; if none, no
decay. A recency weighting has to earn its place against in-degree on the store's own past.
Histories too short to backtest keep the defaults (12 h, floor 0).

Pure arrays in, a ``Decay`` out (with its evidence); ``listener/jobs/rank.py`` calls it before
``build_graph``, and ``bench/influence.py`` calls it at every rolling origin on the events before
the origin only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from graph.build import DEFAULT_HALF_LIFE_S
from graph.edges import GraphInputError

__all__ = ["FLOORS", "HALF_LIVES_S", "Decay", "choose_decay"]

_HOUR, _DAY = 3600.0, 86400.0
HALF_LIVES_S: tuple[float, ...] = (
    3 * _HOUR, 12 * _HOUR, _DAY, 4 * _DAY, 14 * _DAY, 30 * _DAY, 90 * _DAY, 365 * _DAY,
)
FLOORS: tuple[float, ...] = (0.0, 0.5, 0.8, 0.9)
#: Internal origins, as quantiles of the history's event times.
ORIGINS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)
K = 100
#: Fewer interactions than this, or fewer than K authors amplified after every internal origin,
#: and the backtest says too little: the defaults are kept.
MIN_EVENTS = 1000


@dataclass(frozen=True)
class Decay:
    """A recency weighting for ``build_graph`` and why it was chosen."""

    half_life_s: float  # math.inf: no decay
    floor: float
    reason: str
    #: Mean backtest score (P@100 + NDCG@100) per (floor, half-life) candidate; "none" = no decay.
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Short human form: "12 h", "90 d, floor 0.5", "none (in-degree)"."""
        if math.isinf(self.half_life_s) or self.floor >= 1.0:
            return "none (in-degree)"
        hours = self.half_life_s / _HOUR
        text = f"{hours:g} h" if hours < 48 else f"{hours / 24:g} d"
        return text + (f", floor {self.floor:g}" if self.floor else "")

    def as_dict(self) -> dict:
        """JSON-safe (no infinities): what a ranking run stores beside its weights."""
        return {"half_life_s": None if math.isinf(self.half_life_s) else self.half_life_s,
                "floor": self.floor, "label": self.label, "reason": self.reason}


NO_DECAY = "none"


def _key(floor: float, half_life_s: float) -> str:
    return f"floor {floor:g}, half-life {half_life_s / _HOUR:g} h"


def _top(scores: np.ndarray, k: int, rank_of: np.ndarray, by_tiebreak: np.ndarray) -> np.ndarray:
    """Positions of the k highest scores; ties broken by a fixed random order, never by id."""
    k = min(k, len(scores))
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        cut = scores[positive[np.argpartition(-scores[positive], k - 1)[k - 1]]]
        positive = positive[scores[positive] >= cut]
    top = positive[np.lexsort((rank_of[positive], -scores[positive]))][:k]
    if len(top) < k:  # fill with zero-scored authors in the fixed random order
        zeros = by_tiebreak[scores[by_tiebreak] <= 0]
        top = np.concatenate([top, zeros[: k - len(top)]])
    return top


def _score(predicted, truth, best, rank_of, by_tiebreak) -> float:
    """Precision@K plus NDCG@K of ``predicted`` against the interactions received after."""
    top = _top(predicted, K, rank_of, by_tiebreak)
    discount = 1.0 / np.log2(np.arange(2, K + 2))
    ideal = float((truth[best] * discount[: len(best)]).sum())
    ndcg = float((truth[top] * discount[: len(top)]).sum()) / ideal if ideal else 0.0
    return len(np.intersect1d(top, best)) / K + ndcg


def choose_decay(
    target: np.ndarray,
    created_at: np.ndarray,
    now: float | None = None,
    *,
    source: np.ndarray | None = None,
) -> Decay:
    """The recency weighting that best predicted, within this history, who was amplified next.

    ``target[i]`` received an interaction at ``created_at[i]`` (unix seconds); with ``source``,
    self-interactions are dropped as ``build_graph`` drops them; events after ``now`` are ignored.
    Deterministic: the same history gives the same choice.
    """
    target = np.asarray(target, dtype=np.int64)
    ts = np.asarray(created_at, dtype=np.float64)
    if len(target) != len(ts) or (source is not None and len(source) != len(ts)):
        raise GraphInputError("target, created_at and source must have the same length")
    keep = np.isfinite(ts)
    if source is not None:
        keep &= np.asarray(source, dtype=np.int64) != target
    if now is not None:
        keep &= ts <= now
    target, ts = target[keep], ts[keep]
    default = Decay(DEFAULT_HALF_LIFE_S, 0.0, "")
    if len(ts) < MIN_EVENTS:
        return Decay(default.half_life_s, default.floor,
                     f"{len(ts):,} interactions: too few to backtest, defaults kept")
    _, who = np.unique(target, return_inverse=True)
    n = int(who.max()) + 1
    by_tiebreak = np.random.default_rng(0).permutation(n)  # ids can leak popularity
    rank_of = np.empty(n, dtype=np.int64)
    rank_of[by_tiebreak] = np.arange(n)
    candidates = [(f, hl) for f in FLOORS for hl in HALF_LIVES_S]
    runs: dict[tuple[float, float] | str, list[float]] = {c: [] for c in candidates}
    runs[NO_DECAY] = []
    for q in ORIGINS:
        origin = float(np.quantile(ts, q))
        past = ts < origin
        truth = np.bincount(who[~past], minlength=n).astype(float)
        if past.sum() < MIN_EVENTS // 2 or np.count_nonzero(truth) < K:
            continue
        best = _top(truth, K, rank_of, by_tiebreak)
        age, received_by = origin - ts[past], who[past]
        lifetime = np.bincount(received_by, minlength=n).astype(float)
        runs[NO_DECAY].append(_score(lifetime, truth, best, rank_of, by_tiebreak))
        for hl in HALF_LIVES_S:
            fading = np.bincount(received_by, weights=np.exp2(-age / hl), minlength=n)
            for f in FLOORS:  # the weighting is linear in the floor: no second pass
                runs[(f, hl)].append(
                    _score(f * lifetime + (1 - f) * fading, truth, best, rank_of, by_tiebreak))
    folds = len(runs[NO_DECAY])
    if not folds:
        return Decay(default.half_life_s, default.floor,
                     "too few authors amplified after the internal origins: defaults kept")
    mean = {c: float(np.mean(v)) for c, v in runs.items()}
    scores = {(NO_DECAY if c == NO_DECAY else _key(*c)): round(v, 6) for c, v in mean.items()}
    baseline = runs[NO_DECAY]
    safe = [c for c in candidates
            if all(s >= b - 1e-9 for s, b in zip(runs[c], baseline, strict=True))]
    if not safe:
        return Decay(math.inf, 0.0, f"no recency weighting did as well as in-degree at all "
                     f"{folds} internal origins", scores)
    floor, half_life = max(safe, key=lambda c: (mean[c], -candidates.index(c)))
    return Decay(half_life, floor, f"best mean P@{K} + NDCG@{K} over {folds} internal origins "
                 f"among the {len(safe)} of {len(candidates)} weightings never below in-degree",
                 scores)
