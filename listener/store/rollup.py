"""Hourly mention counts kept beside the posts, so the dashboard reads aggregates, not posts.

`mention_rollup` holds, per (brand, hour, platform), how many posts mention the brand
(`model_version` and `label` empty) and how many of them each sentiment model scored with each
label. Database triggers on `post_brands`, `sentiment_scores` and `posts` append +1/-1 rows to
`mention_deltas` inside the very transaction that changes a tag or a score, so every path that
writes them (collection, import, scoring, re-tagging, retention, erasure, and bulk SQL such as
the dashboard benchmark's) keeps the counts exact without having to remember to. Appending
instead of updating a counter row means parallel writers and scorers never wait on each other
for a hot hour, nor deadlock on two. `compact` folds the deltas into the rollup (jobs call it
after they write); a reader adds the deltas still pending, so a count is exact either way.

A label count is one per (tag, score) pair: whichever of the two is written second (or
deleted first) adds (or removes) it. On PostgreSQL two transactions could each miss the other's
uncommitted half, so the writers of scores take the brand-tag lock shared, as the taggers do,
and a re-tag (exclusive) never runs beside them (`listener.store.locks`).
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, text

__all__ = ["HOUR_FORMAT", "ceil_hour", "compact", "ensure", "floor_hour", "hour_key", "install",
           "rebuild", "uninstall"]

HOUR_FORMAT = "%Y-%m-%d %H"  # the rollup's hour key; sorts as the hours do
_COMPACT_KEY = zlib.crc32(b"undertow:mention-rollup")
_COLS = "brand_id, hour, platform, model_version, label"


def hour_key(dt: datetime) -> str:
    """The rollup key of the hour holding `dt` (UTC)."""
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return dt.strftime(HOUR_FORMAT)


def floor_hour(dt: datetime) -> datetime:
    return dt.replace(minute=0, second=0, microsecond=0)


def ceil_hour(dt: datetime) -> datetime:
    down = floor_hour(dt)
    return down if down == dt else down + timedelta(hours=1)


def _hour_sql(dialect: str, column: str) -> str:
    """SQL for a stored time's hour key; the same text `listener.store.sql.bucket` gives."""
    if dialect == "sqlite":
        return f"substr({column}, 1, 13)"
    return f"to_char(timezone('UTC', {column}), 'YYYY-MM-DD HH24')"


def _sqlite_triggers() -> list[str]:
    h_new, h_old = _hour_sql("sqlite", "NEW.created_at"), _hour_sql("sqlite", "OLD.created_at")
    h_pb = _hour_sql("sqlite", "pb.created_at")
    ins = f"INSERT INTO mention_deltas ({_COLS}, n)"

    def tag(row: str, hour: str, sign: int) -> str:
        return (f"{ins} SELECT {row}.brand_id, {hour}, p.platform, '', '', {sign} FROM posts p "
                f"WHERE p.id = {row}.post_id; "
                f"{ins} SELECT {row}.brand_id, {hour}, p.platform, s.model_version, s.label, "
                f"{sign} FROM posts p JOIN sentiment_scores s ON s.post_id = p.id "
                f"WHERE p.id = {row}.post_id;")

    def score(row: str, sign: int) -> str:
        return (f"{ins} SELECT pb.brand_id, {h_pb}, p.platform, {row}.model_version, "
                f"{row}.label, {sign} FROM post_brands pb JOIN posts p ON p.id = pb.post_id "
                f"WHERE pb.post_id = {row}.post_id;")

    return [
        f"CREATE TRIGGER mention_rollup_tag_added AFTER INSERT ON post_brands "
        f"BEGIN {tag('NEW', h_new, 1)} END",
        f"CREATE TRIGGER mention_rollup_tag_removed AFTER DELETE ON post_brands "
        f"BEGIN {tag('OLD', h_old, -1)} END",
        f"CREATE TRIGGER mention_rollup_score_added AFTER INSERT ON sentiment_scores "
        f"BEGIN {score('NEW', 1)} END",
        f"CREATE TRIGGER mention_rollup_score_removed AFTER DELETE ON sentiment_scores "
        f"BEGIN {score('OLD', -1)} END",
        f"CREATE TRIGGER mention_rollup_score_changed AFTER UPDATE OF post_id, model_version, "
        f"label ON sentiment_scores BEGIN {score('OLD', -1)} {score('NEW', 1)} END",
        # A post's tags and scores go before it does, while its platform can still be read
        # (a foreign-key cascade would remove them after, when the post is gone).
        "CREATE TRIGGER mention_rollup_post_removed BEFORE DELETE ON posts BEGIN "
        "DELETE FROM sentiment_scores WHERE post_id = OLD.id; "
        "DELETE FROM post_brands WHERE post_id = OLD.id; END",
    ]


