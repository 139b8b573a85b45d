"""Idempotent bulk upserts of normalised batches, close to the driver.

SQLAlchemy's ORM writes 6-7k rows/s here and Core's batched inserts 20-34k; a post with its
author and interactions is two to three rows, so the hot path compiles each statement once and
hands tuples straight to the DBAPI's executemany (sqlite3, psycopg), with ON CONFLICT on both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from listener.post import Batch, stable_id, utcnow
from listener.store.sql import chunks, driver_time, in_list, placeholders


@dataclass
class WriteResult:
    inserted: int = 0
    updated: int = 0
    authors: int = 0
    interactions: int = 0
    author_ids: list[int] = field(default_factory=list, repr=False)
    # Records left out, each with its reason ("post 123: id is 2,000 characters ...").
    skipped: list[str] = field(default_factory=list)

    def add(self, other: WriteResult) -> None:
        self.author_ids += other.author_ids
        self.skipped += other.skipped
        self.inserted += other.inserted
        self.updated += other.updated
        self.authors += other.authors
        self.interactions += other.interactions


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()


def _upsert_sql(conn: Connection, table: str, cols: Sequence[str], conflict: str, update: str) -> str:
    action = f"DO UPDATE SET {update}" if update else "DO NOTHING"
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders(conn, len(cols))}) "
        f"ON CONFLICT ({conflict}) {action}"
    )


def existing_ids(conn: Connection, table: str, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunks(ids):
        sql = f"SELECT id FROM {table} WHERE id {in_list(conn, chunk)}"
        found.update(row[0] for row in conn.exec_driver_sql(sql, tuple(chunk)))
    return found


def stored_text_hashes(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """{post id: hash of its stored text} for the ids already stored."""
    found: dict[int, str] = {}
    for chunk in chunks(ids):
        sql = f"SELECT id, text FROM posts WHERE id {in_list(conn, chunk)}"
        found.update((row[0], text_hash(row[1])) for row in conn.exec_driver_sql(sql, tuple(chunk)))
    return found


_AUTHOR_COLS = ("id", "platform", "native_id", "handle", "display_name", "followers",
                "following", "verified", "created_at", "updated_at")
# A stub author (known only from a mention) must never blank out what a fuller record said.
_AUTHOR_UPDATE = ", ".join(
    f"{c} = COALESCE(excluded.{c}, authors.{c})"
    for c in ("handle", "display_name", "followers", "following", "verified", "created_at")
) + ", updated_at = excluded.updated_at"

_POST_COLS = ("id", "platform", "native_id", "author_id", "text", "lang", "created_at", "url",
              "likes", "reposts", "replies", "quotes", "views", "parent_native_id",
              "conversation_id", "gold_label", "gold_reason", "raw", "collected_at")
# Re-collecting refreshes what changes (engagement, edits); the first sighting's time stays.
_POST_UPDATE = ", ".join(
    [f"{c} = COALESCE(excluded.{c}, posts.{c})" for c in (
        "lang", "url", "likes", "reposts", "replies", "quotes", "views", "parent_native_id",
        "conversation_id", "gold_label", "gold_reason", "raw")]
    + ["text = excluded.text", "collected_at = excluded.collected_at"]
)

_INTERACTION_COLS = ("id", "platform", "kind", "source_author_id", "target_author_id",
                     "source_post_id", "target_post_id", "created_at")


AuthorIdOf = Callable[[str, str], int]  # (platform, native id) -> row id: `Store.author_ids`


def _author_rows(batch: Batch, now, t, b, known: set[int],
                 author_id: AuthorIdOf) -> tuple[list[tuple], list[tuple]]:
    """(full records, stubs): every author a post or interaction points at gets a row.

    A stub (only the id is known) is needed just once: `known` holds ids already committed, so
    the same mentioned account is not re-sent on every page.
    """
    rows: dict[int, tuple] = {}
    for a in batch.authors:
        key = author_id(a.platform, a.native_id)
        row = (key, a.platform, a.native_id, a.handle, a.display_name,
               a.followers, a.following, b(a.verified), t(a.created_at), now)
        before = rows.get(key)
        # The same account twice in a batch (a profile, then a mention's stub of it): merge
        # field by field, so a stub never blanks out what the fuller record said.
        rows[key] = row if before is None else tuple(
            new if new is not None else old for new, old in zip(row, before, strict=True))
    refs = [(p.platform, p.author_native_id) for p in batch.posts]
    for i in batch.interactions:
        refs.append((i.platform, i.source_author_native_id))
        refs.append((i.platform, i.target_author_native_id))
    stubs: dict[int, tuple] = {}
    for platform, native in refs:
        key = author_id(platform, native)
        if key not in rows and key not in known and key not in stubs:
            stubs[key] = (key, platform, native, None, None, None, None, None, None, now)
    return sorted(rows.values(), key=_first), sorted(stubs.values(), key=_first)


def _first(row: tuple):
    return row[0]


def write_batch(conn: Connection, batch: Batch, brand_matcher=None,
                known_authors: set[int] | None = None, owned: Collection[int] = (),
                matcher_for=None, *, author_id: AuthorIdOf) -> WriteResult:
    """Upsert one batch inside the caller's transaction and tag its posts with matching brands.

    `matcher_for(conn)`, when given, builds the matcher from the brands as this transaction sees
    them once its rows are written (it then holds SQLite's write lock, or on PostgreSQL the
    shared tag lock the caller took): a brand added meanwhile is then either seen here or its
    re-tag sees these posts (`listener.store.locks`).
    `known_authors` are ids surely stored already (their stubs are skipped); the result's
    `author_ids` are what this batch wrote, for the caller to add once the transaction commits.
    Posts by `owned` authors (brands' own accounts) are the brands' voice: never tagged.
    `author_id` gives authors' row ids: keyed (`listener.ids`), so the caller's key.
    """
    known = known_authors if known_authors is not None else set()
    engine = conn.engine
    now = driver_time(engine, utcnow())
    sqlite = conn.dialect.name == "sqlite"

    times: dict = {}

    def t(dt):
        # A post's time recurs in its interactions and brand tags: convert each once.
        if dt is None:
            return None
        value = times.get(dt)
        if value is None:
            value = times[dt] = driver_time(engine, dt)
        return value

    def b(v):
        return None if v is None else (int(v) if sqlite else bool(v))

    author_rows, stub_rows = _author_rows(batch, now, t, b, known, author_id)
    if author_rows:
        sql = _upsert_sql(conn, "authors", _AUTHOR_COLS, "id", _AUTHOR_UPDATE)
        conn.exec_driver_sql(sql, author_rows)
    if stub_rows:
        conn.exec_driver_sql(_upsert_sql(conn, "authors", _AUTHOR_COLS, "id", ""), stub_rows)

    # The last record of a post in one batch wins (the freshest engagement counts).
    keyed = {stable_id(p.platform, p.native_id): p for p in batch.posts}
    # Rows go in key order, table by table: two writers upserting the same accounts and posts
    # (the stream writer and a search pass refetching what it stored) then take their row
    # locks in one order and wait for each other instead of deadlocking (PostgreSQL 40P01
    # seen in the soak, which sent the whole batch down the slow post-by-post path).
    keyed = {pid: keyed[pid] for pid in sorted(keyed)}
    ids = list(keyed)
    stored_hash = stored_text_hashes(conn, ids) if ids else {}
    seen = set(stored_hash)
    edited = [pid for pid, p in keyed.items()
              if pid in stored_hash and stored_hash[pid] != text_hash(p.text)]
    post_rows = [
        (pid, p.platform, p.native_id, author_id(p.platform, p.author_native_id), p.text, p.lang,
         t(p.created_at), p.url,
         p.likes, p.reposts, p.replies, p.quotes, p.views, p.parent_native_id, p.conversation_id,
         p.gold_label, p.gold_reason,
         None if p.raw is None else json.dumps(p.raw, ensure_ascii=False, default=str),
         t(p.collected_at))
        for pid, p in keyed.items()
    ]
    if post_rows:
        conn.exec_driver_sql(_upsert_sql(conn, "posts", _POST_COLS, "id", _POST_UPDATE), post_rows)

    if edited:
        # A post whose text changed is read afresh: its old scores described other words.
        for chunk in chunks(edited):
            conn.exec_driver_sql(
                f"DELETE FROM sentiment_scores WHERE post_id {in_list(conn, chunk)}", tuple(chunk))

    inter_rows = sorted({
        i.id: (i.id, i.platform, i.kind, author_id(i.platform, i.source_author_native_id),
               author_id(i.platform, i.target_author_native_id),
               None if i.source_post_native_id is None
               else stable_id(i.platform, i.source_post_native_id),
               None if i.target_post_native_id is None
               else stable_id(i.platform, i.target_post_native_id),
               t(i.created_at))
        for i in batch.interactions
    }.values(), key=_first)
    if inter_rows:
        conn.exec_driver_sql(
            _upsert_sql(conn, "interactions", _INTERACTION_COLS, "id", ""), inter_rows
        )

    if matcher_for is not None and keyed:
        brand_matcher = matcher_for(conn)
    if brand_matcher is not None and keyed:
        tag_rows = [
            (pid, brand_id, row[6])
            for (pid, p), row in zip(keyed.items(), post_rows, strict=True)
            if not owned or row[3] not in owned
            for brand_id in brand_matcher(p.text)
        ]
        if tag_rows:
            sql = _upsert_sql(conn, "post_brands", ("post_id", "brand_id", "created_at"),
                              "post_id, brand_id", "")
            conn.exec_driver_sql(sql, tag_rows)

    return WriteResult(
        inserted=sum(1 for i in ids if i not in seen),
        updated=len(seen),
        authors=len(author_rows) + len(stub_rows),
        author_ids=[r[0] for r in author_rows] + [r[0] for r in stub_rows],
        interactions=len(inter_rows),
    )

