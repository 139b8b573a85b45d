"""What influence ranking reads and writes: interaction edges, author facts, saved runs.

Edges, follower counts and per-author post counts are read with set-based SQL straight into
columns (no object per row): the whole Higgs file is half a million interactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import insert, select

from listener.post import utcnow
from listener.store import Store, schema
from listener.store.scores import current_model_version
from listener.store.sql import chunks, driver_time, epoch, mark

__all__ = ["AuthorFacts", "EdgeColumns", "author_facts", "edge_columns", "handles",
           "influence_of", "latest_run", "save_run", "top_influencers", "top_ranks"]


@dataclass(frozen=True)
class EdgeColumns:
    """Interactions as parallel arrays (what `graph.Edges.from_arrays` takes)."""

    source: np.ndarray
    target: np.ndarray
    kind: list[str]
    created_at: np.ndarray  # unix seconds
    source_post: np.ndarray  # -1 where unknown
    target_post: np.ndarray


@dataclass(frozen=True)
class AuthorFacts:
    followers: dict[int, int]
    posts: dict[int, int]
    negative_posts: dict[int, int]  # under the current sentiment model


def _filters(conn, brand_id: int | None, since: datetime | None, until: datetime | None,
             alias: str, post_col: str) -> tuple[str, list]:
    m = mark(conn)
    clauses, params = [], []
    if since is not None:
        clauses.append(f"{alias}.created_at >= {m}")
        params.append(driver_time(conn.engine, since))
    if until is not None:
        clauses.append(f"{alias}.created_at < {m}")
        params.append(driver_time(conn.engine, until))
    if brand_id is not None:
        clauses.append(f"EXISTS (SELECT 1 FROM post_brands pb WHERE pb.brand_id = {m} AND "
                       f"pb.post_id IN ({post_col}))")
        params.append(brand_id)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def edge_columns(store: Store, brand_id: int | None = None, since: datetime | None = None,
                 until: datetime | None = None) -> EdgeColumns | None:
    """Interactions in the window; with a brand, those touching a post tagged with it."""
    with store.engine.connect() as conn:
        where, params = _filters(conn, brand_id, since, until, "i",
                                 "i.source_post_id, i.target_post_id")
        sql = (f"SELECT i.source_author_id, i.target_author_id, i.kind, "
               f"{epoch(conn, 'i.created_at')}, COALESCE(i.source_post_id, -1), "
               f"COALESCE(i.target_post_id, -1) FROM interactions i{where} "
               # A fixed edge order: ties in ranking and community ids come out the same on
               # every plan (PostgreSQL's parallel scans return rows in any order).
               "ORDER BY i.id")
        rows = conn.exec_driver_sql(sql, tuple(params)).fetchall()
    if not rows:
        return None
    cols = list(zip(*rows, strict=True))
    return EdgeColumns(
        np.asarray(cols[0], dtype=np.int64), np.asarray(cols[1], dtype=np.int64), list(cols[2]),
        np.asarray(cols[3], dtype=np.float64), np.asarray(cols[4], dtype=np.int64),
        np.asarray(cols[5], dtype=np.int64))


def author_facts(store: Store, brand_id: int | None, since: datetime | None,
                 until: datetime | None) -> AuthorFacts:
    """Followers (where known), posts and negative posts per author, in the same window."""
    with store.engine.connect() as conn:
        followers = dict(conn.exec_driver_sql(
            "SELECT id, followers FROM authors WHERE followers IS NOT NULL").fetchall())
        where, params = _filters(conn, brand_id, since, until, "p", "p.id")
        posts = dict(conn.exec_driver_sql(
            f"SELECT p.author_id, COUNT(*) FROM posts p{where} GROUP BY p.author_id",
            tuple(params)).fetchall())
        version = current_model_version(conn)
        negative: dict = {}
        if version:
            neg_where = (where + " AND " if where else " WHERE ") + \
                f"s.model_version = {mark(conn)} AND s.label = 'negative'"
            negative = dict(conn.exec_driver_sql(
                f"SELECT p.author_id, COUNT(*) FROM posts p JOIN sentiment_scores s "
                f"ON s.post_id = p.id{neg_where} GROUP BY p.author_id",
                (*params, version)).fetchall())
    return AuthorFacts(followers, posts, negative)


def handles(store: Store, ids: Sequence[int]) -> dict[int, str]:
    a = schema.authors
    out: dict[int, str] = {}
    with store.engine.connect() as conn:
        for chunk in chunks(ids):
            out.update({r.id: r.handle or "" for r in conn.execute(
                select(a.c.id, a.c.handle).where(a.c.id.in_(chunk)))})
    return out


def save_run(store: Store, brand_id: int | None, since: datetime | None,
             until: datetime | None, params: dict[str, Any],
             scores: Sequence[dict[str, Any]]) -> int:
    """Save a ranking (its parameters and the kept authors' scores) in one transaction."""
    runs = schema.influence_runs
    with store.engine.begin() as conn:
        run_id = conn.execute(insert(runs).values(
            brand_id=brand_id, since=since, until=until, created_at=utcnow(), params=params,
        ).returning(runs.c.id)).scalar_one()
        if scores:
            conn.execute(insert(schema.influence_scores), [{"run_id": run_id, **s} for s in scores])
    return run_id


def latest_run(store: Store, brand_id: int | None = None):
    """The newest run of a scope (a brand's own, or the store-wide one when None)."""
    r = schema.influence_runs
    with store.engine.connect() as conn:
        stmt = select(r).order_by(r.c.id.desc()).limit(1)
        stmt = stmt.where(r.c.brand_id == brand_id) if brand_id else stmt.where(
            r.c.brand_id.is_(None))
        return conn.execute(stmt).first()


def top_influencers(store: Store, brand_id: int | None = None, top: int = 20) -> list[dict]:
    """The latest run's top authors with their handles, followers and score components."""
    run = latest_run(store, brand_id)
    if run is None:
        return []
    s, a = schema.influence_scores, schema.authors
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(s.c.rank, s.c.influence, s.c.components, s.c.community, s.c.author_id,
                   a.c.handle, a.c.platform, a.c.followers)
            .select_from(s.outerjoin(a, a.c.id == s.c.author_id))
            .where(s.c.run_id == run.id).order_by(s.c.rank).limit(top)).all()
    return [dict(r._mapping) | {"run_id": run.id} for r in rows]


def top_ranks(store: Store, top: int) -> dict[int, int]:
    """author id -> rank for the newest store-wide run's first `top` authors."""
    run = latest_run(store)
    if run is None:
        return {}
    s = schema.influence_scores
    with store.engine.connect() as conn:
        return dict(conn.execute(select(s.c.author_id, s.c.rank).where(
            s.c.run_id == run.id, s.c.rank <= top)).all())


def influence_of(store: Store, run_id: int | None, author_ids: Iterable[int]) -> dict[int, tuple]:
    """(influence 0-100, rank) per author in an influence run (unranked authors are absent)."""
    if run_id is None:
        return {}
    s = schema.influence_scores
    found: dict[int, tuple] = {}
    with store.engine.connect() as conn:
        for chunk in chunks(author_ids):
            found.update({r.author_id: (r.influence, r.rank) for r in conn.execute(
                select(s.c.author_id, s.c.influence, s.c.rank).where(
                    s.c.run_id == run_id, s.c.author_id.in_(chunk)))})
    return found
