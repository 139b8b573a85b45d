"""Reads for the engagement loop: the threads around a brand's mentions and its own posts.

Seeds are the posts tagged with the brands in the window and the posts their own accounts wrote
in it; each seed brings its whole thread (by the platform's conversation id, its ancestors by
parent id, and replies and quotes found through interactions where a platform gives no
conversation id), so an answer after the window's end or a customer's follow-up that does not
name the brand is still seen. Everything comes back as plain data for `graph.conversations`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select

from listener.post import stable_id
from listener.store import Store, schema
from listener.store.sql import IN_CHUNK, as_utc, bound_time, chunks

__all__ = ["PostRow", "ThreadData", "latest_post_time", "load_threads"]

MAX_HOPS = 64  # ancestor / reply levels followed from the seeds


@dataclass(frozen=True, slots=True)
class PostRow:
    id: int
    platform: str
    native_id: str
    author_id: int
    handle: str | None
    followers: int | None
    created_at: datetime
    parent_native_id: str | None
    conversation_id: str | None
    text: str
    url: str | None
    label: str | None
    negative: float | None


@dataclass
class ThreadData:
    posts: dict[int, PostRow] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)  # post id -> how it relates to its parent
    mentions: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    # Reactions (repost, quote, reply) each post drew: (time, reacting author).
    reactions: dict[int, list[tuple[datetime, int]]] = field(default_factory=lambda: defaultdict(list))
    tags: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # -> brand ids


def latest_post_time(store: Store) -> datetime | None:
    """The newest stored post's time: "now" for an archive, about now for a live listener."""
    with store.engine.connect() as conn:
        return as_utc(conn.execute(select(func.max(schema.posts.c.created_at))).scalar())


def _seeds(conn, brand_ids: list[int], owned: list[int], since, until) -> set[int]:
    p, pb = schema.posts, schema.post_brands
    found: set[int] = set()
    window = []
    if since is not None:
        window.append(pb.c.created_at >= bound_time(conn.engine, since))
    if until is not None:
        window.append(pb.c.created_at < bound_time(conn.engine, until))
    if brand_ids:
        found.update(conn.execute(select(pb.c.post_id).where(
            pb.c.brand_id.in_(brand_ids), *window)).scalars())
    own_window = [c for c in (
        p.c.created_at >= bound_time(conn.engine, since) if since is not None else None,
        p.c.created_at < bound_time(conn.engine, until) if until is not None else None)
        if c is not None]
    for chunk in chunks(owned):
        found.update(conn.execute(select(p.c.id).where(p.c.author_id.in_(chunk), *own_window))
                     .scalars())
    return found


def _read_posts(conn, ids: Iterable[int], version: str | None) -> list[PostRow]:
    p, a, s = schema.posts, schema.authors, schema.sentiment_scores
    source = p.outerjoin(a, a.c.id == p.c.author_id).outerjoin(
        s, and_(s.c.post_id == p.c.id, s.c.model_version == (version or "")))
    cols = (p.c.id, p.c.platform, p.c.native_id, p.c.author_id, a.c.handle, a.c.followers,
            p.c.created_at, p.c.parent_native_id, p.c.conversation_id, p.c.text, p.c.url,
            s.c.label, s.c.negative)
    rows = []
    for chunk in chunks(ids):
        rows += conn.execute(select(*cols).select_from(source).where(p.c.id.in_(chunk))).all()
    return [PostRow(r.id, r.platform, r.native_id, r.author_id, r.handle, r.followers,
                    as_utc(r.created_at), r.parent_native_id, r.conversation_id, r.text, r.url,
                    r.label, r.negative) for r in rows]


def _thread_ids(conn, seeds: set[int]) -> set[int]:
    """The seeds and every post of their threads, reposts aside (they neither ask nor answer).

    Only ids and links are read here; the rows are read once, at the end.
    """
    p, i = schema.posts, schema.interactions
    light = (p.c.id, p.c.platform, p.c.conversation_id, p.c.parent_native_id)
    talk = p.c.text.not_like("RT @%")
    found: set[int] = set()
    conversations: set[tuple[str, str]] = set()
    todo = set(seeds)
    for _ in range(MAX_HOPS):
        rows = []
        for chunk in chunks(sorted(todo - found)):
            rows += conn.execute(select(*light).where(p.c.id.in_(chunk), talk)).all()
        found.update(r.id for r in rows)
        fresh = {(r.platform, r.conversation_id) for r in rows if r.conversation_id} - conversations
        conversations |= fresh
        members = []
        by_platform: dict[str, list[str]] = defaultdict(list)
        for platform, conversation in sorted(fresh):
            by_platform[platform].append(conversation)
        for platform, names in by_platform.items():  # (a, b) IN (...) would scan the table
            for chunk in (names[k:k + IN_CHUNK] for k in range(0, len(names), IN_CHUNK)):
                members += conn.execute(select(*light).where(
                    p.c.platform == platform, p.c.conversation_id.in_(chunk), talk)).all()
        found.update(r.id for r in members)
        todo = {stable_id(r.platform, r.parent_native_id) for r in rows + members
                if r.parent_native_id} - found
        # Replies and quotes where the platform gives no conversation id (Mastodon).
        for chunk in chunks([r.id for r in rows if not r.conversation_id]):
            todo.update(x for x in conn.execute(select(i.c.source_post_id).where(
                i.c.target_post_id.in_(chunk), i.c.kind.in_(("reply", "quote")),
                i.c.source_post_id.is_not(None))).scalars() if x not in found)
        if not todo:
            break
    return found


def load_threads(store: Store, brand_ids: list[int], since: datetime | None,
                 until: datetime | None, version: str | None, owned: Iterable[int]) -> ThreadData:
    """Every post of every thread that a seed (see the module docstring) belongs to."""
    i, pb = schema.interactions, schema.post_brands
    data = ThreadData()
    with store.engine.connect() as conn:
        ids = _thread_ids(conn, _seeds(conn, brand_ids, list(owned), since, until))
        data.posts = {r.id: r for r in _read_posts(conn, sorted(ids), version)}
        for chunk in chunks(sorted(data.posts)):
            for r in conn.execute(select(i.c.kind, i.c.source_post_id, i.c.target_post_id,
                                         i.c.target_author_id).where(i.c.source_post_id.in_(chunk))):
                if r.kind == "mention":
                    data.mentions[r.source_post_id].add(r.target_author_id)
                elif r.target_post_id is not None:
                    data.kinds[r.source_post_id] = r.kind
            for r in conn.execute(select(i.c.target_post_id, i.c.created_at, i.c.source_author_id)
                                  .where(i.c.target_post_id.in_(chunk),
                                         i.c.kind.in_(("repost", "quote", "reply")))):
                data.reactions[r.target_post_id].append((as_utc(r.created_at), r.source_author_id))
            for r in conn.execute(select(pb.c.post_id, pb.c.brand_id).where(pb.c.post_id.in_(chunk))):
                data.tags[r.post_id].add(r.brand_id)
    return data
