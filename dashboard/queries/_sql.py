"""Shared SQL building blocks for the dashboard's reads (dialect details live here)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, func, text

from listener.store import schema as s
from listener.store.db import as_utc

_CHUNK = 900  # ids per IN (...): under SQLite's bound-variable limit
LABELS = ("negative", "neutral", "positive")


def db_time(engine: Engine, dt: datetime) -> datetime:
    """A bound datetime as the dialect stores it: naive UTC text on SQLite, aware on PostgreSQL."""
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return dt.replace(tzinfo=None) if engine.dialect.name == "sqlite" else dt


def bucket(engine: Engine, col, unit: str):
    """Truncate a time column to 'YYYY-MM-DD HH' (hour) or 'YYYY-MM-DD' (day) text in SQL."""
    if engine.dialect.name == "sqlite":
        return func.substr(col, 1, 13 if unit == "hour" else 10)
    fmt = "YYYY-MM-DD HH24" if unit == "hour" else "YYYY-MM-DD"
    return func.to_char(func.date_trunc(unit, func.timezone("UTC", col)), fmt)


def parse_bucket(values: pd.Series) -> pd.Series:
    text = values.astype(str)
    text = text.where(text.str.len() > 10, text + " 00")
    return pd.to_datetime(text, format="%Y-%m-%d %H", utc=True)


def frame(engine: Engine, stmt, columns: Sequence[str] | None = None) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(stmt)
        rows = result.all()
        names = list(columns) if columns else list(result.keys())
    return pd.DataFrame(rows, columns=names)


def utc_cols(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for col in cols:
        if col in frame:
            frame[col] = pd.to_datetime(frame[col].map(as_utc), utc=True)
    return frame


def chunks(ids: Sequence[int]):
    ids = list(dict.fromkeys(int(i) for i in ids))
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def from_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def brand_scope(engine: Engine, brand_ids: Sequence[int], platforms: Sequence[str] | None,
                 since: datetime, until: datetime):
    """FROM post_brands [JOIN posts, for the platform filter] WHERE brand in ... AND in window."""
    pb = s.post_brands
    source = pb
    where = [pb.c.brand_id.in_(list(brand_ids)), pb.c.created_at >= db_time(engine, since),
             pb.c.created_at < db_time(engine, until)]
    if platforms is not None:
        source = pb.join(s.posts, s.posts.c.id == pb.c.post_id)
        where.append(s.posts.c.platform.in_(list(platforms)))
    return source, and_(*where)


def distinct(engine: Engine, table: str, column: str) -> list[str]:
    """DISTINCT via the index on `column`, one seek per value (a loose index scan), so it costs
    the same on a million rows as on ten."""
    sql = text(f"""
        WITH RECURSIVE v(x) AS (
            SELECT MIN({column}) FROM {table}
            UNION ALL
            SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > v.x) FROM v
            WHERE v.x IS NOT NULL)
        SELECT x FROM v WHERE x IS NOT NULL""")
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sql)]
