"""Dialect details in one place: bind marks, times, epochs, chunked IN lists, upserts.

SQLite and PostgreSQL differ in how a driver-level statement marks its parameters, how a
timestamp is stored and turned into seconds, and how an "insert unless present" is spelt. The
store's modules use these helpers instead of writing each difference again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, and_, func, text
from sqlalchemy.dialects import postgresql, sqlite

__all__ = [
    "IN_CHUNK",
    "as_utc",
    "bound_time",
    "brand_scope",
    "bucket",
    "chunks",
    "distinct",
    "driver_time",
    "epoch",
    "in_list",
    "insert_ignore",
    "mark",
    "placeholders",
    "upsert",
]

IN_CHUNK = 900  # ids per IN (...) list: well under SQLite's bound-variable limit


def mark(conn) -> str:
    """The driver's parameter mark for raw SQL: sqlite3 takes ?, psycopg %s."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def placeholders(conn, n: int) -> str:
    return ", ".join([mark(conn)] * n)


def epoch(conn, column: str, real: bool = False) -> str:
    """SQL for a timestamp column as unix seconds (REAL keeps fractions, else whole seconds)."""
    if conn.dialect.name == "sqlite":
        return f"CAST(strftime('%s', {column}) AS {'REAL' if real else 'INTEGER'})"
    return f"EXTRACT(EPOCH FROM {column})"


def driver_time(engine: Engine, dt: datetime):
    """A datetime as the driver should receive it when a statement bypasses SQLAlchemy's types.

    SQLite keeps naive UTC text in SQLAlchemy's own format (with microseconds, so string
    comparison orders correctly); PostgreSQL takes aware datetimes.
    """
    if engine.dialect.name == "sqlite":
        if dt.tzinfo is not UTC and dt.tzinfo is not None:
            dt = dt.astimezone(UTC)
        return dt.isoformat(" ", "microseconds")[:26]
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def bound_time(engine: Engine, dt: datetime) -> datetime:
    """A datetime bound through SQLAlchemy Core: naive UTC on SQLite (its DateTime type stores
    naive text, and an aware value would compare as a different string), aware elsewhere."""
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return dt.replace(tzinfo=None) if engine.dialect.name == "sqlite" else dt


def as_utc(dt: datetime | None) -> datetime | None:
    """Read side of the two above: every datetime leaving the store is aware UTC."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def chunks(ids: Iterable[int], size: int = IN_CHUNK) -> Iterator[list[int]]:
    """Distinct ids, in first-seen order, a bounded IN list at a time."""
    unique = list(dict.fromkeys(int(i) for i in ids))
    for start in range(0, len(unique), size):
        yield unique[start:start + size]


def insert_ignore(conn, table, rows: list[dict]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING on either dialect (a row already there is left alone)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), rows)


def upsert(conn, table, rows: list[dict], keys: Sequence[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET the other columns, on either dialect."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    others = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=others), rows)


def bucket(engine: Engine, col, unit: str):
    """Truncate a time column to 'YYYY-MM-DD HH' (hour) or 'YYYY-MM-DD' (day) text in SQL."""
    if engine.dialect.name == "sqlite":
        return func.substr(col, 1, 13 if unit == "hour" else 10)
    fmt = "YYYY-MM-DD HH24" if unit == "hour" else "YYYY-MM-DD"
    return func.to_char(func.date_trunc(unit, func.timezone("UTC", col)), fmt)


def distinct(bind, table: str, column: str) -> list:
    """DISTINCT via the index on `column`, one seek per value (a loose index scan), so it costs
    the same on a million rows as on ten. `bind`: an Engine or an open Connection."""
    sql = text(f"""
        WITH RECURSIVE v(x) AS (
            SELECT MIN({column}) FROM {table}
            UNION ALL
            SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > v.x) FROM v
            WHERE v.x IS NOT NULL)
        SELECT x FROM v WHERE x IS NOT NULL""")
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return [r[0] for r in conn.execute(sql)]
    return [r[0] for r in bind.execute(sql)]


def in_list(conn, ids: Sequence[int]) -> str:
    """`IN (?, ?, ...)` for a chunk of ids in raw SQL."""
    return f"IN ({placeholders(conn, len(ids))})"


def brand_scope(engine: Engine, brand_ids: Sequence[int], platforms: Sequence[str] | None,
                since: datetime, until: datetime):
    """FROM post_brands [JOIN posts, for the platform filter] WHERE brand in ... AND in window:
    the (source, condition) every brand-and-window read starts from."""
    from listener.store import schema as s

    pb = s.post_brands
    source = pb
    where = [pb.c.brand_id.in_(list(brand_ids)), pb.c.created_at >= bound_time(engine, since),
             pb.c.created_at < bound_time(engine, until)]
    if platforms is not None:
        source = pb.join(s.posts, s.posts.c.id == pb.c.post_id)
        where.append(s.posts.c.platform.in_(list(platforms)))
    return source, and_(*where)
