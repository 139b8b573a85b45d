"""Reads about people and networks: influence runs, authors, amplification edges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, func, literal, select

from dashboard.queries._sql import LABELS, bound_time, chunks, frame, from_json
from listener import story_numbers
from listener.store import graph_views
from listener.store import schema as s
from listener.store.sql import as_utc

# -- influencers --------------------------------------------------------------------------


def influence_runs(engine: Engine, brand_id: int | None, limit: int = 2) -> list[dict[str, Any]]:
    """The newest runs for a scope: the brand's own runs, else the store-wide ones (brand NULL)."""
    r = s.influence_runs
    out: list[dict[str, Any]] = []
    scopes = ([r.c.brand_id == brand_id] if brand_id is not None else []) + [r.c.brand_id.is_(None)]
    with engine.connect() as conn:
        for scope in scopes:
            rows = conn.execute(select(r).where(scope)
                                .order_by(r.c.created_at.desc(), r.c.id.desc()).limit(limit)).all()
            if rows:
                out = [dict(row._mapping) for row in rows]
                break
    for run in out:
        run["created_at"] = as_utc(run["created_at"])
        run["params"] = from_json(run["params"]) or {}
    return out


def influencers(engine: Engine, run_id: int, previous_run_id: int | None,
                limit: int = 100) -> pd.DataFrame:
    """The top `limit` of a run with handles, components (one column each) and the rank change."""
    sc, a = s.influence_scores, s.authors
    stmt = (select(sc.c.rank, sc.c.author_id, a.c.handle, a.c.display_name, a.c.followers,
                   sc.c.influence, sc.c.community, sc.c.components)
            .select_from(sc.join(a, a.c.id == sc.c.author_id, isouter=True))
            .where(sc.c.run_id == run_id).order_by(sc.c.rank).limit(limit))
    df = frame(engine, stmt)
    components = pd.json_normalize([from_json(c) or {} for c in df["components"]]).add_prefix("c_")
    df = pd.concat([df.drop(columns="components"), components.set_index(df.index)], axis=1)
    df["previous_rank"] = pd.NA
    if previous_run_id is not None and len(df):
        prev = frame(engine, select(sc.c.author_id, sc.c.rank).where(
            sc.c.run_id == previous_run_id, sc.c.author_id.in_(df["author_id"].tolist())))
        df["previous_rank"] = df["author_id"].map(prev.set_index("author_id")["rank"])
    return df


def rank_history(engine: Engine, author_id: int, brand_id: int | None,
                 limit: int = 30) -> pd.DataFrame:
    """An author's rank in the newest runs of the scope `influence_runs` picks: the trend."""
    runs = influence_runs(engine, brand_id, limit=limit)
    if not runs:
        return pd.DataFrame(columns=["created_at", "rank", "influence"])
    sc = s.influence_scores
    df = frame(engine, select(sc.c.run_id, sc.c.rank, sc.c.influence).where(
        sc.c.author_id == author_id, sc.c.run_id.in_([r["id"] for r in runs])))
    when = {r["id"]: r["created_at"] for r in runs}
    df["created_at"] = pd.to_datetime(df["run_id"].map(when), utc=True)
    return df.drop(columns="run_id").sort_values("created_at").reset_index(drop=True)


def node_scores(engine: Engine, run_id: int | None, author_ids: Sequence[int]) -> pd.DataFrame:
    """Handle, followers, influence and community of some authors (scores from `run_id`)."""
    a, sc = s.authors, s.influence_scores
    frames = []
    for chunk in chunks(author_ids):
        source = a
        cols = [a.c.id.label("author_id"), a.c.handle, a.c.followers]
        if run_id is not None:
            source = a.outerjoin(sc, and_(sc.c.author_id == a.c.id, sc.c.run_id == run_id))
            cols += [sc.c.influence, sc.c.community, sc.c.rank]
        else:
            cols += [literal(None).label(c) for c in ("influence", "community", "rank")]
        frames.append(frame(engine, select(*cols).select_from(source).where(a.c.id.in_(chunk))))
    if not frames:
        return pd.DataFrame(columns=["author_id", "handle", "followers", "influence",
                                     "community", "rank"])
    return pd.concat(frames, ignore_index=True)


