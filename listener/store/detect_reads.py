"""What `undertow detect` (listener/jobs/detect.py) reads: brand mentions in time order with
their score, author reach and theme, the bounds of what is scored, influencer ranks, and the
root posts and authors an alert's evidence names. The job itself runs no SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError

from listener.store import Store, schema
from listener.store.scores import current_model_version
from listener.store.sql import as_utc

__all__ = ["Engine", "MentionRow", "handles", "cascade_members_themes", "in_memory", "model_version", "pending", "ranks", "root_posts",
           "rows", "scored_through", "unscored_from"]

IN_CHUNK = 500  # ids per IN (...) lookup


class MentionRow(NamedTuple):
    """The columns of a brand mention as `rows` reads it (one per post and brand). `rows`
    yields plain tuples in this order: a million NamedTuples cost more than the mapping."""

    post_id: int
    brand: str
    at: float  # unix seconds
    label: str | None  # the current model's label, None while unscored
    author_id: int | None
    followers: int | None
    platform: str
    parent_native_id: str | None
    text: str | None  # negative posts' only (their themes are matched on it)
    gold_reason: str | None
    theme: str | None  # the theme `undertow themes` found, if it ran
    created_at: Any  # as the store keeps it (the cursor)


def model_version(store: Store) -> str | None:
    """The model version whose scores detection reads (listener.store.scores)."""
    with store.engine.connect() as conn:
        return current_model_version(conn)


def rows(engine: Engine, since: str | None, version: str | None,
          page_size: int, until: Any = None,
          scored: tuple[Any, Any] | None = None) -> Iterator[list[tuple]]:
    """Brand-tagged posts after `since` (and before `until`), in time order, a page at a time.

    `scored` = (after, through): only posts whose score was written in that span (`after` None:
    any time up to `through`); the late pass reads posts up to `until` scored after `after`.
    """
    with engine.connect() as conn:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        late = scored is not None and scored[0] is not None
        bounds, values = _window(mark, since, until, inclusive=late)
        if scored is not None:
            after, through = scored
            if after is not None:
                # Found through their scores' time (an index), not by scanning every earlier post.
                bounds.append(f"p.id IN (SELECT l.post_id FROM sentiment_scores l WHERE "
                              f"l.model_version = {mark} AND l.scored_at > {mark} "
                              f"AND l.scored_at <= {mark})")
                values += [version or "", after, through]
            # Scores written after the run began wait for the next one (read once, not twice).
            bounds.append(f"(s.scored_at IS NULL OR s.scored_at <= {mark})")
            values.append(through)
        epoch = ("CAST(strftime('%s', p.created_at) AS REAL)" if engine.dialect.name == "sqlite"
                 else "EXTRACT(EPOCH FROM p.created_at)")
        # The text only of negative posts: nothing else reads it (complaint themes), and the
        # other seven in ten rows are cheaper to fetch and send without it.
        sql = (f"SELECT p.id, b.name, {epoch}, s.label, p.author_id, a.followers, p.platform, "
               f"p.parent_native_id, CASE WHEN s.label = 'negative' THEN p.text END, "
               f"p.gold_reason, pt.theme_name, p.created_at "
               f"FROM post_brands pb JOIN posts p ON p.id = pb.post_id "
               f"JOIN brands b ON b.id = pb.brand_id "
               f"LEFT JOIN authors a ON a.id = p.author_id "
               f"LEFT JOIN post_themes pt ON pt.post_id = p.id AND pt.brand_id = pb.brand_id "
               f"LEFT JOIN sentiment_scores s ON s.post_id = p.id AND s.model_version = {mark} "
               + _where(bounds)
               # Total order: a post that mentions two brands comes in the same brand order on
               # every plan and every run, so its story opens under the same brand each time.
               + "ORDER BY p.created_at, p.id, b.name")
        params = (version or "", *values)
        # The driver's own cursor: plain tuples, without a SQLAlchemy Row per mention.
        raw = conn.connection.dbapi_connection
        cursor = raw.cursor()
        try:
            cursor.execute(sql, params)
            while page := cursor.fetchmany(page_size):
                yield page
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _as_sqlalchemy(conn, raw, cursor, sql, exc) from None
        finally:
            cursor.close()


def _as_sqlalchemy(conn: Connection, raw: Any, cursor: Any, sql: str,
                   exc: Exception) -> DBAPIError:
    """A driver error from the raw cursor as SQLAlchemy raises its own: a lost connection is
    invalidated (the pool then drops it instead of rolling back a dead socket, which it logs as
    an error) and flagged, so callers see the database away, not a bug."""
    lost = conn.dialect.is_disconnect(exc, raw, cursor)
    if lost:
        conn.invalidate(exc)
    return DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error,
                               hide_parameters=True, connection_invalidated=lost,
                               dialect=conn.dialect)


def _window(mark: str, since: Any, until: Any,
            inclusive: bool = False) -> tuple[list[str], list[Any]]:
    """Conditions and parameters for posts after `since` and before `until` (either optional;
    `inclusive`: up to and including `until`)."""
    bounds, values = [], []
    for value, op in ((since, ">"), (until, "<=" if inclusive else "<")):
        if value is not None:
            bounds.append(f"p.created_at {op} {mark}")
            values.append(value)
    return bounds, values


def _where(conditions: list[str]) -> str:
    return f"WHERE {' AND '.join(conditions)} " if conditions else ""


def unscored_from(engine: Engine, since: Any, version: str) -> Any:
    """created_at of the first brand mention after `since` without a score of `version`, or None.

    Detection stops there: read before its score exists, a post would count as not negative and
    the cursor would move past it for good (a scoring stage that failed, a model switch that is
    still rescoring, posts collected but not scored yet).
    """
    with engine.connect() as conn:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        # Usually every post is scored: two index counts say so (scores of deleted posts go with
        # them, ON DELETE CASCADE) without probing each mention.
        scored = conn.exec_driver_sql(
            f"SELECT count(*) FROM sentiment_scores WHERE model_version = {mark}", (version,))
        if scored.scalar_one() >= conn.exec_driver_sql("SELECT count(*) FROM posts").scalar_one():
            return None
        bounds, values = _window(mark, since, None)
        unscored = (f"NOT EXISTS (SELECT 1 FROM sentiment_scores s WHERE s.post_id = p.id "
                    f"AND s.model_version = {mark})")
        sql = ("SELECT MIN(p.created_at) FROM post_brands pb JOIN posts p ON p.id = pb.post_id "
               + _where([unscored, *bounds]))
        return conn.exec_driver_sql(sql, (version, *values)).scalar()


def scored_through(engine: Engine, version: str) -> Any:
    """When the newest score of `version` was written (the store's own value), or None."""
    with engine.connect() as conn:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        return conn.exec_driver_sql(
            f"SELECT MAX(scored_at) FROM sentiment_scores WHERE model_version = {mark}",
            (version,)).scalar()


def pending(engine: Engine, since: str | None) -> int:
    """Posts after `since` (a cheap count on the created_at index, to pick how to read them)."""
    with engine.connect() as conn:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        where = f" WHERE created_at > {mark}" if since else ""
        return conn.exec_driver_sql(f"SELECT count(*) FROM posts{where}",
                                    (since,) if since else ()).scalar_one()


def ranks(store: Store, top: int) -> dict[int, int]:
    """The latest global influence run's authors ranked 1..`top`: author id -> rank."""
    r, s = schema.influence_runs, schema.influence_scores
    with store.engine.connect() as conn:
        run = conn.execute(select(r.c.id).where(r.c.brand_id.is_(None))
                           .order_by(r.c.id.desc()).limit(1)).scalar()
        if run is None:
            return {}
        return dict(conn.execute(select(s.c.author_id, s.c.rank).where(
            s.c.run_id == run, s.c.rank <= top)).all())


def in_memory(engine: Engine) -> bool:
    url = engine.url
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or "mode=memory" in str(url))


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    unique = list(dict.fromkeys(ids))
    for i in range(0, len(unique), IN_CHUNK):
        yield unique[i:i + IN_CHUNK]


