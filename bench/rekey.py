"""How long migration 0014 (re-keying every author id) takes on a store of N posts.

Builds a store at revision 0010 through that revision's own writer (unkeyed author ids):
N synthetic posts by N/5 authors, one mention each, one influence run over every author and
an alert naming 25 of them; then times the open that migrates it (the re-keying in one
transaction, then the compaction that overwrites the old ids' pages). SQLite by default, or
`--database URL` (an empty PostgreSQL database: its schema is replaced).
Run: .venv/bin/python bench/rekey.py --posts 200000 [--database URL]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `graph` is the library, not bench/graph.py

from listener.post import Batch, Interaction, Post, stable_id  # noqa: E402
from listener.store import Store, db  # noqa: E402
from listener.store.alerts import upsert_story  # noqa: E402

KEY = b"bench-rekey-key-0123456789abcdef"


class Unkeyed:
    check = "unkeyed"

    def __call__(self, platform: str, native_id: str) -> int:
        return stable_id(platform, native_id)

    def derive(self, purpose: bytes) -> bytes:
        return b"bench"


def build(url: str, posts: int) -> int:
    engine = db.create(url)
    db.migrate(engine, KEY, revision="0010")
    store = Store(engine)
    store._author_ids = Unkeyed()
    brand, _ = store.add_brand("Acme", "acme")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    authors = max(1, posts // 5)
    for start in range(0, posts, 5000):
        idx = range(start, min(posts, start + 5000))
        store.write(Batch(
            [Post("x", f"p{i}", f"a{i % authors}", f"acme post {i} @a{(i * 7) % authors}",
                  at + timedelta(seconds=i)) for i in idx],
            interactions=[Interaction("x", "mention", f"a{i % authors}", f"a{(i * 7) % authors}",
                                      at + timedelta(seconds=i), f"p{i}") for i in idx]))
    with engine.begin() as conn:
        run = conn.execute(text("INSERT INTO influence_runs (params, created_at) VALUES "
                                "(:p, :t) RETURNING id"), {"p": "{}", "t": at}).scalar()
        conn.execute(text("INSERT INTO influence_scores (run_id, author_id, rank, influence, "
                          "components) VALUES (:r, :a, :k, 1.0, '{}')"),
                     [{"r": run, "a": stable_id("x", f"a{i}"), "k": i + 1} for i in range(authors)])
    upsert_story(store, brand.id, "s", 0.9, "story", {"influencers": [
        {"author_id": stable_id("x", f"a{i}"), "rank": i + 1} for i in range(min(25, authors))]})
    store.close()
    return authors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=200_000)
    ap.add_argument("--database", default=None)
    args = ap.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp()}/rekey.db"
    if args.database:
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                               isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    t = time.perf_counter()
    authors = build(url, args.posts)
    print(f"built {args.posts:,} posts, {authors:,} authors at 0010 in "
          f"{time.perf_counter() - t:.1f} s")
    marks: dict[str, float] = {}

    class Mark(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            marks["rekeyed"] = time.perf_counter()

    log = logging.getLogger("undertow.rekey")
    log.setLevel(logging.INFO)
    log.addHandler(Mark())
    t = time.perf_counter()
    store = Store.open(url, id_key=KEY)
    total = time.perf_counter() - t
    store.close()
    print(f"open with migration 0014: {total:.1f} s (re-keying {marks['rekeyed'] - t:.1f} s, "
          f"then commit and compaction {total - (marks['rekeyed'] - t):.1f} s) on "
          f"{'SQLite' if url.startswith('sqlite') else 'PostgreSQL'}")


if __name__ == "__main__":
    main()
