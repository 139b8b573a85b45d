"""Cascade growth: how fast a post's reposts/quotes/replies arrive, and how big it will get.

A brand team needs to know in the first minutes whether a complaint is going viral, not after the
fact. We describe the growth so far (count, speed, acceleration, shape) and forecast the final size
with ridge regressions fitted on real Twitter15 propagation trees (`graph/models/
cascade_growth.json`, see `graph/models/README.md`):

- the mean of log(final size) from log features of the events seen so far: counts and times,
  recency-weighted counts (exponential memories of 1-30 minutes: what is still arriving matters
  more than what came at first) and, when the caller knows who posted what in reply to what,
  repeat authors and secondary spreading (reactions to reactions, the largest sub-cascade);
- the spread of that error, per cascade: log(residual^2) regressed on the first-order features,
  so a cascade whose growth is still undecided gets a wider interval and a fairer
  P(final >= size);
- with the audience's history (`AudienceHistory`): how big the earlier cascades of the
  accounts reacting now grew, as bounded per-account summaries.

A forecast stays within what its model saw: features clipped to their training range at that
age, the mean log size to the largest training cascade's, so live cascades unlike Twitter15's
(far faster, an audience that reacts to everything) never read an extrapolated polynomial.

Times are minutes since the root post. Features are relative to the cascade's age, so one set of
coefficients per age on a grid (1 min .. 1 day) covers any age by interpolation in log-age. A
forecast is the features plus two dot products (about 0.1 ms at 300 events), cheap enough for
the detector to call often.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "AUDIENCE_FEATURES",
    "AudienceHistory",
    "CascadeEvent",
    "Forecast",
    "GrowthFeatures",
    "GrowthModel",
    "Involvement",
    "cascade_fold",
    "fit_growth_model",
    "forecast_cascade",
    "growth_features",
    "influencer_involvement",
    "load_model",
    "model_features",
]

MODEL_PATH = Path(__file__).parent / "models" / "cascade_growth.json"
AGES_MIN = (1, 2, 3, 5, 7, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360, 720, 1440)
_FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 3 / 4, 7 / 8)
_RECENT_MIN = (1, 2, 5, 10)
_KTH = (5, 10, 20, 50)
_MEMORY_MIN = (1, 3, 10, 30)  # time constants of the recency-weighted counts
_MEMORY = np.array(_MEMORY_MIN, dtype=float)[:, None]
TIMES_FEATURES = (
    ["log_n"]
    + [f"log_n_by_{f:.3f}_age" for f in _FRACTIONS]
    + [f"log_n_last_{d}min" for d in _RECENT_MIN]
    + ["log_since_last", "log_first", *(f"log_t{k}" for k in _KTH), "log_projected"]
    + [f"log_memory_{m}min" for m in _MEMORY_MIN]
)
TREE_FEATURES = TIMES_FEATURES + [
    "log_repeat_authors",
    "log_latest_parent",
    "log_reactions_to_reactions",
    "log_largest_subcascade",
]
# Squares give the linear model the curvature it lacks (+0.012 AUC at 30 min, out of fold).
TIMES_FEATURES += [f"{f}^2" for f in TIMES_FEATURES]
TREE_FEATURES += [f"{f}^2" for f in TREE_FEATURES]


@dataclass(frozen=True, slots=True)
class CascadeEvent:
    """One repost/quote/reply of the root post.

    `parent_minutes` is the time of the post it reacts to (0.0 for the root itself); together
    with `author` it lets the tree model see secondary spreading and conversations.
    """

    minutes: float
    author: int | None = None
    followers: int | None = None
    parent_minutes: float | None = None


@dataclass(frozen=True, slots=True)
class GrowthFeatures:
    """Human-readable growth summary at `age_min` (what an alert shows)."""

    age_min: float
    count: int
    rate_per_min: float  # over the last 10 min (or the last half of a younger cascade)
    acceleration: float  # change of the per-minute rate between the last two quarters of age
    last_half_share: float  # share of events in the last half of the age: > 0.5 = speeding up
    first_event_min: float | None
    repeat_authors: int
    reach: int  # sum of known followers of the events' authors
    reach_known: int  # events whose followers were known


@dataclass(frozen=True, slots=True)
class Forecast:
    """Forecast of the final number of events, with an 80% interval."""

    age_min: float
    observed: int
    final: float
    low: float
    high: float
    p_viral: float  # P(final >= viral_size)
    viral_size: float
    model: str  # "tree" or "times"


class AgeParams(NamedTuple):
    """A model's coefficients at one age (see GrowthModel)."""

    coef: np.ndarray
    intercept: float
    sigma: float
    q_low: float
    q_high: float
    var_coef: np.ndarray
    var_intercept: float
    x_lo: np.ndarray | None = None
    x_hi: np.ndarray | None = None


