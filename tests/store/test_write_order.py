"""Two writers upserting the same accounts and posts at once (the X stream writer and a search
pass refetching what it stored) on PostgreSQL: rows go in key order, so they wait for each
other and never deadlock (40P01), which sent a whole batch down the post-by-post path."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from listener.post import Author, Batch, Post

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _deadlocks(store) -> int:
    with store.engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
        return conn.execute(text("SELECT deadlocks FROM pg_stat_database "
                                 "WHERE datname = current_database()")).scalar()


def _batch(rng: random.Random, round_: int) -> Batch:
    """The same 150 accounts and posts as the other writer's, shuffled, with fresh counts."""
    ids = list(range(150))
    rng.shuffle(ids)
    return Batch(
        posts=[Post("x", f"t{i}", f"u{i}", f"@united seat {i}", T0 + timedelta(seconds=i),
                    likes=round_) for i in ids],
        authors=[Author("x", f"u{i}", f"user{i}", followers=round_) for i in ids])


def test_concurrent_overlapping_writes_do_not_deadlock(pg_store):
    pg_store.add_brand("United", "@united")
    before, errors = _deadlocks(pg_store), []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for round_ in range(25):
                pg_store.write(_batch(rng, round_))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert _deadlocks(pg_store) - before == 0
    assert pg_store.status()["posts"] == 150
