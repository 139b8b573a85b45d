"""The audience's history: per account, the sizes of the earlier cascades it took part in, as
the detector knows them in time order, kept in its checkpoints."""

from __future__ import annotations

import math

from graph.cascades import AudienceHistory
from graph.detector import Detector, SignalPost

T0 = 1_700_000_000.0
HOUR = 3600.0
FAN = 7  # the account that reacts to every cascade


def _cascade(root: str, at: float, n: int, fan_at: float | None = None) -> list[SignalPost]:
    """A negative root and `n` reactions a minute apart from fresh accounts (and FAN's, at
    `fan_at` seconds after the root)."""
    posts = [SignalPost(id=root, brand="A", at=at, negative=True, author=10**6)]
    posts += [SignalPost(id=f"{root}-{j}", brand="A", at=at + 60 * (j + 1), negative=True,
                         author=hash((root, j)) % 10**9 + 10**7, parent=root) for j in range(n)]
    if fan_at is not None:
        posts.append(SignalPost(id=f"{root}-fan", brand="A", at=at + fan_at, negative=True,
                                author=FAN, parent=root))
    return posts


def _ticks(start: float, end: float) -> list[SignalPost]:
    """A post on another brand every 10 minutes: stream time moves on."""
    return [SignalPost(id=f"t{i}", brand="B", at=start + 600 * i, negative=False)
            for i in range(int((end - start) // 600))]


def _fan_history(det: Detector) -> list[float]:
    return det._audience.features([FAN])


def _stream(*parts):
    return sorted((p for part in parts for p in part), key=lambda p: (p.at, p.id))


def test_a_cascade_counts_in_its_accounts_history_only_once_it_is_over():
    """FAN reacts to a small cascade and then to a big one that is still growing: a decision
    meanwhile sees the small one only once it is forgotten (48 h without news), and never the
    big one's size before that one is over too."""
    small = _cascade("small", T0, 5, fan_at=30)
    big = _cascade("big", T0 + 60 * HOUR, 300, fan_at=30)
    posts = _stream(small, big, _ticks(T0, T0 + 120 * HOUR))
    det = Detector()
    seen: dict[str, list[float]] = {}
    for p in posts:
        det.process([p])
        if p.id == "big-fan":  # FAN reacted to the big one: the small one is over by now
            seen["fan joins big"] = _fan_history(det)
        if p.id == "big-299":  # the big one's last reaction: still not over
            seen["big ends"] = _fan_history(det)
    seen["end"] = _fan_history(det)  # more than 48 h after both
    small_mean = (math.log1p(6) - math.log(200)) / 3  # 6 reactions, shrunk by 2
    assert seen["fan joins big"] == [small_mean, 1.0, math.log1p(1)]
    assert seen["big ends"] == seen["fan joins big"]
    both = (math.log1p(6) + math.log1p(301) - 2 * math.log(200)) / 4
    assert seen["end"] == [both, 1.0, math.log1p(2)]


def test_the_history_survives_a_checkpoint():
    small = _cascade("small", T0, 5, fan_at=30)
    later = _cascade("later", T0 + 60 * HOUR, 40, fan_at=30)
    posts = _stream(small, later, _ticks(T0, T0 + 70 * HOUR))
    cut = next(i for i, p in enumerate(posts) if p.id == "later")
    straight = Detector()
    straight.process(posts)
    first = Detector()
    first.process(posts[:cut])
    assert len(first._audience) > 0  # the small cascade is over: its accounts remembered
    resumed = Detector.from_json(first.to_json())
    assert resumed._audience.to_dict() == first._audience.to_dict()
    resumed.process(posts[cut:])
    assert resumed.to_json() == straight.to_json()
    assert _fan_history(resumed)[1] == 1.0
    [story] = [s for s in resumed.stories if s.id == "cascade:later"]
    assert story.forecast == straight.stories[-1].forecast


def test_the_history_is_bounded():
    h = AudienceHistory(max_authors=3, per_author=2)
    for size in (10, 20, 30):
        h.record([1, 1, 2, None], size)  # an account counted once per cascade
    h.record([3, 4], 5)
    assert h.to_dict()["sizes"] == [[2, [20, 30]], [3, [5]], [4, [5]]]  # 1 went first
    assert AudienceHistory.from_dict(h.to_dict()).to_dict() == h.to_dict()
    assert h.features([9]) == [0.0, 0.0, 0.0]
    assert h.features([2, 2, 9])[1] == 0.5
