"""Reads about mentions: store facts, the Overview's counts and themes, alerts and posts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    Engine,
    String,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)

from dashboard import themes
from dashboard.queries._sql import (
    bound_time,
    brand_scope,
    bucket,
    chunks,
    distinct,
    frame,
    from_json,
    parse_bucket,
    utc_cols,
)
from listener.store import rollup
from listener.store import schema as s
from listener.store.alerts import story_size
from listener.store.scores import current_model_version
from listener.store.sql import as_utc, driver_time

# -- what the store holds ---------------------------------------------------------------


def store_facts(engine: Engine) -> dict[str, Any]:
    """Cheap facts every page needs: time bounds, platforms, brands, sentiment model, demo meta."""
    p, m = s.posts, s.meta
    with engine.connect() as conn:
        first = conn.execute(select(func.min(p.c.created_at))).scalar()
        last = conn.execute(select(func.max(p.c.created_at))).scalar()
        brands = [dict(r._mapping) for r in conn.execute(
            select(s.brands.c.id, s.brands.c.name, s.brands.c.competitor_group)
            .order_by(s.brands.c.name))]
        meta = dict(conn.execute(select(m.c.key, m.c.value)
                                 .where(m.c.key.in_(["demo", "demo_facts"]))).all())
    facts = from_json(meta.get("demo_facts")) if meta.get("demo_facts") else {}
    return {
        "first": as_utc(first), "last": as_utc(last),
        "platforms": sorted(distinct(engine, "posts", "platform")),
        "brands": brands, "model": sentiment_model(engine),
        "demo": meta.get("demo") == "1", "demo_facts": facts,
    }


def sentiment_model(engine: Engine) -> str | None:
    """The model version whose scores the dashboard shows: the store's current one."""
    with engine.connect() as conn:
        return current_model_version(conn)


# -- overview -----------------------------------------------------------------------------


def mention_counts(engine: Engine, model: str | None, brand_ids: Sequence[int],
                   platforms: Sequence[str] | None, since: datetime, until: datetime,
                   previous_since: datetime, unit: str) -> pd.DataFrame:
    """Mentions per brand, period and hour/day.

    Columns: brand_id, period ('current' = [since, until), 'previous' = [previous_since, since)),
    time, label, posts. Without `model` the labels are None; with it, only mentions that model
    scored are counted, per label. Whole hours come from `mention_rollup` (plus its pending
    deltas), so the cost follows the hours shown, not the posts; a window edge inside an hour
    (a URL may give minutes) is counted from the posts, so the numbers are the raw ones.
    """
    frames = []
    for period, start, end in (("previous", previous_since, since), ("current", since, until)):
        if start >= end:
            continue
        lo, hi = rollup.ceil_hour(start), rollup.floor_hour(end)
        if lo >= hi:
            frames.append(_raw_period(engine, model, brand_ids, platforms, start, end, unit,
                                      period))
            continue
        frames.append(_rollup_period(engine, model, brand_ids, platforms, lo, hi, unit, period))
        for a, b in ((start, lo), (hi, end)):
            if a < b:
                frames.append(_raw_period(engine, model, brand_ids, platforms, a, b, unit,
                                          period))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({"brand_id": pd.Series(dtype=int), "period": pd.Series(dtype=str),
                             "label": pd.Series(dtype=object), "posts": pd.Series(dtype=int),
                             "time": pd.Series(dtype="datetime64[ns, UTC]")})
    df = pd.concat(frames, ignore_index=True)
    key = ["brand_id", "period", "time", "label"]
    df = df.groupby(key, dropna=False, sort=False)["posts"].sum().reset_index()
    df = df[df["posts"] != 0].reset_index(drop=True)
    df["label"] = df["label"].astype(object).where(df["label"].notna(), None)
    return df[["brand_id", "period", "label", "posts", "time"]]


def _raw_period(engine, model, brand_ids, platforms, start, end, unit, period) -> pd.DataFrame:
    df = mention_counts_raw(engine, model, brand_ids, platforms, end, end, start, unit)
    return df.assign(period=period)


