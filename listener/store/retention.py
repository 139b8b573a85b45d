"""Retention: delete what is older than its platform's retention period, keeping only counts.

Before a day's posts go, their per brand x platform x sentiment counts are added to
`daily_brand_sentiment` (no ids, no text), so the dashboard's long-term trends survive.
Deletion runs in batches, each its own transaction, so a huge prune never holds one giant lock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update

from listener.post import utcnow
from listener.store import Store, graph_views, schema
from listener.store.locks import tag_lock
from listener.store.scores import current_model_version

BATCH = 2000


@dataclass
class PruneReport:
    removed: Counter = field(default_factory=Counter)
    cutoffs: dict[str, str] = field(default_factory=dict)


def _aggregate(conn, post_ids: list[int], version: str | None) -> None:
    p, pb, s, d = schema.posts, schema.post_brands, schema.sentiment_scores, schema.daily_brand_sentiment
    label = func.coalesce(s.c.label, "unscored")
    joined = pb.join(p, p.c.id == pb.c.post_id).outerjoin(
        s, and_(s.c.post_id == p.c.id, s.c.model_version == (version or "")))
    rows = conn.execute(select(pb.c.brand_id, p.c.platform, p.c.created_at, label.label("label"))
                        .select_from(joined).where(p.c.id.in_(post_ids))).all()
    counts = Counter((r.created_at.strftime("%Y-%m-%d"), r.brand_id, r.platform, r.label) for r in rows)
    for (day, brand_id, platform, lab), n in counts.items():
        key = and_(d.c.day == day, d.c.brand_id == brand_id, d.c.platform == platform, d.c.label == lab)
        if conn.execute(update(d).where(key).values(posts=d.c.posts + n)).rowcount == 0:
            conn.execute(d.insert().values(day=day, brand_id=brand_id, platform=platform, label=lab,
                                           posts=n))


def delete_posts(conn, post_ids: list[int], removed: Counter) -> None:
    """Delete posts and everything that hangs off them (scores, brand tags, interactions)."""
    s, pb, i, p = schema.sentiment_scores, schema.post_brands, schema.interactions, schema.posts
    removed["sentiment_scores"] += conn.execute(delete(s).where(s.c.post_id.in_(post_ids))).rowcount
    removed["post_brands"] += conn.execute(delete(pb).where(pb.c.post_id.in_(post_ids))).rowcount
    removed["interactions"] += conn.execute(delete(i).where(or_(
        i.c.source_post_id.in_(post_ids), i.c.target_post_id.in_(post_ids)))).rowcount
    removed["posts"] += conn.execute(delete(p).where(p.c.id.in_(post_ids))).rowcount


def delete_orphan_authors(conn, removed: Counter) -> None:
    a, p, i = schema.authors, schema.posts, schema.interactions
    orphan = ~select(p.c.id).where(p.c.author_id == a.c.id).exists() \
        & ~select(i.c.id).where(or_(i.c.source_author_id == a.c.id,
                                    i.c.target_author_id == a.c.id)).exists()
    # Counted apart: "removed 111 authors" for one erased account would read as a mistake.
    removed["authors left with no posts or interactions"] += conn.execute(
        delete(a).where(orphan)).rowcount


def prune(store: Store, retention_for, platforms: list[str] | None = None,
          now: datetime | None = None) -> PruneReport:
    """Delete posts older than `retention_for(platform)` days (0 = keep forever).

    A post goes when it is older than that and has also been stored that long: an imported
    archive (posts from years ago) is kept for the period after its import, instead of vanishing
    at the first daily prune of `undertow listen`. Live collection stores posts as they appear,
    so for it the two dates agree.
    """
    now = now or utcnow()
    report = PruneReport()
    p = schema.posts
    with store.engine.connect() as conn:
        present = platforms or list(conn.execute(select(p.c.platform).distinct()).scalars())
        version = current_model_version(conn)
    for platform in present:
        days = retention_for(platform)
        if days <= 0:
            continue
        cutoff = now - timedelta(days=days)
        report.cutoffs[platform] = cutoff.isoformat()
        while True:
            with store.engine.begin() as conn:
                tag_lock(conn)  # tags and scores go together (listener.store.rollup)
                ids = list(conn.execute(select(p.c.id).where(
                    p.c.platform == platform, p.c.created_at < cutoff,
                    p.c.collected_at < cutoff).limit(BATCH)).scalars())
                if not ids:
                    break
                _aggregate(conn, ids, version)
                delete_posts(conn, ids, report.removed)
    with store.engine.begin() as conn:
        oldest = now - timedelta(days=max(
            [retention_for(pl) for pl in present if retention_for(pl) > 0] or [0]))
        if report.cutoffs:
            i, a = schema.interactions, schema.alerts
            # Interactions of stored posts go with their posts (delete_posts); by age alone only
            # those tied to no stored post (mentions of unknown acts, timed edge lists).
            report.removed["interactions"] += conn.execute(delete(i).where(
                i.c.created_at < oldest,
                ~select(p.c.id).where(p.c.id == i.c.source_post_id).exists(),
                ~select(p.c.id).where(p.c.id == i.c.target_post_id).exists(),
            )).rowcount
            if report.removed["posts"] or report.removed["interactions"]:
                graph_views.drop_views(conn)  # they may show what was just removed
            # A closed alert or watch item goes with the posts of its period: its times are the
            # story's own (event time), so an archive stored today keeps its alerts as it keeps
            # its posts.
            pb = schema.post_brands
            report.removed["alerts"] += conn.execute(delete(a).where(
                a.c.status.in_(("resolved", "watch")), a.c.updated_at < oldest,
                ~select(pb.c.post_id).where(
                    pb.c.brand_id == a.c.brand_id,
                    pb.c.created_at.between(a.c.opened_at, a.c.updated_at)).exists(),
            )).rowcount
            r = schema.influence_runs
            report.removed["influence_runs"] += conn.execute(
                delete(r).where(r.c.created_at < oldest)).rowcount
            delete_orphan_authors(conn, report.removed)
    store.forget_erasures()
    store.compact_rollup()
    return report
