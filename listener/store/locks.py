"""Locks that make parallel jobs safe: one writer where one is right, and complete brand tags.

Two kinds:

- `job_lock(engine, name)`: a session lock for a job that must run alone on a store (the
  detector: its state is one row, and two replays would race on it). PostgreSQL:
  `pg_try_advisory_lock` on a connection held for the job; SQLite: an exclusive `flock` on a
  file beside the database. Both are released by the operating system or the server when the
  process dies, even by `kill -9`, so a crash never leaves a stale lock (a lock *row* would).
  A second run refuses at once with `JobBusy` instead of failing half-way with an IntegrityError.
- `tag_lock(conn, exclusive)`: a transaction lock between writers that tag posts and a brand
  change that re-tags every stored post. A writer holds it shared and reads the brands inside
  its own transaction; a re-tag holds it exclusive for the brand change and the re-tag
  together. So a batch is either committed before the re-tag reads posts, or tags with the new
  query itself: no post falls between the two. On SQLite the database write lock already
  serialises them (a write transaction holds it from its first statement), so this is a no-op.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from listener.errors import JobBusy

__all__ = ["job_lock", "tag_lock"]

_TAG_KEY = zlib.crc32(b"undertow:brand-tags")


def _key(name: str) -> int:
    return zlib.crc32(f"undertow:job:{name}".encode())


def _sqlite_lock_path(engine: Engine, name: str) -> Path | None:
    db = engine.url.database
    if not db or db == ":memory:" or "mode=memory" in str(engine.url):
        return None  # one process owns an in-memory database
    return Path(db).expanduser().with_name(Path(db).name + f".{name}.lock")


@contextmanager
def job_lock(engine: Engine, name: str) -> Iterator[None]:
    """Hold the store-wide lock `name` for the block, or raise JobBusy if another run has it."""
    busy = JobBusy(f"another `undertow {name}` is running on this database; it runs one at a "
                   f"time (wait for it to finish, or stop it, then run this again)")
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _key(name)}).scalar()
            conn.commit()
            if not got:
                raise busy
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(name)})
                conn.commit()
        return
    path = _sqlite_lock_path(engine, name)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        yield
    finally:
        os.close(fd)  # closing releases the flock


def tag_lock(conn: Connection, exclusive: bool = False) -> None:
    """Take the brand-tag lock until the end of `conn`'s transaction (see the module docstring)."""
    if conn.dialect.name != "postgresql":
        return
    fn = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    conn.execute(text(f"SELECT {fn}(:k)"), {"k": _TAG_KEY})