def author_sentiment(engine: Engine, model: str, author_ids: Sequence[int],
                     brand_ids: Sequence[int], since: datetime, until: datetime) -> pd.DataFrame:
    """Per author: model-labelled counts of their posts about the brands in the window."""
    p, pb, ss = s.posts, s.post_brands, s.sentiment_scores
    frames = []
    for chunk in chunks(author_ids):
        tagged = (select(pb.c.post_id).where(pb.c.post_id == p.c.id,
                                             pb.c.brand_id.in_(list(brand_ids))).exists())
        stmt = (select(p.c.author_id, ss.c.label, func.count().label("posts"))
                .select_from(p.join(ss, and_(ss.c.post_id == p.c.id,
                                             ss.c.model_version == model)))
                .where(p.c.author_id.in_(chunk), tagged, p.c.created_at >= bound_time(engine, since),
                       p.c.created_at < bound_time(engine, until))
                .group_by(p.c.author_id, ss.c.label))
        frames.append(frame(engine, stmt))
    if not frames:
        return pd.DataFrame(columns=["author_id", *LABELS])
    df = pd.concat(frames, ignore_index=True)
    wide = df.pivot_table(index="author_id", columns="label", values="posts", fill_value=0)
    return wide.reindex(columns=list(LABELS), fill_value=0).reset_index()


def author(engine: Engine, author_id: int) -> dict[str, Any] | None:
    a = s.authors
    with engine.connect() as conn:
        row = conn.execute(select(a).where(a.c.id == author_id)).first()
    return dict(row._mapping) if row else None


# -- graphs -------------------------------------------------------------------------------

EDGE_COLUMNS = ["source", "target", "kind", "weight"]


def _edges(engine: Engine, stmt) -> pd.DataFrame:
    df = frame(engine, stmt)
    return df if len(df) else pd.DataFrame(columns=EDGE_COLUMNS)


def _edge_select(where, source=None):
    i = s.interactions
    stmt = select(i.c.source_author_id.label("source"), i.c.target_author_id.label("target"),
                  i.c.kind, func.count().label("weight"))
    if source is not None:
        stmt = stmt.select_from(source)
    return stmt.where(where).group_by(i.c.source_author_id, i.c.target_author_id, i.c.kind)


def brand_edges(engine: Engine, brand_ids: Sequence[int], platforms: Sequence[str] | None,
                since: datetime, until: datetime) -> pd.DataFrame:
    """Who amplified whom on the brands' posts in the window: source, target, kind, weight."""
    return graph_views.brand_edges(engine, brand_ids, platforms, since, until)


def saved_graph_view(engine: Engine, view_key: str) -> dict[str, Any] | None:
    """The view the pipeline laid out and saved under `view_key` (`graph.view.view_key`),
    if the interactions are still those it read; else None."""
    return graph_views.saved_view(engine, view_key)


def cascade_edges(engine: Engine, root_post_ids: Sequence[int], depth: int = 64,
                  max_edges: int = 20000) -> pd.DataFrame:
    """The amplification tree under some posts: interactions on them, then on the posts those
    interactions created, `depth` levels down (capped at `max_edges` interactions). Viral
    cascades are deep (reposts of reposts of reposts): a shallow cap showed the demo's viral
    story with 530 of its 778 amplifications."""
    i = s.interactions
    frontier, seen, rows = list(root_post_ids), set(), []
    for _ in range(depth):
        frontier = [pid for pid in dict.fromkeys(frontier) if pid not in seen]
        seen.update(frontier)
        nxt: list[int] = []
        for chunk in chunks(frontier):
            stmt = select(i.c.source_author_id, i.c.target_author_id, i.c.kind,
                          i.c.source_post_id).where(i.c.target_post_id.in_(chunk))
            with engine.connect() as conn:
                for r in conn.execute(stmt):
                    rows.append((r[0], r[1], r[2]))
                    if r[3] is not None:
                        nxt.append(r[3])
        if not nxt or len(rows) >= max_edges:
            break
        frontier = nxt
    if not rows:
        return pd.DataFrame(columns=EDGE_COLUMNS)
    df = pd.DataFrame(rows[:max_edges], columns=["source", "target", "kind"])
    return df.groupby(["source", "target", "kind"], as_index=False).size().rename(
        columns={"size": "weight"})


