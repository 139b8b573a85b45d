"""`undertow detect`: feed new brand mentions to the early-warning detector, keep alerts current.

Incremental: the detector's state and the stream time it reached are kept in the store's meta
table, so each run reads only posts newer than the last (posts that arrive later than that with
an older timestamp are not replayed). Each story the detector opens or updates becomes one alert
row, whose lifecycle (acknowledged, resolved, cooldown) lives in `listener.store.alerts`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from listener.post import stable_id
from listener.store import Store, schema
from listener.store.alerts import upsert_story
from listener.store.db import as_utc
from listener.store.retention import current_model_version

STATE_KEY, CURSOR_KEY = "detect_state", "detect_cursor"
PAGE = 20000
TOP_INFLUENCERS = 25  # authors ranked this high count as influencers
# A top influencer's negative post opens a story once it has drawn this many reactions: fewer
# turned every complaint of a prolific account into an alert (the demo week had 150 of them).
MIN_INFLUENCER_EVENTS = 20


@dataclass
class DetectReport:
    posts: int = 0
    opened: int = 0
    updated: int = 0
    seconds: float = 0.0


def _rows(store: Store, since: str | None, version: str | None) -> Iterator[list]:
    """Brand-tagged posts after `since`, in time order, a page at a time."""
    with store.engine.connect() as conn:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        epoch = ("CAST(strftime('%s', p.created_at) AS REAL)" if store.dialect == "sqlite"
                 else "EXTRACT(EPOCH FROM p.created_at)")
        sql = (f"SELECT p.id, b.name, {epoch}, s.label, p.author_id, a.followers, p.platform, "
               f"p.parent_native_id, p.text, p.gold_reason, p.created_at "
               f"FROM post_brands pb JOIN posts p ON p.id = pb.post_id "
               f"JOIN brands b ON b.id = pb.brand_id "
               f"LEFT JOIN authors a ON a.id = p.author_id "
               f"LEFT JOIN sentiment_scores s ON s.post_id = p.id AND s.model_version = {mark} "
               + (f"WHERE p.created_at > {mark} " if since else "")
               + "ORDER BY p.created_at, p.id")
        params = (version or "",) + ((since,) if since else ())
        result = conn.exec_driver_sql(sql, params)
        while page := result.fetchmany(PAGE):
            yield page


def _ranks(store: Store) -> dict[int, int]:
    r, s = schema.influence_runs, schema.influence_scores
    with store.engine.connect() as conn:
        run = conn.execute(select(r.c.id).where(r.c.brand_id.is_(None))
                           .order_by(r.c.id.desc()).limit(1)).scalar()
        if run is None:
            return {}
        return dict(conn.execute(select(s.c.author_id, s.c.rank).where(
            s.c.run_id == run, s.c.rank <= TOP_INFLUENCERS)).all())


def _signal(row):
    from graph.detector import SignalPost
    from nlp.themes import themes

    pid, brand, at, label, author, followers, platform, parent, text, reason, _ = row
    found = (reason,) if reason else themes(text)
    return SignalPost(id=int(pid), brand=brand, at=float(at), negative=label == "negative",
                      author=None if author is None else int(author), followers=followers,
                      parent=stable_id(platform, parent) if parent else None,
                      themes=found if label == "negative" else ())


def _posts(store: Store, ids: list[int]) -> dict[int, dict]:
    p, a = schema.posts, schema.authors
    with store.engine.connect() as conn:
        rows = conn.execute(select(p.c.id, p.c.text, p.c.url, p.c.created_at, p.c.reposts,
                                   p.c.author_id, a.c.handle)
                            .select_from(p.outerjoin(a, a.c.id == p.c.author_id))
                            .where(p.c.id.in_(ids))).all()
    return {r.id: {"id": r.id, "author": r.handle, "author_id": r.author_id, "text": r.text,
                   "url": r.url, "created_at": as_utc(r.created_at).isoformat(),
                   "reposts": r.reposts} for r in rows}


def _handles(store: Store, ids: list[int]) -> dict[int, tuple[str, int | None]]:
    a = schema.authors
    with store.engine.connect() as conn:
        return {r.id: (r.handle, r.followers) for r in conn.execute(
            select(a.c.id, a.c.handle, a.c.followers).where(a.c.id.in_(ids)))}


def evidence(store: Store, story) -> tuple[str, dict]:
    """The alert's title and evidence (the shape `listener.alerts.render` and the dashboard read)."""
    roots = _posts(store, [int(i) for i in story.root_posts[:5]])
    first = roots.get(int(story.root_posts[0])) if story.root_posts else None
    start = datetime.fromisoformat(first["created_at"]) if first else \
        datetime.fromtimestamp(story.opened_at, UTC)
    people = _handles(store, [i.author for i in story.influencers])
    reasons = []
    if "growth" in story.triggers and story.forecast:
        f = story.forecast
        reasons.append(f"growing fast: {f.observed:,} reactions in {f.age_min:.0f} min, forecast "
                       f"{f.final:,.0f} (80% interval {f.low:,.0f}-{f.high:,.0f}), "
                       f"P(viral) {f.p_viral:.0%}")
    if "volume" in story.triggers and story.volume:
        v = story.volume
        reasons.append(f"negative volume {v.negative:,} in {v.window_min} min against "
                       f"{v.negative_baseline:,.1f} usual for this time ({v.baseline})")
    for inv in story.influencers[:5]:
        handle = people.get(inv.author, (None, None))[0] or inv.author
        reasons.append(f"top-{inv.rank} influencer @{handle} is the post's {inv.role}")
    ev = {
        "reasons": reasons,
        "triggers": list(story.triggers),
        "root_posts": [roots[i] for i in (int(x) for x in story.root_posts[:5]) if i in roots],
        "growth": [{"t": (start + timedelta(minutes=m)).isoformat(), "size": int(size)}
                   for m, size in story.growth_curve],
        "forecast": None if story.forecast is None else {
            "final": story.forecast.final, "low": story.forecast.low, "high": story.forecast.high,
            "p_viral": story.forecast.p_viral},
        "influencers": [{"author_id": inv.author, "handle": people.get(inv.author, (None,))[0],
                         "followers": people.get(inv.author, (None, None))[1], "rank": inv.rank,
                         "role": inv.role} for inv in story.influencers[:10]],
        "themes": [{"term": t, "posts": int(c)} for t, c in story.themes[:8]],
        "posts": story.post_count, "negative_posts": story.negative_count,
    }
    who = f"@{first['author']}" if first and first.get("author") else "a customer"
    if story.kind == "cascade":
        title = (f"Negative post by {who} spreading: {story.post_count:,} reactions"
                 + (f", forecast {story.forecast.final:,.0f}" if story.forecast else ""))
    else:
        title = f"Burst of negative posts: {story.negative_count:,} negative mentions"
    if story.themes:
        title += f" ({story.themes[0][0]})"
    return title, ev


