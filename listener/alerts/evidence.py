"""`Evidence`: what an alert knows about its story, and the one place its words are written.

The detect job builds it from a detector story (`from_story`) and stores `to_json()` on the
alert row; emails, chat posts and the dashboard read it back with `from_json` and take the
title and reasons from it, so the same alert reads the same everywhere. There is one spelling
of every key (the one below); keys it does not know are kept in `extra` and shown verbatim.

JSON shape: kind ("cascade" | "burst"), triggers [str], root_posts [{id, author, text, url,
created_at, reposts}], growth [{t: ISO time, size: cumulative reactions}], forecast {final,
low, high, p_viral, observed, age_min}, volume {negative, usual, window_min, baseline},
influencers [{author_id, handle, followers, rank, role}], themes [{term, posts}], path
[{source, target, kind, t}], posts, negative_posts, stream_at, and reasons [str] (written for
readers of the raw JSON; recomputed from the facts when they are there).

Pure: no database, no settings. Texts here are plain; each channel escapes them its own way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from listener import story_numbers

__all__ = ["Evidence", "Forecast", "GrowthPoint", "Influencer", "PathStep", "RootPost", "Theme",
           "Volume"]

MAX_ROOTS, MAX_INFLUENCERS, MAX_THEMES, MAX_REASON_INFLUENCERS = 5, 10, 8, 5


def _int(value: Any) -> int | None:
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _dicts(value: Any) -> list[Mapping]:
    """The mappings of a stored list; anything else in it (or instead of it) is skipped."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class RootPost:
    id: int
    author: str | None = None
    text: str = ""
    url: str | None = None
    created_at: str | None = None
    reposts: int | None = None


@dataclass(frozen=True, slots=True)
class GrowthPoint:
    t: datetime
    size: int


@dataclass(frozen=True, slots=True)
class Forecast:
    final: float
    low: float | None = None
    high: float | None = None
    p_viral: float | None = None
    observed: int | None = None
    age_min: float | None = None


@dataclass(frozen=True, slots=True)
class Volume:
    negative: int
    usual: float
    window_min: int
    baseline: str  # which baseline "usual" comes from, e.g. "hour_of_week"


@dataclass(frozen=True, slots=True)
class Influencer:
    author_id: int | None
    handle: str | None = None
    followers: int | None = None
    rank: int | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Theme:
    term: str
    posts: int | None = None


@dataclass(frozen=True, slots=True)
class PathStep:
    source: int | None
    target: int | None
    kind: str | None = None
    t: str | None = None


