"""Early warning of negative word-of-mouth: signals combined into stories with evidence.

A brand team wants one alert per unfolding story that says why (the root posts, the growth curve,
the forecast with its uncertainty, the influencers involved, the complaint themes), not a stream
of alerts per post. The detector reads posts in time order and keeps per cascade (a root post
and its reposts/quotes/replies) and per brand (binned volume) just enough state to decide, every
`tick_s` of stream time, whether:

- a negative cascade is forecast to end above `viral_size` events (graph.cascades);
- a brand's negative volume or reach is anomalous for the time of week (graph.anomaly);
- a top-ranked author wrote or amplified a negative cascade (graph.cascades.influencer_involvement).

A cascade that triggers opens the story "cascade:<root id>"; a volume anomaly is attributed to the
cascade that makes up half the window's negative posts, else it opens "burst:<brand>:<time>".
Later posts update the story; it goes "quiet" after `story_idle_min` without news (lifecycle,
acknowledgement and cooldowns belong to the caller). Decisions depend only on the posts and their
order, so feeding posts in one call or many gives the same stories, and `to_json`/`from_json`
let a job resume where the last run stopped. Rankings are an input of each run, not state.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from graph.anomaly import (
    VolumeAnomaly,
    VolumeConfig,
    anomalous,
    baseline,
    could_be_anomalous,
    medians,
    score_window,
    window_sums,
)
from graph.cascades import (
    AudienceHistory,
    CascadeEvent,
    Forecast,
    Involvement,
    forecast_cascade,
    influencer_involvement,
)
from graph.levels import level
from graph.severity import SeverityModel, features, load_severity_model

__all__ = ["Detector", "DetectorConfig", "SignalPost", "Story"]

_NEVER = -1e18  # "not evaluated yet", finite so the state stays plain JSON
_CURVE_MIN = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 1440)


class SignalPost(NamedTuple):
    """A brand mention as the detector needs it (the store job maps rows to these).

    `parent` is the post this one reposts, quotes or replies to; `root` the cascade's first post
    when known (else it is found through parents the detector has seen). For a repost,
    `negative` should be the reposted post's label. A NamedTuple, not a dataclass: one is made
    per mention and crosses from detect's reader process, and a NamedTuple is cheaper to build
    and to unpickle than a frozen dataclass (bench/detector_records.py).
    """

    id: int | str
    brand: str
    at: float  # unix seconds
    negative: bool
    author: int | None = None
    followers: int | None = None
    parent: int | str | None = None
    root: int | str | None = None
    themes: tuple[str, ...] = ()  # complaint reasons or key terms


# The detector's state: slotted records with named fields (a dataclass with slots is smaller
# and faster to build and read than a NamedTuple here: bench/detector_records.py). A checkpoint
# (`to_json`) writes a post and a reaction as a list in field order, the rest as objects.


@dataclass(slots=True)
class SeenPost:
    """A post the detector has read, kept for its horizon (`max_age_h`)."""

    brand: str
    at: float
    negative: bool
    author: int | None
    root: str  # key of its cascade's root (its own key for a root post)
    id: int | str  # as the caller spelt it
    themes: list[str]


@dataclass(slots=True)
class Mention:
    """A negative post in its brand's current volume window."""

    at: float
    root: str  # key of its cascade's root (its own for a root post)
    key: str
    themes: list[str]


@dataclass(slots=True)
class Cascade:
    """A root post and its reactions, as far as the detector has seen them."""

    brand: str
    root: int | str  # the root's id as the caller spelt it
    t0: float  # when the cascade started (its root's time, else its first reaction's)
    root_negative: bool | None  # None while the root post is unseen
    root_author: int | None
    events: list[CascadeEvent]  # reactions, minutes since t0
    negatives: int
    themes: dict[str, int]
    last_at: float
    evaluated_at: float
    story: str | None
    # Derived, not saved (a checkpoint's cascades start without them): the reacting authors
    # the run's ranks know, in arrival order, from the first `ranked_seen` events; and the last
    # influencer involvement with what it was computed from. An evaluation extends the first
    # instead of scanning every reaction, and reuses the second while its inputs are the same.
    ranked: list[int] = field(default_factory=list, repr=False, compare=False)
    ranked_seen: int = field(default=0, repr=False, compare=False)
    involved: tuple[Any, list[Involvement]] | None = field(default=None, repr=False,
                                                           compare=False)


@dataclass(slots=True)
class BrandState:
    # bin index -> [negative, total, reach of negative posts] (graph.anomaly's bins)
    bins: dict[int, list[float]]
    first_bin: int | None
    evaluated_at: float
    recent: list[Mention]
    burst: str | None  # its latest burst story