def _rollup_period(engine: Engine, model: str | None, brand_ids: Sequence[int],
                   platforms: Sequence[str] | None, lo: datetime, hi: datetime, unit: str,
                   period: str) -> pd.DataFrame:
    """The whole hours [lo, hi) from the rollup and the deltas not yet folded into it."""
    r, d = s.mention_rollup, s.mention_deltas

    def part(t, count):
        where = [t.c.brand_id.in_(list(brand_ids)), t.c.hour >= rollup.hour_key(lo),
                 t.c.hour < rollup.hour_key(hi), t.c.model_version == (model or ""),
                 t.c.label != "" if model else t.c.label == ""]
        if platforms is not None:
            where.append(t.c.platform.in_(list(platforms)))
        return select(t.c.brand_id, t.c.hour, t.c.label, count.label("posts")).where(*where)

    both = union_all(part(r, r.c.posts), part(d, d.c.n)).subquery()
    b = func.substr(both.c.hour, 1, 13 if unit == "hour" else 10).label("bucket")
    stmt = (select(both.c.brand_id, b, both.c.label, func.sum(both.c.posts).label("posts"))
            .group_by(both.c.brand_id, b, both.c.label))
    df = frame(engine, stmt)
    df["posts"] = df["posts"].astype(int)
    df["label"] = df["label"] if model else None
    df["time"] = parse_bucket(df["bucket"]) if len(df) else pd.Series(dtype="datetime64[ns, UTC]")
    return df.drop(columns="bucket").assign(period=period)


def mention_counts_raw(engine: Engine, model: str | None, brand_ids: Sequence[int],
                   platforms: Sequence[str] | None, since: datetime, until: datetime,
                   previous_since: datetime, unit: str) -> pd.DataFrame:
    """`mention_counts` from the posts themselves: one range scan of post_brands (and a score
    look-up per mention with `model`). The rollup's reference, and its reader for part-hours."""
    pb, ss = s.post_brands, s.sentiment_scores
    source, where = brand_scope(engine, brand_ids, platforms, previous_since, until)
    period = case((pb.c.created_at >= bound_time(engine, since), literal("current")),
                  else_=literal("previous")).label("period")
    if model:
        source = source.join(ss, and_(ss.c.post_id == pb.c.post_id, ss.c.model_version == model))
        label = ss.c.label
    else:
        label = literal(None)
    b = bucket(engine, pb.c.created_at, unit).label("bucket")
    stmt = (select(pb.c.brand_id, period, b, label.label("label"), func.count().label("posts"))
            .select_from(source).where(where).group_by(pb.c.brand_id, period, b, label))
    df = frame(engine, stmt)
    df["time"] = parse_bucket(df["bucket"]) if len(df) else pd.Series(dtype="datetime64[ns, UTC]")
    return df.drop(columns="bucket")


def _newest_per_brand(engine: Engine, columns, joins, cond, brand_ids: Sequence[int],
                      since: datetime, until: datetime, limit: int,
                      start: datetime | None = None) -> list[tuple]:
    """The newest `limit` rows over the brands, from index-ordered queries per brand (one
    query over all brands would sort the whole window). The newest `limit` overall reach
    back to some time: `start` when the caller knows a time they surely reach (from the
    rollup), else a first pass finds it from each brand's newest `limit` times alone, read
    from the indexes. Then only rows from that time on are read with their (wide) columns:
    about `limit` rows in all instead of `limit` per brand."""
    pb = s.post_brands
    # Times as stored (text on SQLite, which then sorts and compares them as text): parsing
    # tens of thousands of them into datetimes would cost more than the texts saved.
    when = type_coerce(pb.c.created_at, String)

    def newest(cols, brand_id: int, start):
        source = pb
        for table, on in joins:
            source = source.join(table, on)
        return (select(when, *cols).select_from(source)
                .where(pb.c.brand_id == brand_id, when >= start,
                       pb.c.created_at < bound_time(engine, until), cond)
                .order_by(pb.c.created_at.desc()).limit(limit))

    def stored(dt: datetime):
        return driver_time(engine, dt) if engine.dialect.name == "sqlite" \
            else bound_time(engine, dt)

    with engine.connect() as conn:
        if start is not None:
            cutoff = stored(max(start, since))
        else:
            times = sorted((r[0] for b in brand_ids
                            for r in conn.execute(newest([], b, stored(since))).tuples().all()),
                           reverse=True)
            if not times:
                return []
            cutoff = times[min(limit, len(times)) - 1]
        rows: list[tuple] = []
        for brand_id in brand_ids:
            # All at once: a Python call per row (SQLAlchemy's iteration) cost 3-10x the read.
            rows.extend(conn.execute(newest(columns, brand_id, cutoff)).tuples().all())
    rows.sort(key=lambda r: r[0], reverse=True)
    return rows[:limit]