def detect(store: Store, reset: bool = False, echo: Callable[[str], None] = print) -> DetectReport:
    from graph.detector import Detector, DetectorConfig

    started = time.monotonic()
    report = DetectReport()
    state = None if reset else store.get_meta(STATE_KEY)
    cursor = None if reset else store.get_meta(CURSOR_KEY)
    ranks = _ranks(store)
    config = DetectorConfig(top_n=TOP_INFLUENCERS, min_influencer_events=MIN_INFLUENCER_EVENTS)
    detector = (Detector.from_json(state, config, ranks=ranks) if state
                else Detector(config, ranks=ranks))
    version = None
    with store.engine.connect() as conn:
        version = current_model_version(conn)
    if version is None:
        echo("No sentiment scores yet: run `undertow score` first (detect reads model scores).")
        return report
    brands = {b.name: b.id for b in store.brands()}
    last = None
    for page in _rows(store, cursor, version):
        report.posts += len(page)
        stories = detector.process(_signal(r) for r in page)
        last = page[-1][-1]
        for story in stories:
            if story.status != "active" and not story.triggers:
                continue
            title, ev = evidence(store, story)
            at = datetime.fromtimestamp(story.updated_at, UTC)
            _, outcome = upsert_story(store, brands[story.brand], story.id, story.severity, title,
                                      ev, now=at,
                                      opened_at=datetime.fromtimestamp(story.opened_at, UTC))
            report.opened += outcome in ("opened", "reopened")
            report.updated += outcome == "updated"
        store.set_meta({STATE_KEY: detector.to_json(),
                        CURSOR_KEY: last if isinstance(last, str) else as_utc(last).isoformat()})
    report.seconds = time.monotonic() - started
    return report


def stage(store: Store, settings, echo: Callable[[str], None]) -> None:
    report = detect(store, echo=echo)
    echo(f"Detection read {report.posts:,} new brand mentions in {report.seconds:.1f} s: "
         f"{report.opened:,} alerts opened, {report.updated:,} updated.")