_ARRAYS = ("ages", "coef", "intercept", "sigma", "q_low", "q_high", "var_coef", "var_intercept")
_RANGES = ("x_lo", "x_hi")  # per age: the range of each first-order feature in training


@dataclass(frozen=True, slots=True)
class GrowthModel:
    """Per-age ridge coefficients for one feature set (raw feature scale).

    log(final) ~ Normal(x @ coef + intercept, s^2), with log s^2 = x_lin @ var_coef +
    var_intercept on the first-order features x_lin, s kept within [sigma / 2, 2 sigma].
    """

    name: str
    features: tuple[str, ...]
    ages: np.ndarray
    coef: np.ndarray  # (ages, features)
    intercept: np.ndarray
    sigma: np.ndarray  # residual sd of log(final), out of fold: the typical spread
    q_low: np.ndarray  # 10% quantile of the standardised residuals (residual / s)
    q_high: np.ndarray  # 90% quantile of the standardised residuals
    var_coef: np.ndarray  # (ages, first-order features): log residual variance
    var_intercept: np.ndarray
    # Where the model has seen data: first-order features are clipped to [x_lo, x_hi] (per age)
    # and the mean of log(final) to at most y_hi (the largest training cascade's), so a cascade
    # unlike any it was fitted on gets the nearest forecast it can vouch for, not an extrapolated
    # polynomial. Absent in files from before 2026-12-04: no clipping.
    x_lo: np.ndarray | None = None
    x_hi: np.ndarray | None = None
    y_hi: float = math.inf

    def params(self, age: float) -> AgeParams:
        """Coefficients at `age`, linear in log-age between grid points, clamped at the ends."""
        la, grid = math.log(max(age, 1e-9)), np.log(self.ages)
        if la <= grid[0]:
            i, w = 0, 0.0
        elif la >= grid[-1]:
            i, w = len(grid) - 2, 1.0
        else:
            i = int(np.searchsorted(grid, la, side="right")) - 1
            w = (la - grid[i]) / (grid[i + 1] - grid[i])

        def mix(a: np.ndarray):
            return a[i] * (1 - w) + a[i + 1] * w

        lo = hi = None
        if self.x_lo is not None and self.x_hi is not None:
            # The union of the neighbouring ages' ranges: interpolation never narrows them.
            lo = np.minimum(self.x_lo[i], self.x_lo[i + 1])
            hi = np.maximum(self.x_hi[i], self.x_hi[i + 1])
        return AgeParams(
            mix(self.coef),
            float(mix(self.intercept)),
            float(mix(self.sigma)),
            float(mix(self.q_low)),
            float(mix(self.q_high)),
            mix(self.var_coef),
            float(mix(self.var_intercept)),
            lo,
            hi,
        )

    def to_dict(self) -> dict:
        def r(a: np.ndarray) -> list:
            return np.round(a, 6).tolist()

        d = {"features": list(self.features)} | {k: r(getattr(self, k)) for k in _ARRAYS}
        if self.x_lo is not None and self.x_hi is not None:
            d |= {"x_lo": r(self.x_lo), "x_hi": r(self.x_hi), "y_hi": round(self.y_hi, 6)}
        return d

    @classmethod
    def from_dict(cls, name: str, d: Mapping) -> GrowthModel:
        arr = {k: np.asarray(d[k], dtype=float) for k in _ARRAYS}
        ranges = {k: np.asarray(d[k], dtype=float) for k in _RANGES if k in d}
        bounds = {"y_hi": float(d["y_hi"])} if "y_hi" in d else {}
        return cls(name=name, features=tuple(d["features"]), **arr, **ranges, **bounds)


