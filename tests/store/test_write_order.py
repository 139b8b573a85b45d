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


def _waiting_on_a_lock(store, pid: int) -> bool:
    with store.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND pid <> :me AND datname = current_database()"), {"me": pid}).scalar())


def test_a_batch_chosen_as_a_deadlocks_victim_is_written_again_whole(pg_store):
    """Another transaction holds one of the batch's accounts and then asks for another the
    batch already locked: PostgreSQL breaks the cycle by failing the batch's transaction
    (40P01). The batch is written again in one transaction, not post by post."""
    from sqlalchemy import event

    store = pg_store
    first = [Post("x", f"t{i}", f"u{i}", f"post {i}", T0) for i in range(2)]
    store.write(Batch(posts=first, authors=[Author("x", f"u{i}") for i in range(2)]))
    low, high = sorted(store.author_id("x", f"u{i}") for i in range(2))
    inserts = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda c, cur, stmt, *a: inserts.append(stmt.split()[2])
                 if stmt.startswith("INSERT INTO") else None)
    other = store.engine.connect()
    tx = other.begin()
    other_pid = other.execute(text("SELECT pg_backend_pid()")).scalar()
    other.execute(text("SELECT id FROM authors WHERE id = :i FOR UPDATE"), {"i": high})
    out: dict = {}
    batch = Batch(posts=[Post("x", f"t{i}", f"u{i}", f"post {i}", T0, likes=5) for i in range(2)],
                  authors=[Author("x", f"u{i}", followers=7) for i in range(2)])
    writer = threading.Thread(target=lambda: out.update(result=store.write(batch)))
    writer.start()
    for _ in range(300):  # the batch has locked `low` and waits for `high`
        if _waiting_on_a_lock(store, other_pid):
            break
        threading.Event().wait(0.02)
    other.execute(text("SELECT id FROM authors WHERE id = :i FOR UPDATE"), {"i": low})
    tx.commit()  # reached only once the batch's transaction was failed (the cycle broken)
    other.close()
    writer.join(60)
    assert out["result"].updated == 2 and not out["result"].skipped
    # The accounts' upsert failed, then the batch again whole: never post by post.
    assert inserts[:3] == ["authors", "authors", "posts"] and inserts.count("posts") == 1, inserts
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT sum(likes) FROM posts")).scalar() == 10
        assert conn.execute(text("SELECT sum(followers) FROM authors")).scalar() == 14