def negative_texts(engine: Engine, model: str, brand_ids: Sequence[int],
                   platforms: Sequence[str] | None, since: datetime, until: datetime,
                   limit: int = 2000) -> tuple[list[str], list[str]]:
    """The newest `limit` negative and non-negative texts: the sample complaint themes read."""
    pb, ss, p = s.post_brands, s.sentiment_scores, s.posts
    joins = [(ss, and_(ss.c.post_id == pb.c.post_id, ss.c.model_version == model)),
             (p, p.c.id == pb.c.post_id)]
    out = []
    for negative in (True, False):
        cond = ss.c.label == "negative" if negative else ss.c.label != "negative"
        if platforms is not None:
            cond = and_(cond, p.c.platform.in_(list(platforms)))
        start = _reach_back(engine, model, negative, brand_ids, platforms, since, until, limit)
        rows = _newest_per_brand(engine, [p.c.text], joins, cond, brand_ids, since, until, limit,
                                 start)
        out.append([r[1] for r in rows])
    return out[0], out[1]


def _reach_back(engine: Engine, model: str, negative: bool, brand_ids: Sequence[int],
                platforms: Sequence[str] | None, since: datetime, until: datetime,
                limit: int) -> datetime:
    """The latest hour from which the window's whole hours hold at least `limit` mentions
    (negative, or not) by the rollup; `since` when they hold fewer. The newest `limit` such
    mentions are all at or after it (the part-hours at the edges only add to them)."""
    lo, hi = rollup.ceil_hour(since), rollup.floor_hour(until)
    if lo >= hi:
        return since
    r, d = s.mention_rollup, s.mention_deltas

    def part(t, count):
        where = [t.c.brand_id.in_(list(brand_ids)), t.c.hour >= rollup.hour_key(lo),
                 t.c.hour < rollup.hour_key(hi), t.c.model_version == model,
                 t.c.label == "negative" if negative else
                 and_(t.c.label != "", t.c.label != "negative")]
        if platforms is not None:
            where.append(t.c.platform.in_(list(platforms)))
        return select(t.c.hour, count.label("posts")).where(*where)

    both = union_all(part(r, r.c.posts), part(d, d.c.n)).subquery()
    stmt = (select(both.c.hour, func.sum(both.c.posts)).group_by(both.c.hour)
            .order_by(both.c.hour.desc()))
    total = 0
    with engine.connect() as conn:
        for hour, posts in conn.execute(stmt):
            total += int(posts)
            if total >= limit:
                return datetime.strptime(hour, rollup.HOUR_FORMAT).replace(tzinfo=UTC)
    return since


def complaint_themes(engine: Engine, model: str, brand_ids: Sequence[int],
                     platforms: Sequence[str] | None, since: datetime, until: datetime,
                     skip: Sequence[str] = (), limit: int = 2000) -> tuple[pd.DataFrame, int]:
    """Themes of the newest negative mentions (see `dashboard.themes`) and the sample size."""
    negative, others = negative_texts(engine, model, brand_ids, platforms, since, until, limit)
    return themes.complaint_themes(negative, others, skip=skip), len(negative)


def found_themes(engine: Engine, brand_ids: Sequence[int], platforms: Sequence[str] | None,
                 since: datetime, until: datetime) -> pd.DataFrame:
    """The window's negative mentions with the theme `undertow themes` gave them: brand_id,
    theme_id, theme_name, created_at, author_id, followers (one row per brand mention)."""
    pt, p, a = s.post_themes, s.posts, s.authors
    columns = ["brand_id", "theme_id", "theme_name", "created_at", "author_id", "followers"]
    with engine.connect() as conn:
        # Before the first `undertow themes` there are none; the read below would still walk
        # every post of the window to find that out (0.2-0.6 s at 1M posts).
        if conn.execute(select(pt.c.post_id).limit(1)).first() is None:
            return pd.DataFrame(columns=columns)
    stmt = (select(pt.c.brand_id, pt.c.theme_id, pt.c.theme_name, p.c.created_at,
                   p.c.author_id, a.c.followers)
            .select_from(pt.join(p, p.c.id == pt.c.post_id)
                         .outerjoin(a, a.c.id == p.c.author_id))
            .where(pt.c.brand_id.in_(list(brand_ids)),
                   p.c.created_at >= bound_time(engine, since),
                   p.c.created_at < bound_time(engine, until)))
    if platforms is not None:
        stmt = stmt.where(p.c.platform.in_(list(platforms)))
    return utc_cols(frame(engine, stmt, columns), "created_at")


