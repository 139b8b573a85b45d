"""Shared by the benchmarks that fill a large SQLite store directly (dashboard, detect_speed)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path


def bulk_connect(path: Path | str) -> sqlite3.Connection:
    """A connection tuned for a one-off bulk fill: durability does not matter for a bench store."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    return con


def insert_authors(con: sqlite3.Connection, author_ids: Sequence, followers: Sequence,
                   now: str) -> None:
    """Authors `user_<i>` on platform x with the given ids and follower counts."""
    con.executemany(
        "INSERT INTO authors (id, platform, native_id, handle, followers, updated_at) "
        "VALUES (?, 'x', ?, ?, ?, ?)",
        [(int(a), f"a{i}", f"user_{i}", int(f), now)
         for i, (a, f) in enumerate(zip(author_ids, followers, strict=True))])
