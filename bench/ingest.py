"""Bulk import speed: posts/second into SQLite and PostgreSQL, and the Tweets.csv import time.

    python bench/ingest.py [--posts 100000] [--pg URL] [--json]

Each post comes with its author (10 posts per author on average) and one or two interactions
(a repost or reply of an earlier post, and a mention for every third), so it is two to three rows,
written through the same `Store.write` that imports and collectors use, into a fresh database.
PostgreSQL: a fresh database is created on --pg's server (default the local one) and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text

from listener.importers import import_file
from listener.post import Author, Batch, Interaction, Post
from listener.store import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def batches(n_posts: int, size: int = 5000, seed: int = 1):
    rng = random.Random(seed)
    n_authors = max(1, n_posts // 10)
    for start in range(0, n_posts, size):
        b = Batch()
        for i in range(start, min(start + size, n_posts)):
            author = f"u{rng.randrange(n_authors)}"
            if i % size == 0 or rng.random() < 0.3:
                b.authors.append(Author("x", author, handle=f"user_{author}",
                                        followers=int(rng.paretovariate(1.2) * 50)))
            at = T0 + timedelta(seconds=i * 3)
            b.posts.append(Post("x", str(i), author, f"post {i} about @brand{i % 7} ✈️ " * 3, at,
                                likes=rng.randrange(100), reposts=rng.randrange(10)))
            if i:
                parent = rng.randrange(max(0, i - 5000), i)
                kind = "repost" if rng.random() < 0.7 else "reply"
                b.interactions.append(Interaction("x", kind, author, f"u{parent % n_authors}", at,
                                                  str(i), str(parent)))
            if i % 3 == 0:
                b.interactions.append(Interaction("x", "mention", author, f"u{(i * 7) % n_authors}",
                                                  at, str(i), None))
        yield b


def measure(store: Store, n_posts: int) -> dict:
    parts = list(batches(n_posts))
    started = time.perf_counter()
    for b in parts:
        store.write(b)
    seconds = time.perf_counter() - started
    status = store.status()
    assert status["posts"] == n_posts, status
    return {"posts": n_posts, "seconds": round(seconds, 2), "posts_per_s": round(n_posts / seconds),
            "rows": status["posts"] + status["authors"] + status["interactions"]}


def fresh_pg(admin_url: str):
    name = f"undertow_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, name, admin_url.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                    help="admin URL of the PostgreSQL server ('' to skip)")
    ap.add_argument("--tweets-csv", type=Path, default=Path(os.environ.get(
        "UNDERTOW_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
        / "airline" / "Tweets.csv")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        out["sqlite"] = measure(store, args.posts)
        store.close()
        if args.tweets_csv.is_file():
            store = Store.open(f"sqlite:///{tmp}/tweets.db")
            started = time.perf_counter()
            report = import_file(store, args.tweets_csv)
            out["tweets_csv"] = {"posts": report.imported,
                                 "seconds": round(time.perf_counter() - started, 2)}
            store.close()
    if args.pg:
        admin, name, url = fresh_pg(args.pg)
        try:
            store = Store.open(url)
            out["postgresql"] = measure(store, args.posts)
            store.close()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if args.json:
        print(json.dumps(out))
        return
    for name, r in out.items():
        if "posts_per_s" in r:
            print(f"{name:<11} {r['posts']:>9,} posts in {r['seconds']:>6.2f} s = "
                  f"{r['posts_per_s']:>7,} posts/s ({r['rows']:,} rows)")
        else:
            print(f"{name:<11} {r['posts']:>9,} posts in {r['seconds']:>6.2f} s (Tweets.csv import)")


if __name__ == "__main__":
    main()