@dataclass(slots=True)
class Burst:
    """A burst story's posts (keys) and their theme counts."""

    posts: list[str]
    themes: dict[str, int]


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    viral_size: float = 100.0  # final events that make a cascade viral
    p_alert: float = 0.5  # open a story when P(final >= viral_size) reaches this
    # Reactions before a cascade is forecast at all: the model learned on cascades that all grew
    # past 55 events, so it overestimates small ones (bench/detect.py measures this on decoys).
    min_events: int = 30
    top_n: int = 100  # authors ranked 1..top_n count as influencers
    min_influencer_events: int = 5  # reactions before an influencer's cascade opens a story
    # A trailing baseline shorter than a day compares the morning with the night before it
    # (every mention stream has a daily cycle): it needs a full day of history.
    volume: VolumeConfig = field(default_factory=lambda: VolumeConfig(trailing_min=24 * 60))
    story_idle_min: float = 120.0  # a story without news for this long goes quiet
    # True: the growth forecast reads the reacting accounts' earlier cascades (graph.cascades'
    # "audience" model, bounded features clipped to its fitted range; see docs/alerts.md).
    audience_history: bool = True


@dataclass(slots=True)
class Story:
    id: str
    brand: str
    kind: str  # "cascade" or "burst"
    status: str  # "active" or "quiet"
    opened_at: float
    updated_at: float
    severity: float
    level: str  # its name in graph.levels.LEVELS
    triggers: list[str]  # signals that have fired: "growth", "volume", "influencer"
    root_posts: list[int | str]
    post_count: int
    negative_count: int
    growth_curve: list[tuple[float, int]] = field(default_factory=list)  # (minutes, events)
    forecast: Forecast | None = None
    volume: VolumeAnomaly | None = None
    influencers: list[Involvement] = field(default_factory=list)
    themes: list[tuple[str, int]] = field(default_factory=list)
    quiet_at: float | None = None  # stream time it went quiet (None while active)

    @classmethod
    def from_dict(cls, d: Mapping) -> Story:
        d = dict(d)
        d["growth_curve"] = [tuple(p) for p in d["growth_curve"]]
        d["themes"] = [tuple(t) for t in d["themes"]]
        d["forecast"] = Forecast(**d["forecast"]) if d["forecast"] else None
        d["volume"] = VolumeAnomaly(**d["volume"]) if d["volume"] else None
        d["influencers"] = [Involvement(**v) for v in d["influencers"]]
        return cls(**d)


def story_features(story: Story, config: DetectorConfig, now: float) -> list[float]:
    """The severity model's inputs for `story` at stream time `now` (graph.severity.FEATURES):
    a volume anomaly counts only while its window is current."""
    v = story.volume
    current = v is not None and now - v.at <= v.window_min * 60
    if story.kind == "cascade" and story.growth_curve:  # the curve ends at its last update
        age = story.growth_curve[-1][0] + (now - story.updated_at) / 60
    else:
        age = (now - story.opened_at) / 60 + config.volume.window_min
    return features(
        story.post_count, config.viral_size, age, story.kind == "burst",
        None if story.forecast is None else story.forecast.p_viral,
        v if current else None,
        min((i.rank for i in story.influencers), default=None), config.top_n,
    )


def _severity(story: Story, config: DetectorConfig, now: float,
              model: SeverityModel | None) -> tuple[float, str]:
    """P(the story reaches `viral_size` posts) from the calibrated model: 1 once it has."""
    if story.post_count >= config.viral_size:
        return 1.0, level(1.0).name
    model = model or load_severity_model()
    sev = round(model.probability(story_features(story, config, now)), 4)
    return sev, level(sev).name


