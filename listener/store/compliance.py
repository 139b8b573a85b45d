"""The SQL of the platform compliance job (listener.compliance): what to check next, and what to
do, in one transaction per checked batch, with the posts a platform says are gone.

A removed post goes with everything that hangs off it (`retention.delete_posts`), its copies in
alert evidence, and authors left with nothing; its removal is recorded as a keyed hash, as an
erasure is, so a later collection or file import does not bring it back. A post whose author
deleted their account (Reddit) stays, under the anonymous "[deleted]" author, without the
interactions that named the former author.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from listener.post import utcnow
from listener.privacy import subject_hash
from listener.store import Store, schema
from listener.store.retention import delete_posts

__all__ = ["CURSOR_KEY", "StoredPost", "apply_batch", "count_posts", "get_state", "next_posts",
           "save_state"]

CURSOR_KEY = "sweep"
DELETED_AUTHOR = "[deleted]"


@dataclass(frozen=True)
class StoredPost:
    id: int
    native_id: str
    author_id: int
    anonymous: bool = False  # stored under the "[deleted]" author already


def _cursor_name(platform: str) -> str:
    return f"compliance.{platform}"


def get_state(store: Store, platform: str) -> dict[str, Any]:
    """The sweep cursor of a platform: {"after": last checked row id, ...} or {} at a start."""
    value = store.get_cursor(_cursor_name(platform), CURSOR_KEY)
    return json.loads(value) if value else {}


def save_state(store: Store, platform: str, state: dict[str, Any]) -> None:
    store.set_cursor(_cursor_name(platform), CURSOR_KEY, json.dumps(state, sort_keys=True))


def count_posts(store: Store, platform: str, after: int | None = None) -> int:
    """Stored posts of `platform` (after row id `after`: those still to check in this sweep)."""
    p = schema.posts
    stmt = select(func.count()).select_from(p).where(p.c.platform == platform)
    if after is not None:
        stmt = stmt.where(p.c.id > after)
    with store.engine.connect() as conn:
        return int(conn.execute(stmt).scalar() or 0)


def next_posts(store: Store, platform: str, after: int | None, limit: int) -> list[StoredPost]:
    """The next posts of a sweep, in row-id order (the primary key: one index range scan)."""
    p = schema.posts
    stmt = (select(p.c.id, p.c.native_id, p.c.author_id).where(p.c.platform == platform)
            .order_by(p.c.id).limit(limit))
    if after is not None:
        stmt = stmt.where(p.c.id > after)
    anonymous = store.author_id(platform, DELETED_AUTHOR)
    with store.engine.connect() as conn:
        return [StoredPost(r.id, r.native_id, r.author_id, r.author_id == anonymous)
                for r in conn.execute(stmt)]


def _refers_to(value: Any, ids: set[str], urls: set[str]) -> bool:
    if isinstance(value, dict):
        keys = ("id", "post_id", "native_id")
        url = value.get("url")
        return (any(str(value.get(k)) in ids for k in keys if value.get(k) is not None)
                or (isinstance(url, str) and url in urls))
    return not isinstance(value, bool | float) and isinstance(value, int | str) and str(value) in ids


def _without(value: Any, ids: set[str], urls: set[str]) -> Any:
    """`value` with every list item that refers to one of the posts dropped, at any depth."""
    if isinstance(value, dict):
        return {k: _without(v, ids, urls) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, ids, urls) for v in value if not _refers_to(v, ids, urls)]
    return value


def _scrub_alerts(conn, ids: set[str], urls: set[str], removed: Counter) -> None:
    al = schema.alerts
    for row in conn.execute(select(al.c.id, al.c.evidence)).all():
        evidence = row.evidence or {}
        cleaned = _without(evidence, ids, urls)
        if cleaned != evidence:
            conn.execute(update(al).where(al.c.id == row.id).values(evidence=cleaned))
            removed["alert_evidence_items"] += 1


def _drop_orphans(conn, author_ids: set[int], removed: Counter) -> None:
    """Delete those of `author_ids` left with no post and no interaction, and their scores."""
    if not author_ids:
        return
    a, p, i, s = schema.authors, schema.posts, schema.interactions, schema.influence_scores
    orphans = list(conn.execute(select(a.c.id).where(
        a.c.id.in_(author_ids),
        ~select(p.c.id).where(p.c.author_id == a.c.id).exists(),
        ~select(i.c.id).where(or_(i.c.source_author_id == a.c.id,
                                  i.c.target_author_id == a.c.id)).exists())).scalars())
    if orphans:
        removed["influence_scores"] += conn.execute(
            delete(s).where(s.c.author_id.in_(orphans))).rowcount
        removed["authors"] += conn.execute(delete(a).where(a.c.id.in_(orphans))).rowcount


def _linked_authors(conn, post_ids: list[int]) -> set[int]:
    """Authors of these posts and of the interactions that involve them."""
    p, i = schema.posts, schema.interactions
    found = set(conn.execute(select(p.c.author_id).where(p.c.id.in_(post_ids))).scalars())
    for row in conn.execute(select(i.c.source_author_id, i.c.target_author_id).where(or_(
            i.c.source_post_id.in_(post_ids), i.c.target_post_id.in_(post_ids)))):
        found.update(row)
    return found


def _unlink(conn, anonymous: int, fresh: Mapping[int, dict[str, Any] | None],
            removed: Counter) -> None:
    """Move posts to the anonymous author; the raw payload becomes the API's current one.

    A pseudonymised row's raw payload (a marker only) is left as it is.
    """
    p, i = schema.posts, schema.interactions
    ids = list(fresh)
    removed["interactions"] += conn.execute(delete(i).where(or_(
        i.c.source_post_id.in_(ids), i.c.target_post_id.in_(ids)))).rowcount
    for row in conn.execute(select(p.c.id, p.c.raw).where(p.c.id.in_(ids))).all():
        values: dict[str, Any] = {"author_id": anonymous}
        stored = json.loads(row.raw) if row.raw else None
        keep_raw = not isinstance(stored, dict) or stored.get("pseudonymised")
        if not keep_raw and fresh[row.id] is not None:
            values["raw"] = json.dumps(fresh[row.id], ensure_ascii=False)
        conn.execute(update(p).where(p.c.id == row.id).values(**values))


def apply_batch(store: Store, platform: str, *, remove: Iterable[StoredPost],
                unlink: Mapping[int, dict[str, Any] | None], state: dict[str, Any]) -> Counter:
    """Remove and unlink what one checked batch found, and advance the cursor, atomically.

    `unlink` maps post row ids to the payload the API now returns for them. A crash before the
    commit loses nothing: the batch is simply checked again.
    """
    removed: Counter = Counter()
    gone = list(remove)
    p, e = schema.posts, schema.erasures
    key = store.erasure_key()
    with store.engine.begin() as conn:
        if gone or unlink:
            affected = _linked_authors(conn, [g.id for g in gone] + list(unlink))
        if gone:
            ids = [g.id for g in gone]
            urls = {u for u in conn.execute(select(p.c.url).where(p.c.id.in_(ids))).scalars() if u}
            delete_posts(conn, ids, removed)
            hashes = {subject_hash(key, "post", platform, g.native_id) for g in gone}
            conn.execute(delete(e).where(e.c.subject_hash.in_(hashes)))
            now = utcnow()
            conn.execute(e.insert(), [{"subject_hash": h, "kind": "compliance", "erased_at": now}
                                      for h in sorted(hashes)])
            _scrub_alerts(conn, {g.native_id for g in gone} | {str(i) for i in ids}, urls, removed)
        if unlink:
            _unlink(conn, store.author_id(platform, DELETED_AUTHOR), unlink, removed)
        if gone or unlink:
            _drop_orphans(conn, affected, removed)
        store.set_cursor(_cursor_name(platform), CURSOR_KEY, json.dumps(state, sort_keys=True),
                         conn)
    if gone:
        store.forget_erasures()
    return removed
