"""What the themes job reads (a brand's mentions with score, language tag, author reach) and
writes (each mention's theme, which the detector names stories by)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, insert, select

from listener.store import Store, schema
from listener.store.scores import current_model_version
from listener.store.sql import as_utc

CHUNK = 500  # ids per DELETE ... IN (...): under SQLite's bound-parameter limit


class Mention(NamedTuple):
    post_id: int
    text: str
    lang: str | None
    label: str | None
    created_at: datetime
    author_id: int
    followers: int | None
    language: str | None = None  # recorded when it was scored (platform tag, else detector)
    scored_at: datetime | None = None  # when its current score was written (aware UTC)


def brand_mentions(store: Store, brand_id: int, since: datetime | None = None) -> list[Mention]:
    """Every mention of the brand after `since`, oldest first, with the current model's label."""
    with store.engine.connect() as conn:
        version = current_model_version(conn) or ""
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = ("SELECT p.id, p.text, p.lang, s.label, p.created_at, p.author_id, a.followers, "
               "s.language, s.scored_at "
               "FROM post_brands pb JOIN posts p ON p.id = pb.post_id "
               "LEFT JOIN authors a ON a.id = p.author_id "
               f"LEFT JOIN sentiment_scores s ON s.post_id = p.id AND s.model_version = {mark} "
               f"WHERE pb.brand_id = {mark}" + (f" AND p.created_at > {mark}" if since else "")
               + " ORDER BY p.created_at, p.id")
        params = (version, brand_id, *((since,) if since else ()))
        rows = conn.exec_driver_sql(sql, params).all()
    return [Mention(int(r[0]), r[1], r[2], r[3], _when(r[4]), int(r[5]), r[6], r[7],
                    _when(r[8]) if r[8] is not None else None) for r in rows]


def _when(value) -> datetime:
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def scored_since(store: Store, brand_ids: Iterable[int], after: datetime | None
                 ) -> list[tuple[int, Mention]]:
    """(brand id, mention) of the brands' mentions whose current score was written after
    `after`: new posts and rescored ones, found through the scores' time index
    (`ix_sentiment_model_scored`), so the read costs what changed, not the store's history.
    A post that mentions two of the brands comes once per brand."""
    p, s, pb, a = schema.posts, schema.sentiment_scores, schema.post_brands, schema.authors
    ids = sorted(set(brand_ids))
    with store.engine.connect() as conn:
        version = current_model_version(conn) or ""
        stmt = (select(pb.c.brand_id, p.c.id, p.c.text, p.c.lang, s.c.label, p.c.created_at,
                       p.c.author_id, a.c.followers, s.c.language, s.c.scored_at)
                .select_from(s.join(p, p.c.id == s.c.post_id)
                             .join(pb, pb.c.post_id == p.c.id)
                             .outerjoin(a, a.c.id == p.c.author_id))
                .where(s.c.model_version == version, pb.c.brand_id.in_(ids))
                .order_by(p.c.created_at, p.c.id, pb.c.brand_id))
        if after is not None:
            stmt = stmt.where(s.c.scored_at > after)
        rows = conn.execute(stmt).all()
    return [(int(r[0]), Mention(int(r[1]), r[2], r[3], r[4], as_utc(r[5]), int(r[6]), r[7],
                                r[8], as_utc(r[9]))) for r in rows]


def themed(store: Store, brand_ids: Iterable[int]) -> dict[int, dict[int, tuple[int, str]]]:
    """brand id -> {post id: (theme id, theme name)}: what `post_themes` holds for them."""
    t = schema.post_themes
    out: dict[int, dict[int, tuple[int, str]]] = {b: {} for b in brand_ids}
    with store.engine.connect() as conn:
        for b, pid, tid, name in conn.execute(select(t.c.brand_id, t.c.post_id, t.c.theme_id,
                                                     t.c.theme_name)
                                              .where(t.c.brand_id.in_(list(out)))):
            out[b][int(pid)] = (int(tid), name)
    return out


def drop_post_themes(store: Store, brand_id: int, post_ids: Iterable[int]) -> None:
    """Delete the brand's theme rows of these posts (rescored as not negative, or erased)."""
    t = schema.post_themes
    drop = list(post_ids)
    with store.engine.begin() as conn:
        for start in range(0, len(drop), CHUNK):
            conn.execute(delete(t).where(t.c.brand_id == brand_id,
                                         t.c.post_id.in_(drop[start:start + CHUNK])))


def count_post_themes(store: Store, brand_id: int) -> int:
    t = schema.post_themes
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t)
                            .where(t.c.brand_id == brand_id)).scalar_one()


def save_post_themes(store: Store, brand_id: int, assigned: dict[int, tuple[int, str]],
                     replace_all: bool = True, removed: Iterable[int] = ()) -> None:
    """Write post -> (theme id, theme name) rows in one transaction: all of the brand's rows
    replaced, or (`replace_all=False`) only those given, and those `removed` deleted."""
    t = schema.post_themes
    with store.engine.begin() as conn:
        if replace_all:
            conn.execute(delete(t).where(t.c.brand_id == brand_id))
        else:
            drop = [*assigned, *removed]
            for start in range(0, len(drop), CHUNK):
                conn.execute(delete(t).where(t.c.brand_id == brand_id,
                                             t.c.post_id.in_(drop[start:start + CHUNK])))
        if assigned:
            conn.execute(insert(t), [{"post_id": pid, "brand_id": brand_id, "theme_id": tid,
                                      "theme_name": name} for pid, (tid, name) in assigned.items()])
