"""The growth forecast stays within what its model saw, whatever the cascade and its audience.

A forecast feeds an alert's text and its severity; a cascade unlike the Twitter15 ones it was
fitted on (thousands of reactions in minutes, an audience that reacts to everything) must get
a big but sane figure, never an extrapolated polynomial (the demo week once read 2.9e18).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph.cascades import (
    AUDIENCE_FEATURES,
    AudienceHistory,
    CascadeEvent,
    forecast_cascade,
    load_model,
)
from graph.detector import Detector, DetectorConfig, SignalPost

VARIANTS = ("tree", "times", "audience")


def _bounds(variant: str, observed: int) -> tuple[float, float]:
    """The most a forecast's `final` and `high` may say: the largest training cascade (and its
    interval's upper quantile at the widest spread), or what is already observed."""
    m = load_model(variant)
    high = m.y_hi + 2 * float(np.max(m.sigma)) * float(np.max(m.q_high))
    return max(observed, math.exp(m.y_hi)), max(observed, math.exp(high))


def _check(events: list[CascadeEvent], age: float, audience: list[float] | None) -> None:
    for variant in VARIANTS:
        f = forecast_cascade(events, age, 100, load_model(variant), audience)
        top, top_high = _bounds(variant, f.observed)
        assert math.isfinite(f.final) and f.observed <= f.low <= f.final <= f.high
        assert f.final <= top * (1 + 1e-9)
        assert f.high <= top_high * (1 + 1e-9)
        assert 0.0 <= f.p_viral <= 1.0


_times = st.lists(st.floats(-5, 5000, allow_nan=False), min_size=0, max_size=400)
_audience = st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=3, max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    times=_times,
    age=st.floats(0.01, 10_000),
    authors=st.integers(1, 1000),
    depth=st.floats(0, 1),
    audience=st.none() | _audience,
)
def test_no_input_gives_a_forecast_beyond_the_models_range(times, age, authors, depth, audience):
    events = [
        CascadeEvent(t, author=i % authors, parent_minutes=max(t * depth, 0.0) if i % 3 else 0.0)
        for i, t in enumerate(times)
    ]
    _check(events, age, audience)


def test_a_huge_fast_cascade_is_bounded_by_what_it_already_shows():
    """100,000 reactions in 30 minutes from 50 accounts, each with a long history of giant
    cascades: the forecast is what is observed (it is bigger than any training cascade)."""
    events = [CascadeEvent(30 * i / 100_000, author=i % 50, parent_minutes=0.0)
              for i in range(100_000)]
    history = AudienceHistory()
    for _ in range(8):
        history.record(range(50), 10**9)
    audience = history.features(range(50))
    assert len(audience) == len(AUDIENCE_FEATURES)
    _check(events, 30, audience)
    f = forecast_cascade(events, 30, 100, audience=audience)
    assert f.model == "audience" and f.final == 100_000 and f.p_viral == 1.0


# -- the demo week's pattern: the same accounts react to every story -------------------------
T0 = 1_700_000_000.0
HOUR = 3600.0
CROWD = range(100, 1100)  # 1,000 accounts that react to everything


def _cascade(root: str, at: float, n: int, every_s: float) -> list[SignalPost]:
    posts = [SignalPost(id=root, brand="A", at=at, negative=True, author=1)]
    posts += [SignalPost(id=f"{root}-{j}", brand="A", at=at + every_s * (j + 1), negative=True,
                         author=CROWD[j % len(CROWD)], parent=root) for j in range(n)]
    return posts


def test_an_audience_that_reacts_again_and_again_gets_a_sane_forecast():
    """Eight earlier stories of the same 1,000 accounts (each forgotten after 48 h, so in their
    history), then a staged one where they react 1,200 times over six hours and go quiet: with
    the audience's history on, the forecast stays near the one without it. (The unbounded
    audience features of 2026-12-03 read 4.7e10 reactions here, the demo week 2.9e18.)"""
    posts: list[SignalPost] = []
    for k in range(8):
        posts += _cascade(f"old{k}", T0 + k * 50 * HOUR, 1000, 10.0)
    staged_at = T0 + 8 * 50 * HOUR
    posts += _cascade("staged", staged_at, 1200, 18.0)
    posts += [SignalPost(id=f"t{i}", brand="B", at=T0 + 600 * i, negative=False)
              for i in range(int((staged_at + 12 * HOUR - T0) // 600))]
    posts.sort(key=lambda p: (p.at, str(p.id)))
    forecasts = {}
    for on in (False, True):
        det = Detector(DetectorConfig(audience_history=on))
        det.process(posts)
        assert len(det._audience) >= len(CROWD)  # the earlier stories are in the history
        [story] = [s for s in det.stories if s.id == "cascade:staged"]
        assert story.status == "quiet"  # its forecast has seen the silence
        forecasts[on] = story.forecast
    with_history, without = forecasts[True], forecasts[False]
    assert with_history.model == "audience" and without.model == "tree"
    assert with_history.observed == without.observed == 1200
    top, top_high = _bounds("audience", with_history.observed)
    assert with_history.final <= top and with_history.high <= top_high
    assert with_history.final < 5 * without.final
