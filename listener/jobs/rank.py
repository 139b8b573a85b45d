"""`undertow rank`: load interaction edges from the store, rank influencers, save the run.

Edges, follower counts and per-author post counts are read with set-based queries straight into
numpy arrays (no ORM object per row); `graph/` does the ranking; the top `keep` authors of each
run are saved with every score component, so rank changes over time can be shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import insert, select

from listener.post import utcnow
from listener.store import Store, schema
from listener.store.retention import current_model_version

KEEP = 5000


@dataclass
class RankReport:
    run_id: int | None
    brand: str | None
    edges: int
    authors: int
    communities: int
    seconds: float


def _epoch(conn, column: str) -> str:
    if conn.dialect.name == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"EXTRACT(EPOCH FROM {column})"


def _filters(conn, brand_id: int | None, since: datetime | None, until: datetime | None,
             alias: str, post_col: str) -> tuple[str, list]:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    from listener.store.db import to_db_time

    clauses, params = [], []
    if since is not None:
        clauses.append(f"{alias}.created_at >= {mark}")
        params.append(to_db_time(conn.engine, since))
    if until is not None:
        clauses.append(f"{alias}.created_at < {mark}")
        params.append(to_db_time(conn.engine, until))
    if brand_id is not None:
        clauses.append(f"EXISTS (SELECT 1 FROM post_brands pb WHERE pb.brand_id = {mark} AND "
                       f"pb.post_id IN ({post_col}))")
        params.append(brand_id)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def load_edges(store: Store, brand_id: int | None = None, since: datetime | None = None,
               until: datetime | None = None):
    """Interactions as `graph.Edges`; with a brand, those touching a post tagged with it."""
    from graph import Edges

    with store.engine.connect() as conn:
        where, params = _filters(conn, brand_id, since, until, "i",
                                 "i.source_post_id, i.target_post_id")
        sql = (f"SELECT i.source_author_id, i.target_author_id, i.kind, {_epoch(conn, 'i.created_at')},"
               f" COALESCE(i.source_post_id, -1), COALESCE(i.target_post_id, -1) "
               f"FROM interactions i{where}")
        rows = conn.exec_driver_sql(sql, tuple(params)).fetchall()
    if not rows:
        return None
    cols = list(zip(*rows, strict=True))
    return Edges.from_arrays(
        np.asarray(cols[0], dtype=np.int64), np.asarray(cols[1], dtype=np.int64), list(cols[2]),
        np.asarray(cols[3], dtype=np.float64), np.asarray(cols[4], dtype=np.int64),
        np.asarray(cols[5], dtype=np.int64))


def _author_values(store: Store, brand_id: int | None, since, until) -> tuple[dict, dict, dict]:
    """(followers, posts, negative posts) per author id."""
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
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            neg_where = (where + " AND " if where else " WHERE ") + \
                f"s.model_version = {mark} AND s.label = 'negative'"
            negative = dict(conn.exec_driver_sql(
                f"SELECT p.author_id, COUNT(*) FROM posts p JOIN sentiment_scores s "
                f"ON s.post_id = p.id{neg_where} GROUP BY p.author_id",
                (*params, version)).fetchall())
    return followers, posts, negative


def _handles(store: Store, ids: list[int]) -> dict[int, str]:
    a = schema.authors
    out: dict[int, str] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            out.update({r.id: r.handle or "" for r in conn.execute(
                select(a.c.id, a.c.handle).where(a.c.id.in_(chunk)))})
    return out


def rank(store: Store, brand: str | None = None, since: datetime | None = None,
         until: datetime | None = None, keep: int = KEEP, communities: bool = True,
         echo: Callable[[str], None] = print) -> RankReport:
    from graph import build_graph, label_communities, louvain, score_influence

    started = time.monotonic()
    brand_id = store.brand(brand).id if brand else None
    edges = load_edges(store, brand_id, since, until)
    if edges is None:
        if since or until:
            echo("No interactions in that time window: widen --since/--until (`undertow status` "
                 "shows what is stored).")
        else:
            echo("No interactions to rank yet: collect or import posts first (`undertow demo`).")
        return RankReport(None, brand, 0, 0, 0, time.monotonic() - started)
    followers, posts, negative = _author_values(store, brand_id, since, until)
    now = until.timestamp() if until else float(edges.created_at.max())
    graph = build_graph(edges, now=now)
    scores = score_influence(graph, followers=followers, posts=posts, negative_posts=negative)
    labels = louvain(graph) if communities else None
    frame = scores.frame(communities=labels).head(keep)
    top_ids = [int(i) for i in frame["author_id"]]
    handles = _handles(store, top_ids)
    community_info = []
    if labels is not None:
        for c in label_communities(scores.ids, labels, handles=handles, influence=scores.influence,
                                   min_size=3)[:50]:
            community_info.append({"number": c.number, "size": c.size, "label": c.label,
                                   "top_authors": [int(a) for a in c.top_authors]})
    component_cols = [c for c in frame.columns if c not in ("author_id", "rank", "influence",
                                                            "community")]
    records = frame.to_dict("records")
    with store.engine.begin() as conn:
        run_id = conn.execute(insert(schema.influence_runs).values(
            brand_id=brand_id, since=since, until=until, created_at=utcnow(),
            params={"weights": scores.weights, "edges": len(edges), "authors": len(scores.ids),
                    "keep": keep, "communities": community_info},
        ).returning(schema.influence_runs.c.id)).scalar_one()
        conn.execute(insert(schema.influence_scores), [
            {"run_id": run_id, "author_id": int(r["author_id"]), "rank": int(r["rank"]),
             "influence": _plain(r["influence"]) or 0.0,
             "community": None if labels is None else int(r["community"]),
             "components": {c: _plain(r[c]) for c in component_cols}}
            for r in records])
    report = RankReport(run_id, brand, len(edges), len(scores.ids),
                        len(set(labels.tolist())) if labels is not None else 0,
                        time.monotonic() - started)
    return report


def _plain(value):
    """JSON-safe: numpy scalars become Python numbers, NaN (no data) becomes null."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 6)
    return value


def latest_run(store: Store, brand: str | None = None):
    r = schema.influence_runs
    brand_id = store.brand(brand).id if brand else None
    with store.engine.connect() as conn:
        stmt = select(r).order_by(r.c.id.desc()).limit(1)
        stmt = stmt.where(r.c.brand_id == brand_id) if brand_id else stmt.where(
            r.c.brand_id.is_(None))
        return conn.execute(stmt).first()


def top_influencers(store: Store, brand: str | None = None, top: int = 20) -> list[dict]:
    """The latest run's top authors with their handles, followers and score components."""
    run = latest_run(store, brand)
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


def stage(store: Store, settings, echo: Callable[[str], None]) -> None:
    """Pipeline stage: rank over everything, then per brand."""
    report = rank(store, echo=echo)
    if report.run_id is None:
        return
    echo(f"Ranked {report.authors:,} authors from {report.edges:,} interactions "
         f"({report.communities:,} communities) in {report.seconds:.1f} s.")
    for b in store.brands():
        rank(store, brand=b.name, echo=echo)
    echo(f"Ranked influencers per brand for {len(store.brands())} brands.")