def _observed(events: Sequence[CascadeEvent], age: float) -> list[CascadeEvent]:
    return [e for e in events if e.minutes <= age]


def _times(events: Sequence[CascadeEvent]) -> np.ndarray:
    return np.sort(np.maximum(np.array([e.minutes for e in events], dtype=float), 0.0))


def _timing(t: np.ndarray, age: float) -> list[float]:
    """Counts, times and recency of sorted event times `t` at `age` (TIMES_FEATURES, raw)."""
    n = len(t)
    counts = np.searchsorted(t, [age * f for f in _FRACTIONS], side="right")
    recent = [n - np.searchsorted(t, age - d, side="right") for d in _RECENT_MIN]
    last = t[-1] if n else 0.0
    first = t[0] if n else 2 * age
    kth = [t[k - 1] if n >= k else 2 * age for k in _KTH]
    rate = (n - counts[2]) / (age / 2)
    # A power-law memory (SEISMIC's) leaves about rate * age * 4 events still to come.
    projected = n + 4 * rate * age
    # Events weighted by exp(-elapsed / tau): a smooth "what is still arriving".
    memory = np.exp((t - age) / _MEMORY).sum(1)
    return [n, *counts, *recent, age - last, first, *kth, projected, *memory]


def _structure(seen: Sequence[CascadeEvent]) -> list[float]:
    """Repeat authors, the latest post that got a reaction, reactions to reactions and the
    largest sub-cascade below one reaction: spreading beyond the root's own audience."""
    authors = [e.author for e in seen]
    parents = np.array([e.parent_minutes or 0.0 for e in seen], dtype=float)
    deeper = parents[parents > 0]
    largest = np.unique(deeper, return_counts=True)[1].max() if len(deeper) else 0
    latest = parents.max() if len(parents) else 0.0
    return [len(authors) - len(set(authors)), latest, len(deeper), largest]


def model_features(events: Sequence[CascadeEvent], age: float, tree: bool) -> np.ndarray:
    """The model's input vector for the events seen by `age` minutes: log1p counts and times and
    their squares (see TIMES_FEATURES, TREE_FEATURES)."""
    return _features(_observed(events, age), age, tree)


def _features(seen: Sequence[CascadeEvent], age: float, tree: bool) -> np.ndarray:
    x = _timing(_times(seen), age)
    if tree:
        x += _structure(seen)
    v = np.log1p(np.maximum(np.asarray(x, dtype=float), 0.0))
    return np.concatenate([v, v * v])


def growth_features(events: Sequence[CascadeEvent], age: float) -> GrowthFeatures:
    """Count, speed, acceleration and shape of the cascade at `age` minutes."""
    seen = _observed(events, age)
    t = _times(seen)
    n = len(t)
    span = min(10.0, age / 2) if age > 0 else 1.0
    recent = n - int(np.searchsorted(t, age - span, side="right"))
    q = age / 4 if age > 0 else 1.0
    last_q = n - int(np.searchsorted(t, age - q, side="right"))
    prev_q = int(np.searchsorted(t, age - q, side="right")) - int(
        np.searchsorted(t, age - 2 * q, side="right")
    )
    authors = [e.author for e in seen if e.author is not None]
    known = [e.followers for e in seen if e.followers is not None]
    return GrowthFeatures(
        age_min=float(age),
        count=n,
        rate_per_min=recent / span,
        acceleration=(last_q - prev_q) / q / q,
        last_half_share=(n - int(np.searchsorted(t, age / 2, side="right"))) / n if n else 0.0,
        first_event_min=float(t[0]) if n else None,
        repeat_authors=len(authors) - len(set(authors)),
        reach=int(sum(known)),
        reach_known=len(known),
    )


AUDIENCE_FEATURES = (
    "audience_mean",  # mean over the reacting accounts seen before of their shrunk mean of
    #                   log1p(size) - log(200) of the earlier cascades they took part in
    "audience_seen",  # the share of the reacting accounts that took part in an earlier cascade
    "audience_count",  # log1p(earlier participations of the reacting accounts)
)
# All three are bounded or logarithmic (no sum over accounts: on the demo week, where the same
# accounts react again and again, a sum and its square forecast 2.9e18 reactions), and the
# model clips them, like every feature, to the range it was fitted on (GrowthModel.x_lo/x_hi).
_AUDIENCE_CENTRE = math.log(200)