def root_posts(store: Store, ids: list[int]) -> dict[int, dict]:
    p, a = schema.posts, schema.authors
    found: dict[int, dict] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(ids):
            rows = conn.execute(select(p.c.id, p.c.text, p.c.url, p.c.created_at, p.c.reposts,
                                       p.c.author_id, a.c.handle)
                                .select_from(p.outerjoin(a, a.c.id == p.c.author_id))
                                .where(p.c.id.in_(chunk))).all()
            found.update({r.id: {"id": r.id, "author": r.handle, "author_id": r.author_id,
                                 "text": r.text, "url": r.url,
                                 "created_at": as_utc(r.created_at).isoformat(),
                                 "reposts": r.reposts} for r in rows})
    return found


def handles(store: Store, ids: list[int]) -> dict[int, tuple[str, int | None]]:
    a = schema.authors
    found: dict[int, tuple[str, int | None]] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(ids):
            found.update({r.id: (r.handle, r.followers) for r in conn.execute(
                select(a.c.id, a.c.handle, a.c.followers).where(a.c.id.in_(chunk)))})
    return found


def cascade_members_themes(store: Store, roots: list[int]
                           ) -> tuple[dict[int, set[int]], dict[tuple[int, int], str],
                                      dict[int, str]]:
    """For cascade roots: root -> the root and the posts that repost, quote or reply to it;
    (post, brand) -> the theme `undertow themes` gave it, for those posts; and post -> its
    human reason, where a labelled import gave one."""
    i, pt, p = schema.interactions, schema.post_themes, schema.posts
    members: dict[int, set[int]] = {r: {r} for r in roots}
    themes: dict[tuple[int, int], str] = {}
    reasons: dict[int, str] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(roots):
            for target, source in conn.execute(select(i.c.target_post_id, i.c.source_post_id)
                                               .where(i.c.target_post_id.in_(chunk))):
                if source is not None:
                    members[int(target)].add(int(source))
        posts = [m for group in members.values() for m in group]
        for chunk in _chunks(posts):
            themes.update({(int(r.post_id), int(r.brand_id)): r.theme_name
                           for r in conn.execute(select(pt.c.post_id, pt.c.brand_id,
                                                        pt.c.theme_name)
                                                 .where(pt.c.post_id.in_(chunk)))})
            reasons.update(conn.execute(select(p.c.id, p.c.gold_reason).where(
                p.c.id.in_(chunk), p.c.gold_reason.is_not(None))).tuples().all())
    return members, themes, reasons
