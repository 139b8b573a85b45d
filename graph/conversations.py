"""Conversations: which customer posts a brand answered, how fast, and what the customer did next.

Input is plain data (`ThreadPost`: who wrote what, when, in reply to what; whether the author is
one of a brand's own accounts), so the same code runs on the store, a file or a notebook.

A brand post *answers* a customer post when, posted after it, it
- sits below it in the reply chain with only the customer and the brand between them (the
  back-and-forth of a support conversation; a reply to someone else further down is theirs), or
- quotes it (a quote is a reply that everyone sees), or
- is in the same thread and addresses the customer: @mentions them, or replies to one of their
  posts (a reply to a customer's last post answers their earlier ones in the thread too).

A brand's customer posts are the posts that mention it (its query matched) and the posts its
accounts answered (whatever they said: the brand treated them as addressed to it). Posts by any
brand's own accounts are never customer posts. Reposts are amplification, not conversation:
they neither ask nor answer. A customer post *needs an answer* when it is negative or a question.

A *case* is one customer's part of one thread for one brand (what a help desk calls a ticket):
its first response time runs from the customer's first post there to the brand's first answer to
any of their posts, as help desks measure it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

__all__ = ["Case", "Conversations", "CustomerPost", "FollowUp", "Response", "ThreadPost", "link"]

_MAX_DEPTH = 10_000  # a reply chain longer than this is a data error (or a cycle)


@dataclass(frozen=True, slots=True)
class ThreadPost:
    """A post as conversation linking needs it (the store job maps rows to these)."""

    id: Hashable
    author: Hashable
    at: float  # unix seconds
    parent: Hashable | None = None  # the post this one replies to, quotes or reposts
    kind: str = "reply"  # how it relates to `parent`: "reply", "quote" or "repost"
    thread: Hashable | None = None  # the platform's conversation id, where it gives one
    owner: str | None = None  # the brand whose own account wrote it; None for a customer
    brands: tuple[str, ...] = ()  # brands whose query it matches
    mentions: frozenset = frozenset()  # authors it @mentions
    negative: float | None = None  # P(negative) from the sentiment model; None if unscored
    label: str | None = None  # the model's label
    question: bool = False
    followers: int | None = None

    @property
    def is_negative(self) -> bool:
        if self.label is not None:
            return self.label == "negative"
        return self.negative is not None and self.negative >= 0.5

    @property
    def needs_answer(self) -> bool:
        return self.is_negative or self.question


@dataclass(frozen=True, slots=True)
class Response:
    post: Hashable
    at: float
    minutes: float  # from the customer post (or the case's first post) to this answer
    via: str  # "reply", "quote" or "mention"


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A later post by the same customer in the same thread."""

    post: Hashable
    at: float
    negative: float | None
    label: str | None

    @property
    def is_negative(self) -> bool:
        if self.label is not None:
            return self.label == "negative"
        return self.negative is not None and self.negative >= 0.5


@dataclass(frozen=True, slots=True)
class CustomerPost:
    post: ThreadPost
    brand: str
    thread: Hashable
    response: Response | None
    followups: tuple[FollowUp, ...]  # the customer's later posts in the thread, in time order

    @property
    def needs_answer(self) -> bool:
        return self.post.needs_answer

    @property
    def answered(self) -> bool:
        return self.response is not None


@dataclass(frozen=True, slots=True)
class Case:
    brand: str
    author: Hashable
    thread: Hashable
    opened_at: float
    posts: tuple[Hashable, ...]  # the customer's posts in the thread, in time order
    needs_answer: bool
    response: Response | None  # minutes counted from `opened_at`
    after_response: tuple[FollowUp, ...]  # the thread's outcome: what the customer said next

    @property
    def answered(self) -> bool:
        return self.response is not None

    @property
    def counted(self) -> bool:
        """In the response rate: it needed an answer, or the brand judged it did and answered."""
        return self.needs_answer or self.answered


@dataclass
class Conversations:
    posts: list[CustomerPost] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    threads: dict[Hashable, Hashable] = field(default_factory=dict)  # post id -> thread key

    def for_brand(self, brand: str) -> Conversations:
        return Conversations([p for p in self.posts if p.brand == brand],
                             [c for c in self.cases if c.brand == brand], self.threads)

    def unanswered(self) -> list[CustomerPost]:
        return [p for p in self.posts if p.needs_answer and not p.answered]


