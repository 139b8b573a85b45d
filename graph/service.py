"""Service KPIs from conversation cases: how often and how fast a brand answers its customers.

- response rate: answered cases / cases that needed an answer (negative or a question) or that
  the brand answered anyway (it judged them worth an answer);
- median and 90th percentile first-response time, in minutes, over answered cases (linear
  interpolation between ranks, as numpy's default);
- share answered within an hour, of the same cases as the response rate;
- unanswered high-risk posts: customer posts still unanswered whose queue risk reaches the
  threshold (`graph.triage`).

A case counts in the period (UTC day or ISO week) in which the customer opened it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from graph.conversations import Case

__all__ = ["ServiceKpis", "kpis", "kpis_by", "percentile"]

WITHIN_MIN = 60.0


@dataclass(frozen=True, slots=True)
class ServiceKpis:
    cases: int
    counted: int  # cases in the response rate: needed an answer, or got one
    answered: int
    response_rate: float | None
    median_first_response_min: float | None
    p90_first_response_min: float | None
    answered_within_1h: float | None  # share of `counted`
    unanswered_high_risk: int

    def as_dict(self) -> dict:
        return asdict(self)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def kpis(cases: Iterable[Case], high_risk: int = 0) -> ServiceKpis:
    """The KPIs of a set of cases; `high_risk` is the count of unanswered high-risk posts."""
    cases = list(cases)
    counted = [c for c in cases if c.counted]
    times = [c.response.minutes for c in cases if c.response is not None]
    quick = sum(1 for c in counted if c.response is not None and c.response.minutes <= WITHIN_MIN)
    answered = sum(1 for c in counted if c.answered)
    return ServiceKpis(
        cases=len(cases), counted=len(counted), answered=answered,
        response_rate=answered / len(counted) if counted else None,
        median_first_response_min=percentile(times, 50),
        p90_first_response_min=percentile(times, 90),
        answered_within_1h=quick / len(counted) if counted else None,
        unanswered_high_risk=high_risk,
    )


def period_of(at: float, unit: str = "day") -> str:
    """The UTC day (YYYY-MM-DD) or ISO week (YYYY-Www) of a unix time."""
    when = datetime.fromtimestamp(at, UTC)
    if unit == "week":
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    if unit != "day":
        raise ValueError(f"unknown period {unit!r}: use day or week")
    return when.strftime("%Y-%m-%d")


def kpis_by(cases: Iterable[Case], key: Callable[[Case], Hashable | None],
            high_risk: Mapping[Hashable, int] | None = None) -> dict[Hashable, ServiceKpis]:
    """KPIs per group of cases (brand, competitor group, (brand, day) ...); None keys are left out.

    `high_risk` gives the unanswered high-risk count per group key.
    """
    groups: dict[Hashable, list[Case]] = defaultdict(list)
    for c in cases:
        k = key(c)
        if k is not None:
            groups[k].append(c)
    risky = high_risk or {}
    keys = set(groups) | set(risky)
    return {k: kpis(groups.get(k, []), risky.get(k, 0)) for k in sorted(keys, key=str)}