def ego_edges(engine: Engine, author_id: int, since: datetime, until: datetime,
              max_posts: int = 5000) -> pd.DataFrame:
    """The author's one-step neighbourhood: who amplified their posts and whom they amplified."""
    p, i = s.posts, s.interactions
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(
            select(p.c.id).where(p.c.author_id == author_id,
                                 p.c.created_at >= bound_time(engine, since),
                                 p.c.created_at < bound_time(engine, until))
            .order_by(p.c.created_at.desc()).limit(max_posts))]
    frames = []
    for chunk in chunks(ids):
        frames.append(_edges(engine, _edge_select(i.c.target_post_id.in_(chunk))))
        frames.append(_edges(engine, _edge_select(i.c.source_post_id.in_(chunk))))
    if not frames:
        return pd.DataFrame(columns=EDGE_COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    return df.groupby(["source", "target", "kind"], as_index=False)["weight"].sum()


def story_chain(engine: Engine, post_id: int, depth: int = 64) -> list[int]:
    """The post and what it amplified, up to the story's root: [post, parent, ..., root].
    The root is the post whose cascade (`cascade_edges`) the story is."""
    i = s.interactions
    chain = [int(post_id)]
    with engine.connect() as conn:
        for _ in range(depth):
            up = conn.execute(select(i.c.target_post_id).where(
                i.c.source_post_id == chain[-1], i.c.target_post_id.is_not(None)).limit(1)).scalar()
            if up is None or int(up) in chain:
                break
            chain.append(int(up))
    return chain


def alerts_of_posts(engine: Engine, post_ids: Sequence[int]) -> list[int]:
    """Alerts whose evidence names one of `post_ids` as a root post, most severe first."""
    a = s.alerts
    wanted = {int(p) for p in post_ids}
    with engine.connect() as conn:
        rows = conn.execute(select(a.c.id, a.c.evidence).order_by(a.c.severity.desc(),
                                                                    a.c.id.desc())).all()
    out = []
    for alert_id, ev in rows:
        ev = from_json(ev) or {}
        roots = ev.get("root_post_ids") or [r.get("id") for r in ev.get("root_posts") or []
                                            if isinstance(r, dict)]
        if wanted & {int(r) for r in roots if r is not None}:
            out.append(int(alert_id))
    return out


def story_reactions(engine: Engine, platform: str, native_id: str):
    """The reactions of the story rooted at one post (`listener.story_numbers`): the demo
    banner's count, the same the alert page and the graph explorer show."""
    p = s.posts
    with engine.connect() as conn:
        post_id = conn.execute(select(p.c.id).where(p.c.platform == platform,
                                                    p.c.native_id == native_id)).scalar()
    edges = cascade_edges(engine, [post_id]) if post_id is not None else pd.DataFrame()
    return story_numbers.from_edges(edges["weight"] if len(edges) else [])

def coordination_clusters(engine: Engine) -> dict[int, int]:
    """Account id -> lock-step cluster number, as the coordination stage last saved it."""
    with engine.connect() as conn:
        saved = conn.execute(select(s.meta.c.value).where(s.meta.c.key == "coordination")).scalar()
    clusters = from_json(saved)["clusters"] if saved else []
    return {int(a): n for n, members in enumerate(clusters) for a in members}