class AudienceHistory:
    """Per account, the sizes of the earlier cascades it took part in, as a stream knows them.

    A cascade's size is recorded once it is over (`record`: the detector does it when it forgets
    a cascade, 48 hours without news), so what a forecast reads was known at that moment: no
    later cascade, and no growth still to come, leaks into an earlier decision. Bounded: the
    last `per_author` sizes of at most `max_authors` accounts (the least recently recorded go).
    State is plain JSON (`to_dict`/`from_dict`).
    """

    __slots__ = ("_sizes", "_stats", "max_authors", "per_author", "shrink")

    def __init__(self, max_authors: int = 200_000, per_author: int = 8,
                 shrink: float = 2.0) -> None:
        self.max_authors, self.per_author, self.shrink = max_authors, per_author, shrink
        self._sizes: dict[int, list[int]] = {}  # author -> final sizes, oldest first
        # author -> (shrunk mean of log1p(size) - log 200, count): derived, read per forecast
        self._stats: dict[int, tuple[float, int]] = {}

    def _update(self, a: int, mine: list[int]) -> None:
        self._stats[a] = (sum(math.log1p(s) - _AUDIENCE_CENTRE for s in mine)
                          / (len(mine) + self.shrink), len(mine))

    def __len__(self) -> int:
        return len(self._sizes)

    def record(self, authors: Iterable[int | None], size: int) -> None:
        """A cascade of `size` reactions is over: each of its accounts took part in it."""
        sizes = self._sizes
        for a in dict.fromkeys(a for a in authors if a is not None):
            mine = sizes.pop(a, None)  # moved last: the dict stays in recording order
            if mine is None:
                mine = []
            mine.append(int(size))
            if len(mine) > self.per_author:
                del mine[0]
            sizes[a] = mine
            self._update(a, mine)
        while len(sizes) > self.max_authors:
            old = next(iter(sizes))
            del sizes[old], self._stats[old]

    def features(self, authors: Iterable[int | None]) -> list[float]:
        """AUDIENCE_FEATURES of the accounts reacting now (each counted once)."""
        reacting = set(authors)
        reacting.discard(None)
        stats, total, seen, count = self._stats, 0.0, 0, 0
        for a in reacting:
            st = stats.get(a)
            if st is not None:
                total += st[0]
                seen += 1
                count += st[1]
        return [total / seen if seen else 0.0, seen / max(len(reacting), 1), math.log1p(count)]

    def to_dict(self) -> dict:
        return {"max_authors": self.max_authors, "per_author": self.per_author,
                "shrink": self.shrink, "sizes": [[a, s] for a, s in self._sizes.items()]}

    @classmethod
    def from_dict(cls, d: Mapping) -> AudienceHistory:
        h = cls(d["max_authors"], d["per_author"], d.get("shrink", 2.0))
        h._sizes = {a: list(s) for a, s in d["sizes"]}
        for a, mine in h._sizes.items():
            h._update(a, mine)
        return h


def audience_vector(features: Sequence[float]) -> np.ndarray:
    """AUDIENCE_FEATURES as the model takes them: as they are, then squared."""
    v = np.asarray(features, dtype=float)
    return np.concatenate([v, v * v])


@lru_cache(maxsize=4)
def _load(path: str) -> dict:
    return json.loads(Path(path).read_text())


def has_variant(variant: str, path: Path | None = None) -> bool:
    return variant in _load(str(path or MODEL_PATH))["variants"]


def with_audience(x: np.ndarray, audience: Sequence[float]) -> np.ndarray:
    """Growth features [lin, lin^2] and AUDIENCE_FEATURES as [lin, aud, lin^2, aud^2]: the
    first half stays the first-order features, which the spread is fitted on."""
    half = len(x) // 2
    a = np.asarray(audience, dtype=float)
    return np.concatenate([x[:half], a, x[half:], a * a])


