"""Erasure of an author or a post: every copy goes, nothing of anyone else does.

For an author: their posts (with scores, brand tags and interactions), interactions in which they
appear, rows in every column `listener.store.personal` lists as holding an author id, their
author row, and the cached scores of their texts. What others' rows repeat of them is redacted,
not deleted: their handle, ids, post URLs and the words of their posts in others' texts and raw
payloads (a repost quotes them), and in the JSON copies (alert evidence and titles, saved
influence runs): an entry that is about them (a root post, an influencer, an author id) is
dropped, strings are redacted. The detector's state (post and author ids) is dropped: the next
`undertow detect` replays the store without them. Exported files that name them are deleted.
Authors who merely have no posts left are others' data and stay.

The erasure is recorded by a keyed hash only, so later collection skips them unless they post
publicly again after it. Finally freed pages are overwritten: SQLite runs with
`secure_delete` and is vacuumed and its WAL truncated; PostgreSQL's touched tables get
`VACUUM FULL` (rewritten, so no dead tuple keeps the bytes; the server's own WAL segments and
any backups are outside the database and age out on the server's schedule).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, or_, select, text, update

from listener.errors import NotFoundError
from listener.post import RETWEET_PREFIX, stable_id, utcnow
from listener.privacy import subject_hash
from listener.store import Store, graph_views, schema
from listener.store.locks import tag_lock
from listener.store.personal import AUTHOR_ID_COLUMNS, JSON_COLUMNS, META_JSON_KEYS
from listener.store.retention import delete_posts
from listener.store.writer import text_hash

REDACTED = "[erased]"
log = logging.getLogger(__name__)
_DETECTOR_KEYS = ("detect_state", "detect_cursor")
_MIN_QUOTE = 20  # words of theirs shorter than this are too common to hunt in others' texts


@dataclass
class ErasureReport:
    subject: str
    removed: Counter = field(default_factory=Counter)
    redacted: Counter = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)


@dataclass
class _Subject:
    """What identifies the person: ids to drop, terms and quoted texts to redact."""

    ids: set[int] = field(default_factory=set)  # author and post row ids
    terms: set[str] = field(default_factory=set)  # handles, native ids, ids as text
    texts: set[str] = field(default_factory=set)  # the words of their posts

    def redactor(self):
        terms = {t for t in self.terms if t and len(t) >= (6 if t.isdigit() else 3)}
        quotes = sorted({t for t in self.texts if len(t) >= _MIN_QUOTE}, key=len, reverse=True)
        pattern = re.compile(
            r"(?<![\w])@?(" + "|".join(map(re.escape, sorted(terms, key=len, reverse=True)))
            + r")(?![\w])", re.IGNORECASE) if terms else None

        def redact(value: str) -> str:
            for quote in quotes:
                if quote in value:
                    value = value.replace(quote, REDACTED)
            return pattern.sub(REDACTED, value) if pattern else value

        return redact

    def like_terms(self) -> set[str]:
        return {t.lower() for t in self.terms if len(t) >= (6 if t.isdigit() else 3)}


def _find_author(conn, platform: str, ident: str):
    """By native id, or by handle with or without '@' (case-insensitive)."""
    a = schema.authors
    handle = ident.lstrip("@").lower()
    rows = conn.execute(select(a).where(a.c.platform == platform, or_(
        a.c.native_id == ident, a.c.native_id == f"@{handle}",
        func.lower(a.c.handle) == handle))).all()
    if not rows:
        raise NotFoundError(f"No {platform} author {ident!r} in the store")
    return rows


def _about(value, ids: set[int]) -> bool:
    """A JSON entry about the person: their id, or a dict one of whose own fields is it."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value in ids
    if isinstance(value, str) and value.isdigit():
        return int(value) in ids
    if isinstance(value, dict):
        return any(_about(v, ids) for v in value.values() if not isinstance(v, dict | list))
    return False