def has_gold_reasons(engine: Engine) -> bool:
    """Whether any post carries a human-annotated complaint reason (labelled imports do).
    A full scan when none does, so the page caches it for the long TTL."""
    p = s.posts
    with engine.connect() as conn:
        return conn.execute(select(p.c.id).where(p.c.gold_reason.is_not(None)).limit(1)).first() \
            is not None


def gold_reasons(engine: Engine, brand_ids: Sequence[int], platforms: Sequence[str] | None,
                 since: datetime, until: datetime, limit: int = 5000) -> pd.DataFrame:
    """Complaint reasons human annotators gave (labelled datasets only) in the newest `limit`
    annotated mentions: reason, posts."""
    pb, p = s.post_brands, s.posts
    cond = p.c.gold_reason.is_not(None)
    if platforms is not None:
        cond = and_(cond, p.c.platform.in_(list(platforms)))
    rows = _newest_per_brand(engine, [p.c.gold_reason], [(p, p.c.id == pb.c.post_id)], cond,
                             brand_ids, since, until, limit)
    counts = pd.Series([r[1] for r in rows], dtype=object).value_counts().head(15)
    return pd.DataFrame({"reason": counts.index, "posts": counts.values})


# -- alerts -------------------------------------------------------------------------------


def alerts(engine: Engine, brand_ids: Sequence[int] | None, statuses: Sequence[str],
           since: datetime | None = None, until: datetime | None = None,
           limit: int = 200, ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Alerts, most severe first: id, brand_id, story_key, status, severity, title, evidence,
    who acknowledged or resolved them and when; only `ids` when given (a deep link)."""
    a = s.alerts
    where = [a.c.status.in_(list(statuses))]
    if ids is not None:
        where.append(a.c.id.in_(list(ids)))
    if brand_ids is not None:
        where.append(a.c.brand_id.in_(list(brand_ids)))
    if since is not None and until is not None:
        # An alert belongs to a window when it was open at some moment inside it.
        where.append(a.c.opened_at < bound_time(engine, until))
        where.append(or_(a.c.resolved_at.is_(None), a.c.resolved_at >= bound_time(engine, since)))
    stmt = (select(a).where(*where)
            .order_by(a.c.severity.desc(), story_size(a).desc(), a.c.opened_at.desc())
            .limit(limit))
    df = frame(engine, stmt)
    df["evidence"] = df["evidence"].map(lambda v: from_json(v) or {})
    return utc_cols(df, "opened_at", "updated_at", "resolved_at", "acknowledged_at")


def posts_by_ids(engine: Engine, ids: Sequence[int], model: str | None) -> pd.DataFrame:
    """Posts with author and model sentiment, in the order of `ids`."""
    frames = [frame(engine, _post_select(model).where(s.posts.c.id.in_(chunk)))
              for chunk in chunks(ids)]
    if not frames:
        return _empty_posts()
    df = pd.concat(frames, ignore_index=True)
    order = {int(i): n for n, i in enumerate(ids)}
    df = df.sort_values("id", key=lambda c: c.map(order)).reset_index(drop=True)
    return with_brands(engine, utc_cols(df, "created_at"))


# -- posts --------------------------------------------------------------------------------

POST_COLUMNS = ("id", "created_at", "platform", "author_id", "handle", "followers", "text",
                "likes", "reposts", "replies", "quotes", "url", "label", "negative", "positive",
                "gold_label", "brands")
SORTS = {"newest": "Newest", "engagement": "Engagement", "reach": "Reach (author followers)"}


def _post_select(model: str | None, brand_id: int | None = None):
    """Posts with author and sentiment; from one brand's post_brands rows when `brand_id`."""
    p, a, ss, pb = s.posts, s.authors, s.sentiment_scores, s.post_brands
    source = p if brand_id is None else pb.join(
        p, and_(p.c.id == pb.c.post_id, pb.c.brand_id == brand_id))
    source = source.join(a, a.c.id == p.c.author_id, isouter=True)
    if model:
        source = source.outerjoin(
            ss, and_(ss.c.post_id == p.c.id, ss.c.model_version == model))
        sent = [ss.c.label, ss.c.negative, ss.c.positive]
    else:
        sent = [literal(None).label("label"), literal(None).label("negative"),
                literal(None).label("positive")]
    return select(p.c.id, p.c.created_at, p.c.platform, p.c.author_id, a.c.handle, a.c.followers,
                  p.c.text, p.c.likes, p.c.reposts, p.c.replies, p.c.quotes, p.c.url, *sent,
                  p.c.gold_label).select_from(source)


def _empty_posts() -> pd.DataFrame:
    return pd.DataFrame(columns=list(POST_COLUMNS))


def engagement_expr():
    p = s.posts
    return (func.coalesce(p.c.likes, 0) + func.coalesce(p.c.reposts, 0)
            + func.coalesce(p.c.replies, 0) + func.coalesce(p.c.quotes, 0))


def search_posts(engine: Engine, model: str | None, brand_ids: Sequence[int] | None,
                 platforms: Sequence[str] | None, since: datetime, until: datetime,
                 labels: Sequence[str] | None = None, text: str = "", sort: str = "newest",
                 author_id: int | None = None, limit: int = 200,
                 theme: tuple[int, int] | None = None) -> pd.DataFrame:
    """Posts matching the filters, best first by `sort`; at most `limit` rows, with a `brands`
    column (the brands each mentions). `theme`: (brand id, theme id), posts of that theme."""
    stmt = _search(engine, model, brand_ids, platforms, since, until, labels, text, sort,
                   author_id, theme)
    df = utc_cols(frame(engine, stmt.limit(limit)), "created_at")
    return with_brands(engine, df)


def iter_posts(engine: Engine, model: str | None, brand_ids: Sequence[int] | None,
               platforms: Sequence[str] | None, since: datetime, until: datetime,
               labels: Sequence[str] | None = None, text: str = "", sort: str = "newest",
               author_id: int | None = None, chunk: int = 10_000) -> Iterator[pd.DataFrame]:
    """Every post `search_posts` would find, uncapped, as frames of `chunk` rows read from
    one streamed cursor: an export of a million posts never holds them all as rows."""
    stmt = _search(engine, model, brand_ids, platforms, since, until, labels, text, sort,
                   author_id)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk).execute(stmt)
        names = list(result.keys())
        for rows in result.partitions():
            df = utc_cols(pd.DataFrame(rows, columns=names), "created_at")
            yield with_brands(engine, df)