@lru_cache(maxsize=32)
def load_model(
    variant: str = "tree", fold: int | None = None, path: Path | None = None
) -> GrowthModel:
    """The committed model: `variant` "tree" or "times"; `fold` k gives the model that never saw
    fold k (for held-out evaluation, see `cascade_fold`)."""
    d = _load(str(path or MODEL_PATH))["variants"][variant]
    part = d["full"] if fold is None else d["folds"][fold]
    return GrowthModel.from_dict(variant, part)


def forecast_cascade(
    events: Sequence[CascadeEvent],
    age: float,
    viral_size: float,
    model: GrowthModel | None = None,
    audience: Sequence[float] | None = None,
) -> Forecast:
    """Forecast the final size of a cascade observed for `age` minutes.

    Without an explicit model, the tree model is used when every event says who posted it and
    what it reacted to, else the times-only model (the tree model misreads missing structure);
    the "audience" model when `audience` (AudienceHistory.features of the accounts reacting by
    `age`) is given too and the model file has one. Out of the model's range the features are
    clipped to it and the mean log size to the largest training cascade's: `final` never
    exceeds max(observed, e^y_hi), `high` max(observed, e^(y_hi + 2 q_high sigma)).
    """
    if model is None:
        tree = bool(events) and all(
            e.author is not None and e.parent_minutes is not None for e in events
        )
        variant = "tree" if tree else "times"
        if tree and audience is not None and has_variant("audience"):
            variant = "audience"
        model = load_model(variant)
    seen = _observed(events, age)
    x = _features(seen, age, tree=model.name != "times")
    if model.name == "audience":
        x = with_audience(x, [0.0] * len(AUDIENCE_FEATURES) if audience is None else audience)
    p = model.params(age)
    x = _clip(x, p)
    mu = min(float(x @ p.coef + p.intercept), model.y_hi)
    s = _spread(x, p)
    n = len(seen)
    if n >= viral_size:
        p_viral = 1.0
    else:
        p_viral = 0.5 * math.erfc((math.log(viral_size) - mu) / (s * math.sqrt(2)))
    return Forecast(
        age_min=float(age),
        observed=n,
        final=max(float(n), math.exp(mu)),
        low=max(float(n), math.exp(mu + p.q_low * s)),
        high=max(float(n), math.exp(mu + p.q_high * s)),
        p_viral=p_viral,
        viral_size=float(viral_size),
        model=model.name,
    )


