"""What the themes job reads (a brand's mentions with score, language tag, author reach) and
writes (each mention's theme, which the detector names stories by)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, insert, select

from listener.store import Store, schema
from listener.store.scores import current_model_version

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


def brand_mentions(store: Store, brand_id: int, since: datetime | None = None) -> list[Mention]:
    """Every mention of the brand after `since`, oldest first, with the current model's label."""
    with store.engine.connect() as conn:
        version = current_model_version(conn) or ""
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = ("SELECT p.id, p.text, p.lang, s.label, p.created_at, p.author_id, a.followers, "
               "s.language "
               "FROM post_brands pb JOIN posts p ON p.id = pb.post_id "
               "LEFT JOIN authors a ON a.id = p.author_id "
               f"LEFT JOIN sentiment_scores s ON s.post_id = p.id AND s.model_version = {mark} "
               f"WHERE pb.brand_id = {mark}" + (f" AND p.created_at > {mark}" if since else "")
               + " ORDER BY p.created_at, p.id")
        params = (version, brand_id, *((since,) if since else ()))
        rows = conn.exec_driver_sql(sql, params).all()
    return [Mention(int(r[0]), r[1], r[2], r[3], r[4] if isinstance(r[4], datetime)
                    else datetime.fromisoformat(str(r[4])), int(r[5]), r[6], r[7]) for r in rows]


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