def with_brands(engine: Engine, df: pd.DataFrame) -> pd.DataFrame:
    """`df` with a `brands` column: the names of the brands each post mentions, comma-joined."""
    pb, b = s.post_brands, s.brands
    found: dict[int, list[str]] = {}
    for chunk in chunks([int(i) for i in df["id"]]):
        with engine.connect() as conn:
            for post_id, name in conn.execute(
                    select(pb.c.post_id, b.c.name).join(b, b.c.id == pb.c.brand_id)
                    .where(pb.c.post_id.in_(chunk)).order_by(b.c.name)):
                found.setdefault(post_id, []).append(name)
    df["brands"] = [", ".join(found.get(int(i), ())) for i in df["id"]]
    return df


def _search(engine: Engine, model: str | None, brand_ids: Sequence[int] | None,
            platforms: Sequence[str] | None, since: datetime, until: datetime,
            labels: Sequence[str] | None, text: str, sort: str, author_id: int | None,
            theme: tuple[int, int] | None = None):
    """The posts query both `search_posts` and `iter_posts` run."""
    p, pb, ss = s.posts, s.post_brands, s.sentiment_scores
    one_brand = brand_ids is not None and len(brand_ids) == 1
    # One brand: walk its (brand_id, created_at) index, a fraction of the window's posts.
    when = pb.c.created_at if one_brand else p.c.created_at
    stmt = _post_select(model, brand_ids[0] if one_brand else None).where(
        when >= bound_time(engine, since), when < bound_time(engine, until))
    if brand_ids is not None and len(brand_ids) > 1:
        # EXISTS keeps one row per post when it mentions several of the brands.
        stmt = stmt.where(select(pb.c.post_id).where(
            pb.c.post_id == p.c.id, pb.c.brand_id.in_(list(brand_ids))).exists())
    if author_id is not None:
        stmt = stmt.where(p.c.author_id == author_id)
    if theme is not None:
        pt = s.post_themes
        stmt = stmt.where(select(pt.c.post_id).where(
            pt.c.post_id == p.c.id, pt.c.brand_id == theme[0], pt.c.theme_id == theme[1]).exists())
    if platforms is not None:
        stmt = stmt.where(p.c.platform.in_(list(platforms)))
    if labels is not None and model:
        stmt = stmt.where(ss.c.label.in_(list(labels)))
    if text.strip():
        escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(p.c.text.ilike(f"%{escaped}%", escape="\\"))
    order = {"engagement": engagement_expr().desc(),
             "reach": func.coalesce(s.authors.c.followers, 0).desc()}.get(sort)
    return stmt.order_by(*([order] if order is not None else []), when.desc(), p.c.id.desc())