def _clip(x: np.ndarray, p: AgeParams) -> np.ndarray:
    """First-order features [f, f^2] clipped to the range the model saw at this age, squares
    recomputed: a polynomial never extrapolates beyond its data."""
    if p.x_lo is None or p.x_hi is None:
        return x
    f = np.clip(x[: len(x) // 2], p.x_lo, p.x_hi)
    return np.concatenate([f, f * f])


def _spread(x: np.ndarray, p: AgeParams) -> float:
    """This cascade's sd of log(final), kept within [sigma / 2, 2 sigma]: a log-linear variance
    extrapolates wildly on cascades unlike the training ones."""
    log_var = float(x[: len(p.var_coef)] @ p.var_coef + p.var_intercept)
    return min(max(math.exp(0.5 * log_var), p.sigma / 2), 2 * p.sigma)


def cascade_fold(cascade_id: str, k: int = 5) -> int:
    """Stable fold of a cascade id: the committed fold models never saw their own fold."""
    return int.from_bytes(hashlib.blake2b(str(cascade_id).encode(), digest_size=8).digest()) % k


def _ridge(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mu) / sd
    a = z.T @ z + l2 * np.eye(z.shape[1])
    w = np.linalg.solve(a, z.T @ (y - y.mean()))
    coef = w / sd
    return coef, float(y.mean() - mu @ coef)


def _fit_age(
    x: np.ndarray, y: np.ndarray, folds: np.ndarray, rows: np.ndarray, l2: float, l2_spread: float
) -> dict[str, np.ndarray | float]:
    """Mean and spread at one age from the cascades in `rows`.

    The spread is fitted on residuals of models that did not see the cascade (the folds within
    `rows`), so intervals and P(final >= size) are honest about unseen cascades.
    """
    coef, icpt = _ridge(x[rows], y[rows], l2)
    res = np.zeros(len(y))
    for f in np.unique(folds[rows]):
        train, test = rows & (folds != f), rows & (folds == f)
        c, b = _ridge(x[train], y[train], l2)
        res[test] = y[test] - (x[test] @ c + b)
    sq = res[rows] ** 2
    lin = x[rows][:, : x.shape[1] // 2]  # first-order features
    var_coef, var_icpt = _ridge(lin, np.log(sq + 1e-3), l2_spread)
    var_icpt += math.log(np.mean(sq / np.exp(lin @ var_coef + var_icpt)))  # E[res^2 / s^2] = 1
    sigma = math.sqrt(sq.mean())
    s = np.clip(np.exp(0.5 * (lin @ var_coef + var_icpt)), sigma / 2, 2 * sigma)
    z = res[rows] / s
    return {
        "coef": coef,
        "intercept": icpt,
        "sigma": sigma,
        "q_low": float(np.quantile(z, 0.1)),
        "q_high": float(np.quantile(z, 0.9)),
        "var_coef": var_coef,
        "var_intercept": var_icpt,
    }


def fit_growth_model(
    cascades: Mapping[str, Sequence[CascadeEvent]],
    tree: bool,
    ages: Sequence[float] = AGES_MIN,
    k: int = 5,
    l2: float = 3.0,
    l2_spread: float = 30.0,
    audience: Mapping[str, Sequence[Sequence[float]]] | None = None,
) -> dict:
    """Fit the per-age model on log(final size), plus one model per held-out fold.

    `folds[f]` is fitted, spread included, without fold f, so scoring fold f with it is a fair
    held-out test. Returns the JSON-ready dict stored under "variants" in the model file.
    `audience[c][i]`: AUDIENCE_FEATURES of cascade c at `ages[i]`, as the stream knew them then
    (the tree features and those: the "audience" variant).
    """
    ids = sorted(cascades)
    y = np.log(np.array([max(len(cascades[c]), 1) for c in ids], dtype=float))
    folds = np.array([cascade_fold(c, k) for c in ids])
    xs = [np.array([model_features(cascades[c], a, tree) for c in ids]) for a in ages]
    names = tuple(TREE_FEATURES if tree else TIMES_FEATURES)
    if audience is not None:
        xs = [np.array([with_audience(x[j], audience[c][i]) for j, c in enumerate(ids)])
              for i, x in enumerate(xs)]
        half = len(names) // 2
        aud = list(AUDIENCE_FEATURES)
        names = (*names[:half], *aud, *names[half:], *(f"{f}^2" for f in aud))

    def part(rows: np.ndarray) -> dict:
        per_age = [_fit_age(x, y, folds, rows, l2, l2_spread) for x in xs]
        arrays = {key: np.array([p[key] for p in per_age]) for key in per_age[0]}
        first = [x[rows][:, : x.shape[1] // 2] for x in xs]
        gm = GrowthModel(name="", features=names, ages=np.asarray(ages, float), **arrays,
                         x_lo=np.array([f.min(0) for f in first]),
                         x_hi=np.array([f.max(0) for f in first]),
                         y_hi=float(y[rows].max()))
        return gm.to_dict()

    return {"full": part(folds >= 0), "folds": [part(folds != f) for f in range(k)]}


@dataclass(frozen=True, slots=True)
class Involvement:
    """A top-ranked author who wrote or amplified a negative post."""

    post: int | str
    author: int
    rank: int
    role: str  # "author" or "amplifier"


def influencer_involvement(
    posts: Sequence[tuple[int | str, int, Sequence[int]]],
    ranks: Mapping[int, int],
    top_n: int = 100,
) -> list[Involvement]:
    """Flag negative posts written or amplified by authors ranked 1..`top_n`.

    `posts` holds (post id, author id, amplifier ids) for negative posts; `ranks` maps author
    id -> rank (1 = most influential). Results are ordered by rank, then post id.
    """
    out: list[Involvement] = []
    for post, author, amplifiers in posts:
        r = ranks.get(author)
        if r is not None and r <= top_n:
            out.append(Involvement(post, author, r, "author"))
        for a in dict.fromkeys(amplifiers):
            r = ranks.get(a)
            if r is not None and r <= top_n and a != author:
                out.append(Involvement(post, a, r, "amplifier"))
    return sorted(out, key=lambda v: (v.rank, str(v.post), v.role))