class Detector:
    """Incremental detector: `process` posts in time order, read back changed stories."""

    def __init__(
        self,
        config: DetectorConfig | None = None,
        brand_configs: Mapping[str, DetectorConfig] | None = None,
        ranks: Mapping[int, int] | None = None,
        tick_s: float = 60.0,
        max_age_h: float = 48.0,
        severity_model: SeverityModel | None = None,
    ) -> None:
        self.config = config or DetectorConfig()
        self.severity_model = severity_model  # None: the committed graph/models/severity.json
        self.brand_configs = dict(brand_configs or {})
        self.ranks = dict(ranks or {})
        self.tick_s = tick_s
        self.max_age_s = max_age_h * 3600
        self.now = 0.0
        self._posts: dict[str, SeenPost] = {}  # by key (str(id)), in arrival order
        self._cascades: dict[str, Cascade] = {}  # by root key
        self._brands: dict[str, BrandState] = {}
        self._stories: dict[str, Story] = {}
        self._housekept = self._pruned = 0.0
        self._bursts: dict[str, Burst] = {}  # by burst story id
        # Caches, not state: each brand's volume baseline for its current end bin (a brand is
        # scored every tick, its baseline changes every bin) and its past window sums (valid
        # until a post arrives late), and the stories still active.
        self._baselines: dict[str, list] = {}  # [(end, first bin), Medians, Baseline | None]
        self._windows: dict[str, dict[int, list[float]]] = {}
        self._active: dict[str, Story] = {}
        # Brands whose `recent` mentions may be out of time order (a late negative post): the
        # others drop the mentions that left the window from the front.
        self._recent_unsorted: set[str] = set()
        # _cascades is kept in last_at order while posts come in time order, so pruning
        # stops at the first recent cascade instead of scanning them all.
        self._cascades_ordered, self._cascades_tail = True, _NEVER
        # Cascades with reactions no evaluation has seen (root keys; state, kept in to_json).
        self._unevaluated: dict[str, None] = {}
        # Per account, the final sizes of the cascades it took part in that the detector has
        # forgotten (state): the growth forecast reads the reacting accounts' history.
        self._audience = AudienceHistory()

    def seen(self, post_id: int | str) -> bool:
        """Whether this post has been processed (within the detector's horizon)."""
        return str(post_id) in self._posts

    def cfg(self, brand: str) -> DetectorConfig:
        return self.brand_configs.get(brand, self.config)

    @property
    def stories(self) -> list[Story]:
        return sorted(self._stories.values(), key=lambda s: (s.opened_at, s.id))

    def process(self, posts: Iterable[SignalPost]) -> list[Story]:
        """Feed posts (time order); returns the stories opened, updated or quieted, latest state."""
        changed: dict[str, Story] = {}
        behind: dict[str, Cascade] = {}  # stories whose newest reactions no evaluation counted
        tick, brands = self.tick_s, self._brands
        late = False
        late_bins: dict[str, set[int]] = {}  # brand -> bins that late negative posts landed in
        # Per brand: its bin width and min_events (configs are fixed while posts come in).
        params: dict[str, tuple[int, int]] = {}
        unevaluated, housekept = self._unevaluated, self._housekept
        for p in posts:
            name = p.brand
            bin_s, min_events = params.get(name) or params.setdefault(name, self._params(name))
            if p.at >= self.now:
                self.now = p.at
            else:  # a late post may land in bins that past windows cover
                late = True
                self._baselines.pop(name, None)
                self._windows.pop(name, None)
                if p.negative and p.at >= self.now - self.max_age_s:
                    late_bins.setdefault(name, set()).add(int(p.at // bin_s))
            now = self.now
            cascade = self._add(p, bin_s)
            if cascade is not None:
                # Due (see _due), or just got enough reactions to be forecast: not a tick later.
                if now - cascade.evaluated_at >= max(tick, 0.05 * (now - cascade.t0)) or \
                        len(cascade.events) == min_events:
                    self._eval_cascade(cascade, changed)
                    unevaluated.pop(str(cascade.root), None)
                else:
                    if cascade.story:
                        behind[cascade.story] = cascade
                    unevaluated[str(cascade.root)] = None
            brand = brands[name]
            if now - brand.evaluated_at >= tick:
                self._eval_brand(name, brand, changed)
            if now - housekept >= tick:
                self._eval_unevaluated(changed)
                self._housekeep(changed)
                housekept = self._housekept
        # An open story's counts include every reaction read so far (the forecast still waits
        # for its next evaluation): the alert, its email and the dashboard count the same posts.
        for key, c in behind.items():
            story = self._stories.get(key)
            if story is not None and story.status == "active" and \
                    story.post_count != len(c.events) + 1:
                self._refresh_cascade(story, c, [], changed)
        for name, bins in sorted(late_bins.items()):
            self._eval_late_volume(name, bins, changed)
        if late:  # a story opened on late posts may already be over in its own time
            self._quiet_idle(changed, late=True)
        return sorted(changed.values(), key=lambda s: (s.updated_at, s.id))

    def _params(self, brand: str) -> tuple[int, int]:
        cfg = self.cfg(brand)
        return cfg.volume.bin_min * 60, cfg.min_events

    def _due(self, c: Cascade) -> bool:
        """Old cascades change slowly: look again after 5% of their age (a tick at least)."""
        return self.now - c.evaluated_at >= max(self.tick_s, 0.05 * (self.now - c.t0))

    def _eval_unevaluated(self, changed: dict[str, Story]) -> None:
        """Evaluate the cascades whose latest reactions came before they were due again.

        A cascade is evaluated when a reaction of its own arrives and it is due; one whose
        reactions all came within a tick of its first (80 retweets in 40 s, then quiet) would
        otherwise be judged on its first reaction alone and never alert, however fast it grew.
        Looked at every tick of stream time, so other posts arriving are enough.
        """
        for key in list(self._unevaluated):
            c = self._cascades.get(key)
            if c is None:
                del self._unevaluated[key]
            elif self._due(c):
                del self._unevaluated[key]
                self._eval_cascade(c, changed)

    # -- state updates ---------------------------------------------------------------------
    def _add(self, p: SignalPost, bin_s: int) -> Cascade | None:
        """Count the post in its brand's bins (`bin_s` seconds wide); attach it to its cascade
        if it is a reaction. Called once per post: locals rather than repeated lookups."""
        key, at, name = str(p.id), p.at, p.brand
        brand = self._brands.get(name)
        if brand is None:
            brand = self._brands[name] = BrandState(
                bins={}, first_bin=None, evaluated_at=_NEVER, recent=[], burst=None
            )
        b = int(at // bin_s)
        if brand.first_bin is None or b < brand.first_bin:
            brand.first_bin = b
        counts = brand.bins.get(b)
        if counts is None:
            counts = brand.bins[b] = [0.0, 0.0, 0.0]
        counts[1] += 1
        posts = self._posts
        parent = None if p.parent is None else str(p.parent)
        root = None if p.root is None else str(p.root)
        if root is None and parent is not None:
            seen = posts.get(parent)
            root = parent if seen is None else seen.root
        themes = list(p.themes) if p.themes else []
        negative = p.negative
        if negative:
            counts[0] += 1
            counts[2] += p.followers or 0
            recent = brand.recent
            if recent and at < recent[-1].at:
                self._recent_unsorted.add(name)
            recent.append(Mention(at, root or key, key, themes[:]))
        if at < self.now - self.max_age_s:  # too late for a story: volume history only
            return None
        posts[key] = SeenPost(name, at, negative, p.author, root or key, p.id, themes)
        if root is None or root == key:
            c = self._cascades.get(key)
            if c is None or c.root_negative is not None:
                return None
            # A root that arrives after its reactions (late): the cascade starts at its time.
            self._rebase(c, at)
            c.root, c.root_negative, c.root_author = p.id, negative, p.author
            for t in themes:
                c.themes[t] = c.themes.get(t, 0) + 1
            return c
        c = self._cascade(root, p)
        if at < c.t0 and c.root_negative is None:  # an earlier reaction, root unseen
            self._rebase(c, at)
        up = posts.get(parent) if parent != root else None
        parent_min = 0.0 if up is None else max(0.0, (up.at - c.t0) / 60)
        c.events.append(CascadeEvent((at - c.t0) / 60, p.author, p.followers, parent_min))
        c.negatives += bool(negative)
        if at > c.last_at:  # a late reaction is not the latest news
            c.last_at = at
        if themes:
            counts = c.themes
            for t in themes:
                counts[t] = counts.get(t, 0) + 1
        return c

    @staticmethod
    def _rebase(c: Cascade, t0: float) -> None:
        """Move a cascade's start to `t0` (earlier): its event times are minutes since it."""
        shift = (c.t0 - t0) / 60
        c.events = [CascadeEvent(e.minutes + shift, e.author, e.followers,
                                 # 0 is "a reaction to the root"
                                 e.parent_minutes + shift if e.parent_minutes > 0
                                 else e.parent_minutes)
                    for e in c.events]  # fmt: skip
        c.t0 = t0

    def _cascade(self, root: str, p: SignalPost) -> Cascade:
        """The root's cascade, created if new, moved last: the dict stays in `last_at` order."""
        c = self._cascades.pop(root, None)
        if c is None:
            seen = self._posts.get(root)  # the root post, when the detector has seen it
            if seen is None:
                c = Cascade(p.brand, _original(root, p), p.at, None, None, [], 0, {}, p.at,
                            _NEVER, None)  # fmt: skip
            else:
                c = Cascade(p.brand, seen.id, seen.at, seen.negative, seen.author, [], 0, {},
                            p.at, _NEVER, None)  # fmt: skip
                for t in seen.themes:
                    c.themes[t] = c.themes.get(t, 0) + 1
        self._cascades[root] = c
        if p.at < self._cascades_tail:  # out of order: pruning must scan them all
            self._cascades_ordered = False
        self._cascades_tail = max(self._cascades_tail, p.at)
        return c

    # -- signals -----------------------------------------------------------------------------
    def _eval_cascade(self, c: Cascade, changed: dict[str, Story]) -> None:
        c.evaluated_at = self.now
        cfg = self.cfg(c.brand)
        n = len(c.events)
        negative = c.root_negative or c.negatives * 2 >= n
        story = self._stories.get(c.story) if c.story else None
        if not negative and story is None:
            return
        age = (self.now - c.t0) / 60
        forecast = None
        if n >= cfg.min_events and age > 0:
            forecast = forecast_cascade(c.events, age, cfg.viral_size,
                                        audience=self._audience_of(c))
        involved = self._involved(c, cfg.top_n) if self.ranks else []
        triggers = []
        if forecast is not None and forecast.p_viral >= cfg.p_alert:
            triggers.append("growth")
        if involved and n >= cfg.min_influencer_events:
            triggers.append("influencer")
        if story is None and not triggers:
            return
        story = story or self._open(f"cascade:{c.root}", c.brand, "cascade", c)
        story.forecast = forecast or story.forecast
        story.influencers = involved
        self._refresh_cascade(story, c, triggers, changed)

    def _involved(self, c: Cascade, top_n: int) -> list[Involvement]:
        """The cascade's influencer involvement (graph.cascades.influencer_involvement).

        Unranked amplifiers never count, so only ranked authors are listed, and only the
        reactions since the last evaluation are looked at; the ranks are fixed for a
        detector's life (an input of each run), so the same inputs give the same answer.
        """
        ranks, events = self.ranks, c.events
        if c.ranked_seen < len(events):
            ranked = c.ranked
            for e in itertools.islice(events, c.ranked_seen, None):
                if e.author in ranks:
                    ranked.append(e.author)
            c.ranked_seen = len(events)
        if not c.ranked and c.root_author not in ranks:  # no one ranked: nobody involved
            return []
        key = (c.root, c.root_author, len(c.ranked), top_n)
        if c.involved is None or c.involved[0] != key:
            post = [(c.root, c.root_author, c.ranked)]
            c.involved = (key, influencer_involvement(post, ranks, top_n))
        return list(c.involved[1])

    def _refresh_cascade(
        self, story: Story, c: Cascade, triggers: list[str], changed: dict[str, Story]
    ) -> None:
        events = np.sort([e.minutes for e in c.events])
        age = (self.now - c.t0) / 60
        marks = [m for m in _CURVE_MIN if m < age] + [age]
        seen = np.searchsorted(events, marks, side="right")
        curve = [(round(m, 2), int(n)) for m, n in zip(marks, seen, strict=True)]
        self._touch(
            story,
            triggers,
            changed,
            post_count=len(events) + 1,
            negative_count=c.negatives + bool(c.root_negative),
            growth_curve=curve,
            themes=_top(c.themes),
        )

    def _eval_brand(self, name: str, brand: BrandState, changed: dict[str, Story]) -> None:
        brand.evaluated_at = self.now
        vc = self.cfg(name).volume
        horizon = self.now - vc.window_min * 60
        recent = brand.recent
        if name in self._recent_unsorted:
            recent = brand.recent = [r for r in recent if r.at > horizon]
            if all(a.at <= b.at for a, b in itertools.pairwise(recent)):
                self._recent_unsorted.discard(name)
        elif recent and recent[0].at <= horizon:  # in time order: the old ones are in front
            i, n = 1, len(recent)
            while i < n and recent[i].at <= horizon:
                i += 1
            del recent[:i]
        if len(recent) < vc.min_count:  # cheap exit: most evaluations stop here
            return
        end = int(self.now // (vc.bin_min * 60))
        neg, _, reach = window_sums(brand.bins, end, vc)
        cached = self._baseline(name, brand, end, vc)
        # Then the next cheapest: the baseline's medians, its spreads, the whole score.
        if not could_be_anomalous(neg, reach, cached[1], vc):
            return
        base = cached[2]
        if base is None:
            base = cached[2] = baseline(brand.bins, end, brand.first_bin, vc,
                                        self._windows.setdefault(name, {}))
        if not anomalous(neg, reach, base, vc):
            return
        anomaly = score_window(brand.bins, end, base, vc)
        # An unusual share or reach on fewer negative posts than usual is no burst of them.
        if anomaly.negative <= anomaly.negative_baseline:
            return
        roots = Counter(r.root for r in brand.recent)
        top, top_n = roots.most_common(1)[0]
        c = self._cascades.get(top)
        if c is not None and top_n * 2 >= len(brand.recent):
            story = self._stories.get(c.story) if c.story else None
            story = story or self._open(f"cascade:{c.root}", name, "cascade", c)
            story.volume = anomaly
            self._refresh_cascade(story, c, ["volume"], changed)
            return
        story = self._stories.get(brand.burst) if brand.burst else None
        if story is None or story.status != "active":
            story = self._open(f"burst:{name}:{int(self.now)}", name, "burst", None)
            brand.burst = story.id
        self._add_to_burst(story, brand.recent, roots, anomaly, changed)

    def _eval_late_volume(self, name: str, late_bins: set[int], changed: dict[str, Story]) -> None:
        """Judge the past windows that late negative posts landed in, each in its own time.

        The windows the current one overlaps are the ordinary evaluation's; an anomalous past
        window updates the story of the cascade that makes up half of it, else a burst story
        dated by that window (opened, updated and later quieted in event time).
        """
        vc, brand = self.cfg(name).volume, self._brands[name]
        width, bin_s = max(1, vc.window_min // vc.bin_min), vc.bin_min * 60
        current = int(self.now // bin_s)
        ends = sorted({e for b in late_bins for e in range(b, b + width) if e <= current - width})
        if not ends or brand.first_bin is None:
            return
        lo, hi = (ends[0] - width + 1) * bin_s, (ends[-1] + 1) * bin_s
        negatives = [Mention(v.at, v.root, k, v.themes) for k, v in sorted(
            ((k, v) for k, v in self._posts.items()
             if v.brand == name and v.negative and lo <= v.at < hi),
            key=lambda kv: (kv[1].at, kv[1].root, kv[0], kv[1].themes))]
        burst, last_end, now = None, None, self.now
        for e in ends:
            anomaly = score_window(brand.bins, e, baseline(brand.bins, e,
                                                              brand.first_bin, vc), vc)
            if not anomaly.anomalous or anomaly.negative <= anomaly.negative_baseline:
                continue
            start = (e - width + 1) * bin_s
            window = [r for r in negatives if start <= r.at < anomaly.at]
            roots = Counter(r.root for r in window)
            top, top_n = roots.most_common(1)[0] if roots else (None, 0)
            c = self._cascades.get(top) if top is not None else None
            if c is not None and top_n * 2 >= len(window):
                story = self._stories.get(c.story) if c.story else None
                story = story or self._open(f"cascade:{c.root}", name, "cascade", c)
                story.volume = anomaly
                self._refresh_cascade(story, c, ["volume"], changed)
                continue
            self.now = anomaly.at  # a burst in its own time
            try:
                if burst is None or last_end is None or e - last_end > width:
                    burst = self._burst_at(name, anomaly.at, vc.window_min * 60) or self._open(
                        f"burst:{name}:{int(anomaly.at)}", name, "burst", None)
                self._add_to_burst(burst, window, roots, anomaly, changed)
            finally:
                self.now = now
            last_end = e

    def _burst_at(self, name: str, at: float, window_s: float) -> Story | None:
        """The brand's burst story that was going on at `at`, if any (late posts join it)."""
        for story in self._stories.values():
            end = story.quiet_at if story.quiet_at is not None else self.now
            if story.kind == "burst" and story.brand == name and \
                    story.opened_at - window_s <= at <= end:
                return story
        return None

    def _add_to_burst(self, story: Story, recent: list[Mention], roots: Counter,
                      anomaly: VolumeAnomaly, changed: dict[str, Story]) -> None:
        """Count a window's negative posts not yet in the burst story."""
        burst = self._bursts.get(story.id)
        if burst is None:
            burst = self._bursts[story.id] = Burst([], {})
        known = set(burst.posts)
        new = [r for r in recent if r.key not in known]
        burst.posts.extend(r.key for r in new)
        themes = burst.themes
        for r in new:
            for t in r.themes:
                themes[t] = themes.get(t, 0) + 1
        listed = {str(x) for x in story.root_posts}
        posts = self._posts
        roots_top = [
            posts[k].id if k in posts else k
            for k, _ in roots.most_common(5)
            if k not in listed
        ]
        story.volume = anomaly
        self._touch(
            story,
            ["volume"],
            changed,
            root_posts=(story.root_posts + roots_top)[:10],
            post_count=story.post_count + len(new),
            negative_count=story.negative_count + len(new),
            themes=_top(themes),
        )

    def _baseline(self, name: str, brand: BrandState, end: int, vc: VolumeConfig) -> list:
        """[(end, first bin), the baseline's Medians, its Baseline or None until asked for]."""
        key = (end, brand.first_bin)
        cached = self._baselines.get(name)
        if cached is None or cached[0] != key:
            windows = self._windows.setdefault(name, {})
            cached = self._baselines[name] = [key, medians(brand.bins, end, key[1], vc, windows),
                                              None]
        return cached

    # -- stories -----------------------------------------------------------------------------
    def _open(self, story_id: str, brand: str, kind: str, c: Cascade | None) -> Story:
        story = self._stories.get(story_id)
        if story is None:
            roots = [c.root] if c else []
            story = Story(story_id, brand, kind, "active", self.now, self.now, 0.0, "low", [],
                          roots, 0, 0)  # fmt: skip
            self._stories[story_id] = self._active[story_id] = story
        if c is not None:
            c.story = story_id
        return story

    def _touch(
        self, story: Story, triggers: list[str], changed: dict[str, Story], **fields
    ) -> None:
        for k, v in fields.items():
            setattr(story, k, v)
        story.triggers = sorted(set(story.triggers) | set(triggers))
        story.status, story.quiet_at = "active", None  # news wakes a quiet story: the same one
        self._active[story.id] = story
        story.updated_at = max(story.updated_at, self.now)  # a late window never rewinds it
        story.severity, story.level = _severity(story, self.cfg(story.brand), self.now,
                                               self.severity_model)
        changed[story.id] = replace(story)

    def _housekeep(self, changed: dict[str, Story]) -> None:
        """Quiet stories without news, and forget posts and cascades past the horizon."""
        self._housekept = self.now
        self._quiet_idle(changed)
        if self.now - self._pruned < 3600:  # forgetting is slow and can wait an hour
            return
        self._pruned = self.now
        self._baselines.clear()  # bins are about to be forgotten
        horizon = self.now - self.max_age_s
        posts = self._posts  # kept in arrival order: the old ones are in front
        for k in list(itertools.takewhile(lambda k: posts[k].at < horizon, posts)):
            del posts[k]
        self._forget_cascades(horizon)
        for story_id in [
            s.id for s in self._stories.values() if s.status == "quiet" and s.updated_at < horizon
        ]:
            del self._stories[story_id]
            self._bursts.pop(story_id, None)
        for name, brand in self._brands.items():
            vc = self.cfg(name).volume
            keep = (self.now - (vc.max_periods + 1) * 7 * 86400) // (vc.bin_min * 60)
            _drop_front(brand.bins, keep)
            # Window sums ending before `keep` are never read again: drop the oldest.
            _drop_front(self._windows.get(name, {}), keep)

    def _quiet_idle(self, changed: dict[str, Story], late: bool = False) -> None:
        """Quiet the stories without news for `story_idle_min`, neither an update nor a post of
        their cascade. After `late` posts, a cascade's news is its latest post alone (in event
        time: a story opened on posts read late is judged by when they were posted)."""
        for story in list(self._active.values()):
            idle = self.cfg(story.brand).story_idle_min * 60
            if not late and self.now - story.updated_at < idle:
                continue
            c = self._cascades.get(_root_key(story))
            last = c.last_at if c is not None else story.updated_at
            if self.now - last >= idle:
                self._quiet(story, c)
                del self._active[story.id]
                changed[story.id] = replace(story)

    def _quiet(self, story: Story, c: Cascade | None) -> None:
        """No news for `story_idle_min`: the story stopped growing, and its severity decays to
        what is known now (a forecast that has seen the silence, no current volume anomaly)."""
        cfg = self.cfg(story.brand)
        story.status, story.quiet_at = "quiet", self.now
        if c is not None and len(c.events) >= cfg.min_events:
            story.forecast = forecast_cascade(c.events, (self.now - c.t0) / 60, cfg.viral_size,
                                              audience=self._audience_of(c))
        story.severity, story.level = _severity(story, cfg, self.now, self.severity_model)

    def _audience_of(self, c: Cascade) -> list[float] | None:
        """What the accounts reacting to `c` did before (graph.cascades.AUDIENCE_FEATURES)."""
        if not self.cfg(c.brand).audience_history:
            return None
        return self._audience.features(e.author for e in c.events)

    def _forget_cascades(self, horizon: float) -> list[str]:
        """Drop the cascades without news since `horizon`; returns their roots. Each is over:
        its size goes into its accounts' history, in the order they are forgotten."""
        cascades, audience = self._cascades, self._audience
        if self._cascades_ordered:
            old = list(itertools.takewhile(lambda k: cascades[k].last_at < horizon, cascades))
            for root in old:
                c = cascades.pop(root)
                audience.record((e.author for e in c.events), len(c.events))
            return old
        old = [k for k, v in cascades.items() if v.last_at < horizon]
        for root in old:
            c = cascades[root]
            audience.record((e.author for e in c.events), len(c.events))
        kept = sorted(
            (v.last_at, i, k)
            for i, (k, v) in enumerate(cascades.items())
            if v.last_at >= horizon
        )
        self._cascades = {k: cascades[k] for _, _, k in kept}  # back in last_at order
        self._cascades_ordered = True
        return old

    # -- persistence -------------------------------------------------------------------------
    def to_json(self) -> str:
        """The whole state (not the config or the ranks) as JSON, to resume with `from_json`."""
        stories = [asdict(s) for s in self._stories.values()]
        return json.dumps(dict(
            version=1, now=self.now, housekept=self._housekept, pruned=self._pruned,
            posts={k: _post_row(v) for k, v in self._posts.items()},
            cascades={k: _cascade_dict(c) for k, c in self._cascades.items()},
            brands={k: _brand_dict(b) for k, b in self._brands.items()}, stories=stories,
            bursts={k: dict(posts=b.posts, themes=b.themes) for k, b in self._bursts.items()},
            unevaluated=list(self._unevaluated), audience=self._audience.to_dict(),
        ))  # fmt: skip

    @classmethod
    def from_json(cls, text: str, config: DetectorConfig | None = None, **kwargs) -> Detector:
        d = json.loads(text)
        det = cls(config, **kwargs)
        det.now, det._housekept, det._pruned = d["now"], d["housekept"], d["pruned"]
        det._posts = {k: SeenPost(*v) for k, v in d["posts"].items()}
        det._cascades = {k: _cascade_from(c) for k, c in d["cascades"].items()}
        det._brands = {k: _brand_from(b) for k, b in d["brands"].items()}
        det._recent_unsorted = {k for k, b in det._brands.items() if any(
            x.at > y.at for x, y in itertools.pairwise(b.recent))}
        det._stories = {s["id"]: Story.from_dict(s) for s in d["stories"]}
        det._active = {k: s for k, s in det._stories.items() if s.status == "active"}
        last = [c.last_at for c in det._cascades.values()]
        det._cascades_ordered = all(a <= b for a, b in itertools.pairwise(last))
        det._cascades_tail = max(last, default=_NEVER)
        det._bursts = {k: Burst(b["posts"], b["themes"]) for k, b in d["bursts"].items()}
        det._unevaluated = dict.fromkeys(d.get("unevaluated", ()))
        if "audience" in d:  # a checkpoint from before the audience history has none
            det._audience = AudienceHistory.from_dict(d["audience"])
        return det


# A checkpoint's layout (version 1, the same since the state was positional lists): a post is
# a list in SeenPost's field order, a reaction one in CascadeEvent's, a recent mention one in
# Mention's; a cascade, a brand and a burst are objects with their field names.


def _post_row(v: SeenPost) -> list:
    return [v.brand, v.at, v.negative, v.author, v.root, v.id, v.themes]


def _cascade_dict(c: Cascade) -> dict:
    return dict(
        brand=c.brand, root=c.root, t0=c.t0, root_negative=c.root_negative,
        root_author=c.root_author,
        events=[[e.minutes, e.author, e.followers, e.parent_minutes] for e in c.events],
        negatives=c.negatives, themes=c.themes, last_at=c.last_at, evaluated_at=c.evaluated_at,
        story=c.story,
    )  # fmt: skip


def _cascade_from(d: Mapping) -> Cascade:
    return Cascade(
        brand=d["brand"], root=d["root"], t0=d["t0"], root_negative=d["root_negative"],
        root_author=d["root_author"], events=[CascadeEvent(*e) for e in d["events"]],
        negatives=d["negatives"], themes=d["themes"], last_at=d["last_at"],
        evaluated_at=d["evaluated_at"], story=d["story"],
    )  # fmt: skip


def _brand_dict(b: BrandState) -> dict:
    return dict(bins=b.bins, first_bin=b.first_bin, evaluated_at=b.evaluated_at,
                recent=[[r.at, r.root, r.key, r.themes] for r in b.recent], burst=b.burst)


def _brand_from(d: Mapping) -> BrandState:
    return BrandState(
        bins={int(k): v for k, v in d["bins"].items()},  # JSON made the bin indexes strings
        first_bin=d["first_bin"], evaluated_at=d["evaluated_at"],
        recent=[Mention(*r) for r in d["recent"]], burst=d["burst"],
    )  # fmt: skip


def _drop_front(d: dict[int, Any], keep: float) -> None:
    """Forget the entries before bin `keep` at the front of a dict filled in time order,
    without scanning it all."""
    for k in list(itertools.takewhile(keep.__gt__, d)):
        del d[k]


def _original(root: str, p: SignalPost) -> int | str:
    """The root's id as the caller spelt it (ints stay ints), for a root the detector never saw."""
    for candidate in (p.root, p.parent):
        if candidate is not None and str(candidate) == root:
            return candidate
    return root


def _root_key(story: Story) -> str:
    return story.id.split(":", 1)[1] if story.kind == "cascade" else ""


def _top(themes: Mapping[str, int], n: int = 5) -> list[tuple[str, int]]:
    return sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
