"""Which unanswered customer post to answer first: a risk score from reach, spread and tone.

Each part is a number in [0, 1], shown to the user with the score:
- growth (weight 0.30): the story's P(viral) where the early-warning detector forecasts the
  post's thread, else the reactions the post has drawn so far on a log scale (100 reactions,
  the detector's "viral" size, count as 1);
- reach (0.25): the author's audience, log10(1 + followers) / 6 (a million followers is 1);
- influence (0.15): the author's combined influence score (0-100) from the latest ranking;
- negativity (0.20): the model's P(negative) (0.5 when unscored);
- waiting (0.10): rises over the first hours unanswered (1 - e^(-hours/4)), then fades after
  three days, when an answer is late for this post anyway.

The weights put what can make one post everyone's problem (a thread that spreads, an author
many people hear) ahead of how angry a post is: every post in the queue needs an answer, the
score only orders them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["HIGH_RISK", "Risk", "RiskInputs", "WEIGHTS", "risk"]

WEIGHTS = {"growth": 0.30, "reach": 0.25, "influence": 0.15, "negativity": 0.20, "waiting": 0.10}
HIGH_RISK = 0.6  # from here a post counts as an unanswered high-risk post in the KPIs
VIRAL_REACTIONS = 100
STALE_H = 72.0


@dataclass(frozen=True, slots=True)
class RiskInputs:
    followers: int | None = None
    influence: float | None = None  # 0-100; None when the author is not ranked
    influence_rank: int | None = None
    p_viral: float | None = None  # the thread's story forecast, when there is one
    forecast_final: float | None = None
    reactions: int = 0  # reposts, quotes and replies of the post so far
    negative: float | None = None  # P(negative)
    age_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class Risk:
    score: float
    parts: dict[str, float]
    reasons: tuple[str, ...]


def _waiting(hours: float) -> float:
    rise = 1 - math.exp(-max(hours, 0.0) / 4)
    return rise * math.exp(-max(0.0, hours - STALE_H) / STALE_H)


def risk(x: RiskInputs) -> Risk:
    """The post's risk score (0-1), its parts, and the reasons worth showing."""
    spread = min(1.0, math.log1p(max(x.reactions, 0)) / math.log1p(VIRAL_REACTIONS))
    growth = max(spread, x.p_viral or 0.0)
    parts = {
        "growth": growth,
        "reach": min(1.0, math.log10(1 + max(x.followers or 0, 0)) / 6),
        "influence": min(1.0, max(x.influence or 0.0, 0.0) / 100),
        "negativity": 0.5 if x.negative is None else min(1.0, max(x.negative, 0.0)),
        "waiting": _waiting(x.age_hours),
    }
    score = sum(WEIGHTS[k] * v for k, v in parts.items())
    reasons = []
    if x.p_viral is not None and x.p_viral >= 0.5:
        final = f", forecast {x.forecast_final:,.0f} reactions" if x.forecast_final else ""
        reasons.append(f"its thread is an alert story{final} (P(viral) {x.p_viral:.0%})")
    if x.reactions:
        reasons.append(f"{x.reactions:,} reaction{'s' if x.reactions != 1 else ''} so far")
    if x.followers:
        reasons.append(f"author has {x.followers:,} followers")
    if x.influence_rank is not None:
        reasons.append(f"author ranks #{x.influence_rank:,} by influence")
    if x.negative is not None and x.negative >= 0.5:
        reasons.append(f"negative ({x.negative:.0%})")
    hours = x.age_hours
    reasons.append(f"waiting {hours:.1f} h" if hours < 48 else f"waiting {hours / 24:.1f} days")
    return Risk(round(score, 4), {k: round(v, 4) for k, v in parts.items()}, tuple(reasons))
