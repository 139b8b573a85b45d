"""Amplification edges around brands' posts, and the Graph explorer's saved views.

`brand_edges` is the one read of who amplified whom on the brands' posts in a window (the
dashboard's Graph explorer and the views job both use it). A saved view (`graph.view`
records: the capped network with its layout) lives in `meta` under `graph_view:<digest>`, with
the view's key (brands, platforms, window, cap, influence run) and a stamp of the
interactions it was read from (the newest interaction's time);
`saved_view` returns it only while both still hold. Erasure and retention drop every saved view
(`drop_views`): the next pipeline pass saves them again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, select

from listener.store import schema as s
from listener.store.sql import as_utc, brand_scope, upsert

__all__ = ["EDGE_COLUMNS", "PREFIX", "brand_edges", "drop_views", "latest_run_id", "meta_key",
           "newest_post", "save_view", "saved_view", "stamp"]

EDGE_COLUMNS = ["source", "target", "kind", "weight"]
PREFIX = "graph_view:"


def brand_edges(engine: Engine, brand_ids: Sequence[int], platforms: Sequence[str] | None,
                since: datetime, until: datetime) -> pd.DataFrame:
    """Who amplified whom on the brands' posts in the window: source, target, kind, weight
    (interactions), from the post_brands (brand, time) index and the interactions' target
    post index."""
    pb, i = s.post_brands, s.interactions
    source, where = brand_scope(engine, brand_ids, platforms, since, until)
    stmt = (select(i.c.source_author_id.label("source"), i.c.target_author_id.label("target"),
                   i.c.kind, func.count().label("weight"))
            .select_from(source.join(i, i.c.target_post_id == pb.c.post_id)).where(where)
            .group_by(i.c.source_author_id, i.c.target_author_id, i.c.kind))
    with engine.connect() as conn:
        rows = conn.execute(stmt).tuples().all()
    if not rows:
        return pd.DataFrame(columns=EDGE_COLUMNS)
    return pd.DataFrame(dict(zip(EDGE_COLUMNS, zip(*rows, strict=True), strict=True)))


def newest_post(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        return as_utc(conn.execute(select(func.max(s.posts.c.created_at))).scalar())


def latest_run_id(engine: Engine, brand_id: int | None) -> int | None:
    """The influence run the Graph explorer colours a scope by: the brand's newest own run,
    else the newest store-wide one."""
    r = s.influence_runs
    scopes = ([r.c.brand_id == brand_id] if brand_id is not None else []) + [r.c.brand_id.is_(None)]
    with engine.connect() as conn:
        for scope in scopes:
            found = conn.execute(select(r.c.id).where(scope)
                                 .order_by(r.c.created_at.desc(), r.c.id.desc()).limit(1)).scalar()
            if found is not None:
                return int(found)
    return None


def stamp(engine: Engine) -> str | None:
    """What the saved views were read from: the newest interaction's time (one index probe).
    New interactions move it; erasure and retention, which remove some, drop the views."""
    with engine.connect() as conn:
        newest = conn.execute(select(func.max(s.interactions.c.created_at))).scalar()
    return None if newest is None else str(newest)


def meta_key(view_key: str) -> str:
    return PREFIX + hashlib.sha256(view_key.encode()).hexdigest()[:32]


def save_view(engine: Engine, record: dict[str, Any]) -> None:
    """Save a `graph.view` record under its key (replacing the one saved before)."""
    with engine.begin() as conn:
        upsert(conn, s.meta, [{"key": meta_key(record["key"]),
                                   "value": json.dumps(record, separators=(",", ":"))}],
                   ("key",))


def saved_view(engine: Engine, view_key: str) -> dict[str, Any] | None:
    """The saved record of exactly this view, if its interactions are still those stored."""
    m = s.meta
    with engine.connect() as conn:
        raw = conn.execute(select(m.c.value).where(m.c.key == meta_key(view_key))).scalar()
    if raw is None:
        return None
    record = json.loads(raw)
    if record.get("key") != view_key or record.get("stamp") != stamp(engine):
        return None
    return record


def drop_views(conn: Connection) -> int:
    """Delete every saved view (in the caller's transaction); how many there were."""
    m = s.meta
    return conn.execute(delete(m).where(m.c.key.like(PREFIX + "%"))).rowcount