def scrub_json(value, ids: set[int], redact):
    """`value` without entries about the person and with every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [scrub_json(v, ids, redact) for v in value if not _about(v, ids)]
    if isinstance(value, dict):
        return {k: (None if _about(v, ids) and not isinstance(v, dict | list)
                    else scrub_json(v, ids, redact))
                for k, v in value.items() if not (k.isdigit() and int(k) in ids)}
    return value


def _redact_everywhere(conn, who: _Subject, report: ErasureReport) -> None:
    redact = who.redactor()
    p = schema.posts
    terms = who.like_terms()
    if terms:
        like = or_(*[func.lower(c).like(f"%{t}%") for t in terms for c in (p.c.text, p.c.raw)])
        for row in conn.execute(select(p.c.id, p.c.text, p.c.raw).where(like)).all():
            new_text, raw = redact(row.text), redact(row.raw) if row.raw else row.raw
            if (new_text, raw) != (row.text, row.raw):
                conn.execute(update(p).where(p.c.id == row.id).values(text=new_text, raw=raw))
                report.redacted["posts"] += 1
    for table_name, column in JSON_COLUMNS:
        table = schema.metadata.tables[table_name]
        pk = list(table.primary_key.columns)[0]
        col = table.c[column]
        for row in conn.execute(select(pk, col)).all():
            value = row[1]
            if value is None:
                continue
            new = scrub_json(value, who.ids, redact)
            if json.dumps(new, sort_keys=True) != json.dumps(value, sort_keys=True):
                conn.execute(update(table).where(pk == row[0]).values({column: new}))
                report.redacted[table_name] += 1
    m = schema.meta
    for key in META_JSON_KEYS:
        if key in _DETECTOR_KEYS:
            continue  # dropped whole: the next detect replays the store
        raw = conn.execute(select(m.c.value).where(m.c.key == key)).scalar()
        if raw:
            value = json.loads(raw)
            new = scrub_json(value, who.ids, redact)
            if new != value:
                conn.execute(update(m).where(m.c.key == key).values(value=json.dumps(new)))
                report.redacted[f"meta {key}"] += 1


def _forget_derived(conn, who: _Subject, report: ErasureReport) -> None:
    """Cached scores of their texts and the detector state that counted their posts."""
    c = schema.sentiment_cache
    hashes = {text_hash(t) for t in who.texts} | {
        text_hash(RETWEET_PREFIX.sub("", t, count=1)) for t in who.texts}
    if hashes:
        report.removed["cached scores"] += conn.execute(
            delete(c).where(c.c.text_hash.in_(hashes))).rowcount
    m = schema.meta
    if conn.execute(delete(m).where(m.c.key.in_(_DETECTOR_KEYS))).rowcount:
        report.removed["detector state (the next detect replays the store)"] += 1
    if graph_views.drop_views(conn):  # laid-out networks naming authors; the pipeline redoes them
        report.removed["graph explorer views (the next pass lays them out again)"] += 1


def _record(conn, digest: str, kind: str) -> None:
    e = schema.erasures
    conn.execute(delete(e).where(e.c.subject_hash == digest))
    conn.execute(e.insert().values(subject_hash=digest, kind=kind, erased_at=utcnow()))


def _scrub_exports(folder: Path | None, who: _Subject, report: ErasureReport,
                   legacy: set[int] = frozenset()) -> None:
    """Delete exported files naming them; `legacy` are their unkeyed ids, which exports made
    before the re-keying of migration 0014 hold."""
    if folder is None or not folder.is_dir():
        return
    terms = who.like_terms() | {str(i) for i in who.ids | legacy}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            content = path.read_bytes().decode("utf-8", "replace").lower()
            if any(t in content for t in terms):
                path.unlink()
                report.files.append(str(path))


def compact(store: Store) -> None:
    """Overwrite what deletions freed, so the bytes are gone from the database files."""
    if store.dialect == "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA secure_delete=ON")
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    tables = sorted({t for t, _ in AUTHOR_ID_COLUMNS} | {t for t, _ in JSON_COLUMNS}
                    | {"posts", "post_brands", "sentiment_scores", "sentiment_cache", "meta"})
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        _wait_for_older_snapshots(conn)
        for table in tables:
            conn.execute(text(f"VACUUM FULL {table}"))


def _wait_for_older_snapshots(conn, timeout: float = 60.0) -> None:
    """VACUUM FULL copies every dead row that a transaction older than the deletion keeps
    "recently dead": wait until none is left.

    Its horizon is the oldest of this database's snapshots *and of VACUUM FULL's own*, and a
    new snapshot's xmin is the oldest transaction still running in the whole cluster. So a
    transaction in another database (another application, a long batch)
    that holds an xid older than the deletion keeps the erased rows in the rewritten files,
    as does a session here that is idle in transaction after writing (an xid, no xmin) or
    holds an old snapshot. Horizon `T` is the next xid at the start: every xid before it,
    the deletion's among them, has been handed out; we wait until nothing older runs
    anywhere and no other session of this database still sees from before it."""
    horizon = conn.execute(text("SELECT pg_snapshot_xmax(pg_current_snapshot())")).scalar()
    older = text(
        "SELECT pg_snapshot_xmin(pg_current_snapshot()) < CAST(:t AS xid8) OR EXISTS ("
        " SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL"
        " AND age(backend_xmin) > age(xid(CAST(:t AS xid8))))")
    began = time.monotonic()
    deadline = began + timeout
    while conn.execute(older, {"t": str(horizon)}).scalar():
        if time.monotonic() > deadline:
            log.warning("Transactions that began before the erasure are still running on this "
                        "server: the bytes they can still see may survive this VACUUM FULL")
            return
        time.sleep(0.2)
    if time.monotonic() - began > 0.1:
        log.info("Waited %.1f s for transactions older than the erasure to end",
                 time.monotonic() - began)


def erase_author(store: Store, platform: str, ident: str, key: bytes,
                 exports: Path | None = None) -> ErasureReport:
    report = ErasureReport(f"author {platform}:{ident}")
    a, p = schema.authors, schema.posts
    who = _Subject()
    with store.engine.begin() as conn:
        tag_lock(conn)  # tags and scores go together (listener.store.rollup)
        rows = _find_author(conn, platform, ident)
        ids = [r.id for r in rows]
        posts = conn.execute(select(p.c.id, p.c.native_id, p.c.text, p.c.url)
                             .where(p.c.author_id.in_(ids))).all()
        who.ids = set(ids) | {r.id for r in posts}
        who.terms = ({t for r in rows for t in (r.native_id.lstrip("@"), r.handle) if t}
                     | {r.native_id for r in posts} | {str(i) for i in who.ids})
        who.texts = {r.text for r in posts} | {
            RETWEET_PREFIX.sub("", r.text, count=1) for r in posts}
        post_ids = [r.id for r in posts]
        for start in range(0, len(post_ids), 2000):
            delete_posts(conn, post_ids[start:start + 2000], report.removed)
        for table_name, column in AUTHOR_ID_COLUMNS:
            if (table_name, column) == ("authors", "id"):
                continue
            table = schema.metadata.tables[table_name]
            report.removed[table_name] += conn.execute(
                delete(table).where(table.c[column].in_(ids))).rowcount
        report.removed["authors"] += conn.execute(delete(a).where(a.c.id.in_(ids))).rowcount
        _redact_everywhere(conn, who, report)
        _forget_derived(conn, who, report)
        for r in rows:
            _record(conn, subject_hash(key, "author", platform, r.native_id), "author")
        for term in {t for r in rows for t in (r.native_id.lstrip("@"), r.handle) if t}:
            _record(conn, subject_hash(key, "term", platform, term), "term")
    store.forget_erasures()
    _scrub_exports(exports, who, report, {stable_id(platform, r.native_id) for r in rows})
    store.compact_rollup()
    compact(store)
    return report


def erase_post(store: Store, platform: str, native_id: str, key: bytes) -> ErasureReport:
    report = ErasureReport(f"post {platform}:{native_id}")
    pid = stable_id(platform, native_id)
    with store.engine.begin() as conn:
        tag_lock(conn)
        row = conn.execute(select(schema.posts.c.id, schema.posts.c.text)
                           .where(schema.posts.c.id == pid)).first()
        if row is None:
            raise NotFoundError(f"No {platform} post {native_id!r} in the store")
        who = _Subject(ids={pid}, terms={native_id, str(pid)}, texts={row.text})
        delete_posts(conn, [pid], report.removed)
        _redact_everywhere(conn, who, report)
        _forget_derived(conn, who, report)
        _record(conn, subject_hash(key, "post", platform, native_id), "post")
    store.forget_erasures()
    store.compact_rollup()
    compact(store)
    return report