@dataclass(frozen=True)
class Evidence:
    kind: str = "cascade"  # "cascade" (one post spreading) or "burst" (many negative posts)
    triggers: tuple[str, ...] = ()
    root_posts: tuple[RootPost, ...] = ()
    growth: tuple[GrowthPoint, ...] = ()
    forecast: Forecast | None = None
    volume: Volume | None = None
    influencers: tuple[Influencer, ...] = ()
    themes: tuple[Theme, ...] = ()
    path: tuple[PathStep, ...] = ()
    posts: int = 0
    negative_posts: int = 0
    stream_at: float | None = None  # the stream time this state describes (see store.alerts)
    stored_reasons: tuple[str, ...] = ()  # reasons of a row written without the facts behind them
    extra: dict[str, Any] = field(default_factory=dict)

    # -- words -----------------------------------------------------------------------------

    def title(self) -> str:
        """One line: what is happening, how big, and the main complaint."""
        first = self.root_posts[0] if self.root_posts else None
        who = f"@{first.author}" if first and first.author else "a customer"
        if self.kind == "cascade":
            title = (f"Negative post by {who} spreading: "
                     f"{story_numbers.from_detector(self.posts).text()}")
            if self.forecast:
                title += f", forecast {self.forecast.final:,.0f}"
        else:
            title = f"Burst of negative posts: {self.negative_posts:,} negative mentions"
            if self.volume is not None:
                v = self.volume
                title += f", {v.negative:,} in {v.window_min} min against {v.usual:,.1f} usual"
        if self.themes:
            title += f" ({self.themes[0].term})"
        return title

    def reasons(self) -> list[str]:
        """Why this is an alert, one sentence per signal that fired."""
        out = []
        f = self.forecast
        if "growth" in self.triggers and f and f.observed is not None and f.age_min is not None:
            line = (f"growing fast: {f.observed:,} reactions in {f.age_min:.0f} min, forecast "
                    f"{f.final:,.0f}")
            if f.low is not None and f.high is not None:
                line += f" (80% interval {f.low:,.0f}-{f.high:,.0f})"
            if f.p_viral is not None:
                line += f", P(viral) {f.p_viral:.0%}"
            out.append(line)
        if "volume" in self.triggers and self.volume:
            out.append(self._volume_reason(self.volume))
        for inv in self.influencers[:MAX_REASON_INFLUENCERS]:
            if inv.rank is not None:
                out.append(f"top-{inv.rank} influencer @{inv.handle or inv.author_id} is the "
                           f"post's {inv.role or 'author'}")
        return out or list(self.stored_reasons)

    @staticmethod
    def _volume_reason(v: Volume) -> str:
        head = f"negative volume {v.negative:,} in {v.window_min} min"
        usual = f"the usual {v.usual:,.1f} for this time ({v.baseline})"
        if v.usual <= 0:
            return f"{head}, where {usual} is none"
        if v.negative <= v.usual:
            return f"{head}, not above {usual}"
        return f"{head}, {v.negative / v.usual:.1f}x {usual} (+{v.negative - v.usual:,.0f})"

    # -- building and storing ----------------------------------------------------------------

    @classmethod
    def from_story(cls, story: Any, roots: Mapping[int, Mapping],
                   people: Mapping[int, tuple[str | None, int | None]]) -> Evidence:
        """From a `graph.detector.Story`, with its root posts (id -> the row shape of `listener.store.detect_reads.root_posts`) and
        the involved authors (id -> (handle, followers)) already read from the store."""
        ids = [int(x) for x in story.root_posts[:MAX_ROOTS]]
        posts = [RootPost(int(roots[i]["id"]), roots[i].get("author"), roots[i].get("text") or "",
                          roots[i].get("url"), roots[i].get("created_at"),
                          roots[i].get("reposts")) for i in ids if i in roots]
        first = roots.get(ids[0]) if ids else None
        start = (datetime.fromisoformat(first["created_at"]) if first
                 else datetime.fromtimestamp(story.opened_at, UTC))
        f, v = story.forecast, story.volume
        return cls(
            kind=story.kind,
            triggers=tuple(story.triggers),
            root_posts=tuple(posts),
            growth=tuple(GrowthPoint(start + timedelta(minutes=m), int(size))
                         for m, size in story.growth_curve),
            forecast=None if f is None else Forecast(f.final, f.low, f.high, f.p_viral,
                                                     f.observed, f.age_min),
            volume=None if v is None else Volume(v.negative, v.negative_baseline, v.window_min,
                                                 v.baseline),
            influencers=tuple(
                Influencer(inv.author, *people.get(inv.author, (None, None)), inv.rank, inv.role)
                for inv in story.influencers[:MAX_INFLUENCERS]),
            themes=tuple(Theme(t, int(c)) for t, c in story.themes[:MAX_THEMES]),
            posts=story.post_count, negative_posts=story.negative_count,
            stream_at=story.updated_at)

    def to_json(self) -> dict[str, Any]:
        f, v = self.forecast, self.volume
        return {
            **self.extra,
            "kind": self.kind,
            "triggers": list(self.triggers),
            "reasons": self.reasons(),
            "root_posts": [{"id": p.id, "author": p.author, "text": p.text, "url": p.url,
                            "created_at": p.created_at, "reposts": p.reposts}
                           for p in self.root_posts],
            "growth": [{"t": g.t.isoformat(), "size": g.size} for g in self.growth],
            "forecast": None if f is None else {
                "final": f.final, "low": f.low, "high": f.high, "p_viral": f.p_viral,
                "observed": f.observed, "age_min": f.age_min},
            "volume": None if v is None else {"negative": v.negative, "usual": v.usual,
                                              "window_min": v.window_min,
                                              "baseline": v.baseline},
            "influencers": [{"author_id": i.author_id, "handle": i.handle,
                             "followers": i.followers, "rank": i.rank, "role": i.role}
                            for i in self.influencers],
            "themes": [{"term": t.term, "posts": t.posts} for t in self.themes],
            "path": [{"source": s.source, "target": s.target, "kind": s.kind, "t": s.t}
                     for s in self.path],
            "posts": self.posts, "negative_posts": self.negative_posts,
            "stream_at": self.stream_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None, story_key: str = "") -> Evidence:
        """Read stored evidence; malformed items are skipped, never fatal (the row is old or
        hand-made, and the alert must still show)."""
        d = data if isinstance(data, Mapping) else {}
        kind = d.get("kind") or ("burst" if story_key.startswith("burst") else "cascade")
        return cls(
            kind=str(kind),
            triggers=tuple(str(t) for t in d.get("triggers") or () if isinstance(t, str)),
            root_posts=tuple(RootPost(i, _str(p.get("author")), str(p.get("text") or ""),
                                      _str(p.get("url")), _str(p.get("created_at")),
                                      _int(p.get("reposts")))
                             for p in _dicts(d.get("root_posts"))
                             if (i := _int(p.get("id"))) is not None),
            growth=_growth(d.get("growth")),
            forecast=_forecast(d.get("forecast")),
            volume=_volume(d.get("volume")),
            influencers=tuple(Influencer(_int(i.get("author_id")), _str(i.get("handle")),
                                         _int(i.get("followers")), _int(i.get("rank")),
                                         _str(i.get("role")))
                              for i in _dicts(d.get("influencers"))),
            themes=tuple(Theme(str(t["term"]), _int(t.get("posts")))
                         for t in _dicts(d.get("themes")) if t.get("term") is not None),
            path=tuple(PathStep(_int(s.get("source")), _int(s.get("target")),
                                _str(s.get("kind")), _str(s.get("t")))
                       for s in _dicts(d.get("path"))),
            posts=_int(d.get("posts")) or 0,
            negative_posts=_int(d.get("negative_posts")) or 0,
            stream_at=_float(d.get("stream_at")),
            stored_reasons=tuple(str(r) for r in d.get("reasons") or () if isinstance(r, str)),
            extra={k: v for k, v in d.items() if k not in _KEYS},
        )

    @property
    def root_post_ids(self) -> list[int]:
        return [p.id for p in self.root_posts]