def _postgresql_triggers() -> list[str]:
    h_r, h_pb = _hour_sql("postgresql", "r.created_at"), _hour_sql("postgresql", "pb.created_at")
    ins = f"INSERT INTO mention_deltas ({_COLS}, n)"

    def score(row: str, sign: str) -> str:
        return (f"{ins} SELECT pb.brand_id, {h_pb}, p.platform, {row}.model_version, "
                f"{row}.label, {sign} FROM post_brands pb JOIN posts p ON p.id = pb.post_id "
                f"WHERE pb.post_id = {row}.post_id;")

    return [
        f"""CREATE OR REPLACE FUNCTION undertow_rollup_tag() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE r record; sign integer;
        BEGIN
          IF TG_OP = 'INSERT' THEN r := NEW; sign := 1; ELSE r := OLD; sign := -1; END IF;
          {ins} SELECT r.brand_id, {h_r}, p.platform, '', '', sign FROM posts p
            WHERE p.id = r.post_id
          UNION ALL SELECT r.brand_id, {h_r}, p.platform, s.model_version, s.label, sign
            FROM posts p JOIN sentiment_scores s ON s.post_id = p.id WHERE p.id = r.post_id;
          RETURN NULL;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION undertow_rollup_score() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP IN ('DELETE', 'UPDATE') THEN {score('OLD', '-1')} END IF;
          IF TG_OP IN ('INSERT', 'UPDATE') THEN {score('NEW', '1')} END IF;
          RETURN NULL;
        END $$""",
        """CREATE OR REPLACE FUNCTION undertow_rollup_post() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM sentiment_scores WHERE post_id = OLD.id;
          DELETE FROM post_brands WHERE post_id = OLD.id;
          RETURN OLD;
        END $$""",
        "CREATE TRIGGER mention_rollup_tag AFTER INSERT OR DELETE ON post_brands "
        "FOR EACH ROW EXECUTE FUNCTION undertow_rollup_tag()",
        "CREATE TRIGGER mention_rollup_score AFTER INSERT OR DELETE OR UPDATE OF post_id, "
        "model_version, label ON sentiment_scores "
        "FOR EACH ROW EXECUTE FUNCTION undertow_rollup_score()",
        "CREATE TRIGGER mention_rollup_post BEFORE DELETE ON posts "
        "FOR EACH ROW EXECUTE FUNCTION undertow_rollup_post()",
    ]


def install(conn: Connection) -> None:
    """Create the triggers that keep `mention_deltas` in step (the migration calls this)."""
    ddl = _postgresql_triggers() if conn.dialect.name == "postgresql" else _sqlite_triggers()
    for statement in ddl:
        conn.exec_driver_sql(statement)


_SQLITE_NAMES = ("tag_added", "tag_removed", "score_added", "score_removed", "score_changed",
                 "post_removed")
_PG_NAMES = ("tag", "score", "post")


def ensure(conn: Connection) -> bool:
    """Reinstall the triggers and recount when any is missing; True when it had to.

    A later migration that rebuilds `posts`, `post_brands` or `sentiment_scores` (Alembic's
    batch mode on SQLite copies a table and drops the old one) drops its triggers with it;
    `Store.open` runs this after migrating, so the counts never silently stop following.
    """
    if conn.dialect.name == "postgresql":
        names = [f"mention_rollup_{n}" for n in _PG_NAMES]
        found = conn.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname = ANY(:n) "
                                  "AND NOT tgisinternal"), {"n": names}).scalar()
    else:
        names = [f"mention_rollup_{n}" for n in _SQLITE_NAMES]
        found = conn.execute(text(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN "
            f"({', '.join(repr(n) for n in names)})")).scalar()
    wanted = len(names)
    if found == wanted:
        return False
    uninstall(conn)
    install(conn)
    rebuild(conn)
    return True


def uninstall(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        for name, table in zip(_PG_NAMES, ("post_brands", "sentiment_scores", "posts"),
                               strict=True):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS mention_rollup_{name} ON {table}")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS undertow_rollup_{name}()")
        return
    for name in _SQLITE_NAMES:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS mention_rollup_{name}")


def rebuild(conn: Connection) -> None:
    """Recount the rollup from the posts (a store migrated to it, or a repair)."""
    hour = _hour_sql(conn.dialect.name, "pb.created_at")
    conn.exec_driver_sql("DELETE FROM mention_deltas")
    conn.exec_driver_sql("DELETE FROM mention_rollup")
    conn.exec_driver_sql(
        f"INSERT INTO mention_rollup ({_COLS}, posts) "
        f"SELECT pb.brand_id, {hour}, p.platform, '', '', count(*) FROM post_brands pb "
        f"JOIN posts p ON p.id = pb.post_id GROUP BY pb.brand_id, {hour}, p.platform")
    conn.exec_driver_sql(
        f"INSERT INTO mention_rollup ({_COLS}, posts) "
        f"SELECT pb.brand_id, {hour}, p.platform, s.model_version, s.label, count(*) "
        f"FROM post_brands pb JOIN posts p ON p.id = pb.post_id "
        f"JOIN sentiment_scores s ON s.post_id = pb.post_id "
        f"GROUP BY pb.brand_id, {hour}, p.platform, s.model_version, s.label")


def compact(engine: Engine) -> None:
    """Fold the pending deltas into `mention_rollup`, atomically (readers see one or the
    other). On PostgreSQL a run that finds another compacting leaves the work to it."""
    upsert = (f"ON CONFLICT ({_COLS}) DO UPDATE SET "
              "posts = mention_rollup.posts + excluded.posts")
    with engine.begin() as conn:
        if conn.exec_driver_sql("SELECT 1 FROM mention_deltas LIMIT 1").first() is None:
            return  # nothing pending: no write lock taken
        if conn.dialect.name == "postgresql":
            got = conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                               {"k": _COMPACT_KEY}).scalar()
            if not got:
                return
            # One statement: the rows it deletes are exactly the rows it adds up.
            conn.exec_driver_sql(
                f"WITH moved AS (DELETE FROM mention_deltas RETURNING {_COLS}, n) "
                f"INSERT INTO mention_rollup ({_COLS}, posts) "
                f"SELECT {_COLS}, sum(n) FROM moved GROUP BY {_COLS} ORDER BY {_COLS} {upsert}")
            return
        # SQLite: the INSERT takes the write lock, so no delta can arrive before the DELETE.
        conn.exec_driver_sql(
            f"INSERT INTO mention_rollup ({_COLS}, posts) SELECT {_COLS}, sum(n) "
            f"FROM mention_deltas WHERE 1 GROUP BY {_COLS} {upsert}")
        conn.exec_driver_sql("DELETE FROM mention_deltas")