def thread_keys(by_id: dict[Hashable, ThreadPost]) -> dict[Hashable, Hashable]:
    """Each post's thread: the platform's conversation id, else its oldest known ancestor.

    Replies to a post that was never collected share that post's id as their thread.
    """
    keys: dict[Hashable, Hashable] = {}
    for start in by_id:
        path, cur, key = [], start, None
        while key is None:
            if cur in keys:
                key = keys[cur]
                break
            post = by_id.get(cur)
            if post is None:
                key = cur
                break
            path.append(cur)
            if post.thread is not None:
                key = post.thread
            elif post.parent is None or len(path) > _MAX_DEPTH:
                key = cur
            else:
                cur = post.parent
        for pid in path:
            keys[pid] = key
    return keys


def _conversational(p: ThreadPost) -> bool:
    return not (p.parent is not None and p.kind == "repost")


def _answers(by_id: dict[Hashable, ThreadPost], keys: dict, by_thread_author: dict,
             reply: ThreadPost) -> Iterable[tuple[ThreadPost, str]]:
    """The customer posts that one brand post answers, with how."""
    brand = reply.owner
    between: set = set()  # authors other than the brand between `reply` and the ancestor
    cur, depth, first = reply.parent, 0, True
    while cur is not None and cur in by_id and depth < _MAX_DEPTH and len(between) < 2:
        a = by_id[cur]
        if a.owner is None and _conversational(a) and a.at <= reply.at and between <= {a.author}:
            yield a, ("quote" if first and reply.kind == "quote" else "reply")
        if a.owner != brand:
            between.add(a.author)
        cur, depth, first = a.parent, depth + 1, False
    thread = keys.get(reply.id)
    addressed = set(reply.mentions)
    parent = by_id.get(reply.parent) if reply.parent is not None else None
    if parent is not None:
        addressed.add(parent.author)  # a reply addresses its parent's author (X names them in it)
    for author in addressed:
        for a in by_thread_author.get((thread, author), ()):
            if a.at <= reply.at and a.id != reply.id:
                yield a, "mention"


def _followups(post: ThreadPost, own: list[ThreadPost]) -> tuple[FollowUp, ...]:
    """The customer's posts after `post` in its thread (`own` is in time order)."""
    at = next(i for i, q in enumerate(own) if q.id == post.id)
    return tuple(FollowUp(q.id, q.at, q.negative, q.label) for q in own[at + 1:])


def link(posts: Iterable[ThreadPost]) -> Conversations:
    """Customer posts per brand with their first answer and the customer's follow-ups, and cases."""
    by_id = {p.id: p for p in posts}
    keys = thread_keys(by_id)
    talk = [p for p in by_id.values() if _conversational(p)]
    by_thread_author: dict[tuple, list[ThreadPost]] = defaultdict(list)
    for p in sorted(talk, key=lambda p: (p.at, str(p.id))):
        if p.owner is None:
            by_thread_author[(keys[p.id], p.author)].append(p)

    first: dict[tuple[Hashable, str], tuple[ThreadPost, str]] = {}  # (post, brand) -> answer
    for reply in talk:
        if reply.owner is None:
            continue
        for answered, via in _answers(by_id, keys, by_thread_author, reply):
            key = (answered.id, reply.owner)
            best = first.get(key)
            if best is None or (reply.at, str(reply.id)) < (best[0].at, str(best[0].id)):
                first[key] = (reply, via)

    scope: dict[tuple[Hashable, str], ThreadPost] = {}
    for p in talk:
        if p.owner is None:
            for brand in p.brands:
                scope[(p.id, brand)] = p
    for pid, brand in first:
        scope[(pid, brand)] = by_id[pid]

    out = Conversations(threads=keys)
    groups: dict[tuple, list[CustomerPost]] = defaultdict(list)
    for (pid, brand), p in sorted(scope.items(), key=lambda kv: (kv[1].at, str(kv[0][0]), kv[0][1])):
        thread = keys[pid]
        found = first.get((pid, brand))
        response = None if found is None else Response(found[0].id, found[0].at,
                                                       (found[0].at - p.at) / 60, found[1])
        own = by_thread_author[(thread, p.author)]
        cp = CustomerPost(p, brand, thread, response, _followups(p, own))
        out.posts.append(cp)
        groups[(brand, p.author, thread)].append(cp)
    for (brand, author, thread), members in groups.items():
        opened = members[0].post.at
        answered = [m.response for m in members if m.response is not None]
        response = None
        if answered:
            r = min(answered, key=lambda r: (r.at, str(r.post)))
            response = Response(r.post, r.at, (r.at - opened) / 60, r.via)
        later = by_thread_author[(thread, author)]
        after = tuple(FollowUp(q.id, q.at, q.negative, q.label) for q in later
                      if response is not None and q.at > response.at)
        out.cases.append(Case(brand, author, thread, opened, tuple(m.post.id for m in members),
                              any(m.needs_answer for m in members), response, after))
    return out