_KEYS = {"kind", "triggers", "reasons", "root_posts", "growth", "forecast", "volume",
         "influencers", "themes", "path", "posts", "negative_posts", "stream_at"}


def _growth(value: Any) -> tuple[GrowthPoint, ...]:
    points = []
    for g in _dicts(value):
        size = _int(g.get("size"))
        try:
            t = datetime.fromisoformat(str(g.get("t")).replace("Z", "+00:00"))
        except ValueError:
            continue
        if size is not None:
            points.append(GrowthPoint(t if t.tzinfo else t.replace(tzinfo=UTC), size))
    return tuple(sorted(points, key=lambda p: p.t))


def _forecast(value: Any) -> Forecast | None:
    if not isinstance(value, Mapping) or (final := _float(value.get("final"))) is None:
        return None
    return Forecast(final, _float(value.get("low")), _float(value.get("high")),
                    _float(value.get("p_viral")), _int(value.get("observed")),
                    _float(value.get("age_min")))


def _volume(value: Any) -> Volume | None:
    if not isinstance(value, Mapping):
        return None
    negative, usual = _int(value.get("negative")), _float(value.get("usual"))
    if negative is None or usual is None:
        return None
    return Volume(negative, usual, _int(value.get("window_min")) or 0,
                  str(value.get("baseline") or "baseline"))

