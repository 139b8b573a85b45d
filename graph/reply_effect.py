"""Did replying help? Compare what followed comparable negative posts that were and were not answered.

Units are negative customer posts. Each answered post ("treated") is compared with unanswered
posts like it ("controls"): the same brand, an author of similar reach (within half a decade of
followers; unknown only matches unknown), similar negativity (P(negative) within 0.15) and a
similar time (within 7 days). The estimate is the mean over matched treated posts of their
outcome minus the mean outcome of their controls (the effect on the answered posts), with a 95%
interval from a bootstrap that resamples whole threads (posts of one thread are not independent).

Outcomes:
- `next_negative` (the headline): the customer wrote again in the thread; was that next post
  negative? Treated: the brand answered before it. Only posts followed by another post of the
  same customer count, so it needs no guess about what was collected after the thread ended.
- `again_negative`: did the customer post negatively in the thread in the `window_h` after the
  first `horizon_min`? Treated: answered within `horizon_min`.
- `growth`: log(1 + reactions to the post) in that same window, for the same treated/controls.
  These two need the window to have been watched: a post counts only where `observed_until`
  (the store's horizon, or where a dataset's thread was cut) covers it.

What this cannot show. The data are observational: brands choose which posts to answer, and
they answer the easy ones (a clear question, a polite customer) first and skip the hopeless or
abusive, so answered posts would have calmed down more often anyway (confounding that the
matching on reach, negativity and time reduces but cannot remove). Causation can run backwards:
a customer who writes again quickly, angrily, is what draws a reply, and a thread that has gone
quiet gets none. Conditioning on a next post selects customers who kept talking. Read the
estimate as a description of what followed answered posts compared with similar unanswered
ones, not as the effect a brand would get by answering more; an experiment (answering a random
half of comparable posts) is the only way to measure that.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from graph.conversations import Conversations, CustomerPost

__all__ = ["CAVEATS", "Effect", "Unit", "estimate", "reply_effect"]

CAVEATS = (
    "Observational: brands choose which posts to answer and tend to answer the easy ones, so "
    "answered posts may have calmed down more often anyway (matching on brand, reach, negativity "
    "and time reduces this confounding but cannot remove it); causation can also run backwards "
    "(an angry follow-up is what draws a reply). Read it as what followed answered posts "
    "compared with similar unanswered ones, not as what answering more would achieve."
)
REACH_CALIPER = 0.5  # decades of followers
NEGATIVITY_CALIPER = 0.15
TIME_CALIPER_S = 7 * 86400
MIN_MATCHED = 10


@dataclass(frozen=True, slots=True)
class Unit:
    brand: str
    reach: float | None  # log10(1 + followers); None when unknown
    negativity: float
    at: float
    treated: bool
    outcome: float
    cluster: Hashable  # the thread


@dataclass(frozen=True, slots=True)
class Effect:
    outcome: str
    estimate: float | None  # treated minus matched controls
    ci95: tuple[float, float] | None
    treated_mean: float | None
    control_mean: float | None
    treated: int
    controls: int
    matched: int  # treated posts with at least one comparable control
    note: str = ""
    unmatched: float | None = None  # the plain difference of means, no matching (a baseline)

    def as_dict(self) -> dict:
        return {"outcome": self.outcome, "estimate": self.estimate,
                "ci95": list(self.ci95) if self.ci95 else None,
                "treated_mean": self.treated_mean, "control_mean": self.control_mean,
                "treated": self.treated, "controls": self.controls, "matched": self.matched,
                "unmatched": self.unmatched, "note": self.note}


def _reach(followers: int | None) -> float | None:
    return None if followers is None else math.log10(1 + max(followers, 0))


def _negativity(cp: CustomerPost) -> float:
    p = cp.post.negative
    return 1.0 if p is None else p


def _unit(cp: CustomerPost, treated: bool, outcome: float) -> Unit:
    return Unit(cp.brand, _reach(cp.post.followers), _negativity(cp), cp.post.at, treated,
                float(outcome), cp.thread)


def next_post_units(conv: Conversations) -> list[Unit]:
    """Negative posts the customer followed up in the thread: was the next post negative?"""
    units = []
    for cp in conv.posts:
        if not cp.post.is_negative or not cp.followups:
            continue
        nxt = cp.followups[0]
        treated = cp.response is not None and cp.response.at < nxt.at
        units.append(_unit(cp, treated, nxt.is_negative))
    return units


def window_units(conv: Conversations, observed_until: Callable[[Hashable], float | None],
                 horizon_min: float, window_h: float,
                 reactions: Mapping[Hashable, Sequence[float]] | None = None) -> list[Unit]:
    """Negative posts whose window (horizon, horizon + window] was watched; outcome per kind.

    Returns units for `again_negative`, or for `growth` when `reactions` (times of the
    reactions to each post) is given.
    """
    units = []
    for cp in conv.posts:
        if not cp.post.is_negative:
            continue
        start = cp.post.at + horizon_min * 60
        end = start + window_h * 3600
        watched = observed_until(cp.thread)
        if watched is None or watched < end:
            continue
        if cp.response is not None and cp.response.minutes <= horizon_min:
            treated = True
        elif cp.response is None or cp.response.at > start:
            treated = False
        else:
            continue
        if reactions is None:
            y = any(start < f.at <= end and f.is_negative for f in cp.followups)
        else:
            y = math.log1p(sum(1 for t in reactions.get(cp.post.id, ()) if start < t <= end))
        units.append(_unit(cp, treated, y))
    return units


def _matches(treated: list[Unit], controls: list[Unit]) -> np.ndarray:
    """Boolean matrix: control j is comparable with treated i."""
    def cols(units: list[Unit]) -> tuple[np.ndarray, ...]:
        return (np.array([hash(u.brand) for u in units], dtype=np.int64),
                np.array([u.at for u in units], dtype=float),
                np.array([u.negativity for u in units], dtype=float),
                np.array([math.nan if u.reach is None else u.reach for u in units], dtype=float))

    bt, at, nt, rt = (c[:, None] for c in cols(treated))
    bc, ac, nc, rc = (c[None, :] for c in cols(controls))
    same_reach = np.where(np.isnan(rt) | np.isnan(rc), np.isnan(rt) & np.isnan(rc),
                          np.abs(np.nan_to_num(rt) - np.nan_to_num(rc)) <= REACH_CALIPER)
    return ((bt == bc) & (np.abs(at - ac) <= TIME_CALIPER_S)
            & (np.abs(nt - nc) <= NEGATIVITY_CALIPER) & same_reach)


def _att(m: np.ndarray, yt: np.ndarray, yc: np.ndarray, wt: np.ndarray,
         wc: np.ndarray) -> tuple[float, float, float] | None:
    """(effect, treated mean, control mean) with unit weights (bootstrap multiplicities)."""
    den = m @ wc
    ok = (den > 0) & (wt > 0)
    if not ok.any():
        return None
    control = (m @ (wc * yc))[ok] / den[ok]
    w = wt[ok]
    t_mean = float(np.average(yt[ok], weights=w))
    c_mean = float(np.average(control, weights=w))
    return t_mean - c_mean, t_mean, c_mean


def estimate(units: list[Unit], outcome: str, *, replicates: int = 1000, seed: int = 0) -> Effect:
    """Matched estimate of treated minus control outcome, with a thread-bootstrap 95% interval."""
    treated = [u for u in units if u.treated]
    controls = [u for u in units if not u.treated]
    m = _matches(treated, controls)
    matched = int(m.any(axis=1).sum()) if treated and controls else 0
    plain = (round(float(np.mean([u.outcome for u in treated]))
                   - float(np.mean([u.outcome for u in controls])), 4)
             if treated and controls else None)
    if not units:
        return Effect(outcome, None, None, None, None, 0, 0, 0,
                      note="no negative customer posts to compare (are the posts scored?)")
    if matched < MIN_MATCHED or int(m.any(axis=0).sum()) < MIN_MATCHED:
        return Effect(outcome, None, None, None, None, len(treated), len(controls), matched,
                      note=f"too few comparable posts (needs {MIN_MATCHED} matched answered and "
                           f"{MIN_MATCHED} matched unanswered)", unmatched=plain)
    yt = np.array([u.outcome for u in treated])
    yc = np.array([u.outcome for u in controls])
    if np.ptp(np.concatenate([yt, yc])) == 0:
        return Effect(outcome, None, None, None, None, len(treated), len(controls), matched,
                      note=f"every post has the same outcome ({yt[0]:g}): nothing to compare",
                      unmatched=plain)
    point = _att(m, yt, yc, np.ones(len(treated)), np.ones(len(controls)))
    clusters = sorted({u.cluster for u in units}, key=str)
    index = {c: k for k, c in enumerate(clusters)}
    ct = np.array([index[u.cluster] for u in treated])
    cc = np.array([index[u.cluster] for u in controls])
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(replicates):
        counts = np.bincount(rng.integers(0, len(clusters), len(clusters)),
                             minlength=len(clusters)).astype(float)
        got = _att(m, yt, yc, counts[ct], counts[cc])
        if got is not None:
            draws.append(got[0])
    lo, hi = (np.percentile(draws, [2.5, 97.5]) if draws else (math.nan, math.nan))
    return Effect(outcome, round(point[0], 4), (round(float(lo), 4), round(float(hi), 4)),
                  round(point[1], 4), round(point[2], 4), len(treated), len(controls), matched,
                  unmatched=plain)


def reply_effect(conv: Conversations, *, observed_until: Callable[[Hashable], float | None]
                 | float | None = None, reactions: Mapping[Hashable, Sequence[float]] | None = None,
                 horizon_min: float = 60.0, window_h: float = 24.0, replicates: int = 1000,
                 seed: int = 0) -> dict[str, Effect]:
    """Every outcome's estimate; `observed_until` is one time (the store's horizon) or per thread."""
    if observed_until is None or isinstance(observed_until, int | float):
        horizon = observed_until

        def watched(_thread: Hashable) -> float | None:
            return horizon
    else:
        watched = observed_until
    out = {"next_negative": estimate(next_post_units(conv), "next_negative",
                                     replicates=replicates, seed=seed)}
    out["again_negative"] = estimate(window_units(conv, watched, horizon_min, window_h),
                                     "again_negative", replicates=replicates, seed=seed)
    if reactions is not None:
        out["growth"] = estimate(window_units(conv, watched, horizon_min, window_h, reactions),
                                 "growth", replicates=replicates, seed=seed)
    return out
