"""The engagement loop: read threads from the store, link answers, rank the queue, compute KPIs.

`load` reads the threads around the chosen brands' mentions and own posts in a window
(`listener.store.engagement`), maps them to `graph.conversations.ThreadPost`s and links them;
`inbox`, `service` and `effect` turn that into the queue, the service KPIs and the reply-effect
estimate. "Now" is the newest stored post's time unless given, so an imported archive (the demo
week, the support conversations) reads as it did when it was collected.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from graph.conversations import Conversations, ThreadPost, link
from graph.reply_effect import CAVEATS, Effect, reply_effect
from graph.service import ServiceKpis, kpis, kpis_by, period_of
from graph.triage import HIGH_RISK, Risk, RiskInputs, risk
from listener.post import RETWEET_PREFIX, stable_id, utcnow
from listener.store import Brand, Store
from listener.store.alerts import cascade_forecasts
from listener.store.engagement import PostRow, ThreadData, latest_post_time, load_threads
from listener.store.influence import influence_of, latest_run
from listener.store.scores import current_model_version
from nlp.questions import is_question

__all__ = ["CAVEATS", "Engagement", "QueueItem", "effect", "inbox", "load", "service"]


@dataclass(frozen=True)
class QueueItem:
    brand: str
    post_id: int
    platform: str
    native_id: str
    url: str | None
    author: str | None
    followers: int | None
    text: str
    created_at: datetime
    label: str | None
    negative: float | None
    question: bool
    reactions: int  # reposts, quotes and replies by customers so far
    risk: Risk

    def as_dict(self) -> dict:
        return {"brand": self.brand, "post_id": self.post_id, "platform": self.platform,
                "native_id": self.native_id, "url": self.url, "author": self.author,
                "followers": self.followers, "text": self.text,
                "created_at": self.created_at.isoformat(), "label": self.label,
                "negative": self.negative, "question": self.question,
                "reactions": self.reactions, "risk": self.risk.score, "parts": self.risk.parts,
                "reasons": list(self.risk.reasons)}


@dataclass
class Engagement:
    brands: list[Brand]  # the brands asked about
    conversations: Conversations
    data: ThreadData
    as_of: datetime
    since: datetime | None
    until: datetime | None
    has_accounts: dict[str, bool] = field(default_factory=dict)

    def in_window(self, at: float) -> bool:
        return ((self.since is None or at >= self.since.timestamp())
                and (self.until is None or at < self.until.timestamp()))


def _thread_post(r: PostRow, data: ThreadData, owner: str | None, names: dict[int, str]) -> ThreadPost:
    kind = data.kinds.get(r.id) or ("repost" if RETWEET_PREFIX.match(r.text) else "reply")
    return ThreadPost(
        id=r.id, author=r.author_id, at=r.created_at.timestamp(),
        parent=stable_id(r.platform, r.parent_native_id) if r.parent_native_id else None,
        kind=kind, thread=stable_id(r.platform, r.conversation_id) if r.conversation_id else None,
        owner=owner,
        brands=() if owner else tuple(sorted(names[b] for b in data.tags.get(r.id, ()) if b in names)),
        mentions=frozenset(data.mentions.get(r.id, ())), negative=r.negative, label=r.label,
        question=kind != "repost" and is_question(r.text), followers=r.followers)


def load(store: Store, brand: str | None = None, since: datetime | None = None,
         until: datetime | None = None, as_of: datetime | None = None,
         model: str | None = None) -> Engagement:
    """Link the conversations of one brand (or all) whose customer posts fall in the window.

    Sentiment is `model`'s (a model version), by default the store's current one.
    """
    every = store.brands()
    chosen = [store.brand(brand)] if brand else every
    names = {b.id: b.name for b in every}
    owned = store.owned_authors()
    version = model
    if version is None:
        with store.engine.connect() as conn:
            version = current_model_version(conn)
    mine = [a for a, b in owned.items() if b in {c.id for c in chosen}]
    data = load_threads(store, [b.id for b in chosen], since, until, version, mine)
    posts = [_thread_post(r, data, names.get(owned[r.author_id]) if r.author_id in owned else None,
                          names) for r in data.posts.values()]
    conv = link(posts)
    keep = {b.name for b in chosen}
    conv = Conversations([p for p in conv.posts if p.brand in keep],
                         [c for c in conv.cases if c.brand in keep], conv.threads)
    accounts = set(store.accounts().values())
    return Engagement(chosen, conv, data, as_of or latest_post_time(store) or utcnow(), since,
                      until, {b.name: b.id in accounts for b in chosen})


def _reactions(e: Engagement, post_id: int, owned: dict[int, int]) -> list[float]:
    limit = e.as_of.timestamp()
    return [t.timestamp() for t, who in e.data.reactions.get(post_id, ())
            if who not in owned and t.timestamp() <= limit]


def _queue(store: Store, e: Engagement) -> list[QueueItem]:
    """Every unanswered customer post that needs an answer, posted in the window, riskiest first."""
    owned = store.owned_authors()
    now = e.as_of.timestamp()
    # Unanswered as of `as_of`: an answer that came later did not exist yet.
    waiting = [cp for cp in e.conversations.posts
               if cp.needs_answer and (cp.response is None or cp.response.at > now)
               and e.in_window(cp.post.at) and cp.post.at <= now]
    run = latest_run(store)
    influence = influence_of(store, run.id if run else None, {cp.post.author for cp in waiting})
    stories = cascade_forecasts(store)
    ids = {b.name: b.id for b in e.brands}
    items = []
    for cp in waiting:
        row = e.data.posts[cp.post.id]
        story = stories.get((ids[cp.brand], cp.post.id)) or stories.get((ids[cp.brand], cp.thread))
        infl, rank = influence.get(cp.post.author, (None, None))
        reactions = len(_reactions(e, cp.post.id, owned))
        inputs = RiskInputs(followers=row.followers, influence=infl, influence_rank=rank,
                            p_viral=story[0] if story else None,
                            forecast_final=story[1] if story else None, reactions=reactions,
                            negative=row.negative, age_hours=(now - cp.post.at) / 3600)
        items.append(QueueItem(cp.brand, row.id, row.platform, row.native_id, row.url, row.handle,
                               row.followers, row.text, row.created_at, row.label, row.negative,
                               cp.post.question, reactions, risk(inputs)))
    items.sort(key=lambda q: (-q.risk.score, q.created_at, q.post_id))
    return items


def inbox(store: Store, brand: str | None = None, days: float = 7.0,
          as_of: datetime | None = None, limit: int | None = 50) -> tuple[Engagement, list[QueueItem]]:
    """The unanswered queue of the last `days` before `as_of` (default: the newest post)."""
    as_of = as_of or latest_post_time(store) or utcnow()
    e = load(store, brand, as_of - timedelta(days=days), as_of + timedelta(microseconds=1), as_of)
    items = _queue(store, e)
    return e, items[:limit] if limit else items


def service(store: Store, brand: str | None = None, since: datetime | None = None,
            until: datetime | None = None, period: str = "day",
            engagement: Engagement | None = None) -> dict:
    """KPIs per brand, per competitor group and per brand and period, for cases opened in the window.

    {"brands": {name: ServiceKpis}, "groups": {group: ServiceKpis},
     "periods": {name: {period: ServiceKpis}}, "as_of": datetime}
    """
    e = engagement or load(store, brand, since, until)
    cases = [c for c in e.conversations.cases if e.in_window(c.opened_at)]
    group = {b.name: b.competitor_group for b in e.brands}
    risky: dict[Hashable, int] = {}
    risky_group: dict[Hashable, int] = {}
    risky_period: dict[Hashable, int] = {}
    for item in _queue(store, e):
        if item.risk.score >= HIGH_RISK:
            risky[item.brand] = risky.get(item.brand, 0) + 1
            g = group.get(item.brand)
            if g:
                risky_group[g] = risky_group.get(g, 0) + 1
            key = (item.brand, period_of(item.created_at.timestamp(), period))
            risky_period[key] = risky_period.get(key, 0) + 1
    brands = kpis_by(cases, lambda c: c.brand, risky)
    for b in e.brands:  # a brand without cases still gets its (empty) row
        brands.setdefault(b.name, kpis([]))
    periods: dict[str, dict[str, ServiceKpis]] = {}
    for (name, day), k in kpis_by(cases, lambda c: (c.brand, period_of(c.opened_at, period)),
                                  risky_period).items():
        periods.setdefault(name, {})[day] = k
    return {"brands": dict(sorted(brands.items())),
            "groups": kpis_by(cases, lambda c: group.get(c.brand), risky_group),
            "periods": periods, "as_of": e.as_of, "has_accounts": e.has_accounts}


def effect(store: Store, brand: str | None = None, since: datetime | None = None,
           until: datetime | None = None, *, threads_end_at_last_post: bool = False,
           replicates: int = 1000, engagement: Engagement | None = None) -> dict[str, Effect]:
    """The reply-effect estimates (graph.reply_effect) for customer posts in the window.

    `threads_end_at_last_post`: the archive holds each thread only up to its last post (IBM's
    support conversations end at the agent's URL reply), so nothing later was watched.
    """
    e = engagement or load(store, brand, since, until)
    conv = Conversations([p for p in e.conversations.posts if e.in_window(p.post.at)],
                         e.conversations.cases, e.conversations.threads)
    owned = store.owned_authors()
    if threads_end_at_last_post:
        ends: dict[Hashable, float] = {}
        for pid, thread in conv.threads.items():
            at = e.data.posts[pid].created_at.timestamp() if pid in e.data.posts else -math.inf
            ends[thread] = max(ends.get(thread, -math.inf), at)
        watched = ends.get
    else:
        horizon = e.as_of.timestamp()

        def watched(_thread: Hashable) -> float:
            return horizon
    reactions = {cp.post.id: _reactions(e, cp.post.id, owned) for cp in conv.posts}
    return reply_effect(conv, observed_until=watched, reactions=reactions,
                        replicates=replicates)


def summary(store: Store, brand: str | None = None, since: datetime | None = None,
            until: datetime | None = None, *, model: str | None = None, top: int = 50,
            replicates: int = 500) -> dict:
    """Everything the dashboard's Engagement page and the digest show, as plain data.

    One read of the threads serves the KPIs, the queue and the reply effect.
    """
    e = load(store, brand, since, until, model=model)
    out = service(store, engagement=e)
    answered = sorted((c for c in e.conversations.cases if c.response and e.in_window(c.opened_at)),
                      key=lambda c: -c.response.at)[:top]
    answers = []
    for c in answered:
        reply, first = e.data.posts.get(c.response.post), e.data.posts.get(c.posts[0])
        if reply is None or first is None:
            continue
        answers.append({"brand": c.brand, "answered_at": reply.created_at.isoformat(),
                        "minutes": c.response.minutes, "via": c.response.via,
                        "account": reply.handle, "answer": reply.text, "url": reply.url,
                        "customer": first.handle, "customer_post": first.text,
                        "later_posts": len(c.after_response),
                        "later_negative": sum(f.is_negative for f in c.after_response)})
    queue = _queue(store, e)
    effects = effect(store, engagement=e, replicates=replicates)
    return {
        "as_of": e.as_of, "has_accounts": e.has_accounts,
        "brands": {k: v.as_dict() for k, v in out["brands"].items()},
        "groups": {k: v.as_dict() for k, v in out["groups"].items()},
        "periods": {b: {d: k.as_dict() for d, k in days.items()}
                    for b, days in out["periods"].items()},
        "queue": [i.as_dict() for i in queue[:top]], "unanswered": len(queue),
        "answers": answers,
        "effects": {k: v.as_dict() for k, v in effects.items()}, "caveats": CAVEATS,
    }
