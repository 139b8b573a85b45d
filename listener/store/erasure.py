"""Erasure of an author or a post: everything that identifies them goes, in one transaction.

For an author: their posts (with scores, brand tags and interactions), interactions in which they
appear, their influence scores, their author row, and every trace of their handle or id left in
other rows (texts and raw payloads of others' posts that mention them, alert evidence) is
redacted. The erasure itself is recorded by a keyed hash only, so later collection skips them
unless they post publicly again after the erasure.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, or_, select, update

from listener.errors import NotFoundError
from listener.post import stable_id, utcnow
from listener.privacy import subject_hash
from listener.store import Store, schema
from listener.store.retention import delete_orphan_authors, delete_posts

REDACTED = "[erased]"


@dataclass
class ErasureReport:
    subject: str
    removed: Counter = field(default_factory=Counter)
    redacted: Counter = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)


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


def _redactor(terms: set[str]):
    # Short numbers would hit unrelated text; real ids are long, handles at least 3 characters.
    terms = {t for t in terms if t and len(t) >= (6 if t.isdigit() else 3)}
    if not terms:
        return None
    pattern = re.compile(r"(?<![\w])@?(" + "|".join(map(re.escape, sorted(terms, key=len, reverse=True)))
                         + r")(?![\w])", re.IGNORECASE)
    return lambda text: pattern.sub(REDACTED, text)


def _redact_everywhere(conn, terms: set[str], report: ErasureReport) -> None:
    redact = _redactor(terms)
    if redact is None:
        return
    terms = {t for t in terms if len(t) >= (6 if t.isdigit() else 3)}
    p, al = schema.posts, schema.alerts
    like = or_(*[func.lower(c).like(f"%{t.lower()}%") for t in terms for c in (p.c.text, p.c.raw)])
    for row in conn.execute(select(p.c.id, p.c.text, p.c.raw).where(like)).all():
        text, raw = redact(row.text), redact(row.raw) if row.raw else row.raw
        if (text, raw) != (row.text, row.raw):
            conn.execute(update(p).where(p.c.id == row.id).values(text=text, raw=raw))
            report.redacted["posts"] += 1
    for row in conn.execute(select(al.c.id, al.c.title, al.c.evidence)).all():
        dumped = json.dumps(row.evidence or {}, ensure_ascii=False)
        new_ev, new_title = redact(dumped), redact(row.title)
        if (new_ev, new_title) != (dumped, row.title):
            conn.execute(update(al).where(al.c.id == row.id).values(
                evidence=json.loads(new_ev), title=new_title))
            report.redacted["alerts"] += 1


def _record(conn, digest: str, kind: str) -> None:
    e = schema.erasures
    conn.execute(delete(e).where(e.c.subject_hash == digest))
    conn.execute(e.insert().values(subject_hash=digest, kind=kind, erased_at=utcnow()))


def _scrub_exports(folder: Path | None, terms: set[str], report: ErasureReport) -> None:
    if folder is None or not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if path.is_file():
            content = path.read_text(errors="replace")
            if any(t.lower() in content.lower() for t in terms):
                path.unlink()
                report.files.append(str(path))


def erase_author(store: Store, platform: str, ident: str, key: bytes,
                 exports: Path | None = None) -> ErasureReport:
    report = ErasureReport(f"author {platform}:{ident}")
    a, i, p, s = schema.authors, schema.interactions, schema.posts, schema.influence_scores
    with store.engine.begin() as conn:
        rows = _find_author(conn, platform, ident)
        ids = [r.id for r in rows]
        terms = {t for r in rows for t in (r.native_id.lstrip("@"), r.handle) if t}
        post_ids = list(conn.execute(select(p.c.id).where(p.c.author_id.in_(ids))).scalars())
        for start in range(0, len(post_ids), 2000):
            delete_posts(conn, post_ids[start:start + 2000], report.removed)
        report.removed["interactions"] += conn.execute(delete(i).where(or_(
            i.c.source_author_id.in_(ids), i.c.target_author_id.in_(ids)))).rowcount
        report.removed["influence_scores"] += conn.execute(
            delete(s).where(s.c.author_id.in_(ids))).rowcount
        report.removed["authors"] += conn.execute(delete(a).where(a.c.id.in_(ids))).rowcount
        _redact_everywhere(conn, terms, report)
        for r in rows:
            _record(conn, subject_hash(key, "author", platform, r.native_id), "author")
        for term in terms:
            _record(conn, subject_hash(key, "term", platform, term), "term")
        delete_orphan_authors(conn, report.removed)
    store.forget_erasures()
    _scrub_exports(exports, terms, report)
    return report


def erase_post(store: Store, platform: str, native_id: str, key: bytes) -> ErasureReport:
    report = ErasureReport(f"post {platform}:{native_id}")
    pid = stable_id(platform, native_id)
    with store.engine.begin() as conn:
        row = conn.execute(select(schema.posts.c.id, schema.posts.c.text)
                           .where(schema.posts.c.id == pid)).first()
        if row is None:
            raise NotFoundError(f"No {platform} post {native_id!r} in the store")
        delete_posts(conn, [pid], report.removed)
        _redact_everywhere(conn, {native_id}, report)
        _record(conn, subject_hash(key, "post", platform, native_id), "post")
    store.forget_erasures()
    return report
