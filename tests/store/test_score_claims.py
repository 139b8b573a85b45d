"""Scoring claims on a real PostgreSQL server: they never hold back a collector's writes.

A scorer claims its posts with per-post advisory locks and holds them while the model runs;
here the "model" blocks until the test lets it go, so the claim is held for as long as the test
needs. Meanwhile a collector re-stores the claimed posts (a refetch, an edit) and an erasure
deletes one, on their own connections: each must finish at once, and the scorer must then
write no score that describes words no longer stored, and no score of a deleted post.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, text

from listener.post import Batch, Post, stable_id
from listener.store import schema
from listener.store.scores import ClaimCursor, _claim, count_unscored, score_batch
from listener.store.writer import text_hash

T0 = datetime(2026, 3, 1, tzinfo=UTC)
BOUND_S = 3.0  # a write that waited for the model would take until the test releases it (30 s)


def _posts(n: int, likes: int = 0, edit: dict[int, str] | None = None) -> list[Post]:
    edit = edit or {}
    return [Post("x", f"n{i}", f"a{i % 3}", edit.get(i, f"post number {i} about @united"),
                 T0 + timedelta(minutes=i), likes=likes) for i in range(n)]


class HeldModel:
    """Scores every text neutral, but only once `release` is set: the claim stays held."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.texts: list[str] = []

    def __call__(self, texts):
        self.texts += texts
        self.started.set()
        assert self.release.wait(30), "the test never released the model"
        return [("neutral", 0.1, 0.8, 0.1) for _ in texts]


def _in_thread(fn) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run():
        t = time.monotonic()
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            out["error"] = exc
        out["seconds"] = time.monotonic() - t

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, out


def _scores(store) -> dict[int, int]:
    s = schema.sentiment_scores
    with store.engine.connect() as conn:
        return dict(conn.execute(select(s.c.post_id, func.count()).group_by(s.c.post_id)).all())


def test_collector_upserts_and_deletes_do_not_wait_for_a_scorers_claim(pg_store):
    pg_store.write(Batch(posts=_posts(20)))
    model = HeldModel()
    scorer, scored = _in_thread(lambda: score_batch(pg_store, "m", 64, model))
    assert model.started.wait(30), scored
    try:
        # The same posts refetched with new engagement, one of them edited: an upsert of every
        # claimed post. Then an erasure-like delete of another claimed post.
        writer, wrote = _in_thread(lambda: pg_store.write(
            Batch(posts=_posts(20, likes=5, edit={3: "post number 3, edited: @united lost it"}))))
        writer.join(BOUND_S)
        assert not writer.is_alive(), "the collector's upsert waited for the scorer's claim"
        assert "error" not in wrote and wrote["value"].updated == 20

        def erase():
            with pg_store.engine.begin() as conn:
                return conn.execute(delete(schema.posts).where(
                    schema.posts.c.id == stable_id("x", "n7"))).rowcount
        eraser, erased = _in_thread(erase)
        eraser.join(BOUND_S)
        assert not eraser.is_alive(), "a delete of a claimed post waited for the scorer"
        assert erased.get("value") == 1
    finally:
        model.release.set()
        scorer.join(60)
    assert "error" not in scored, scored.get("error")
    assert len(model.texts) == 20  # it did score the old texts of all 20...
    assert scored["value"].scored == 18  # ...but wrote neither the edited nor the deleted one
    edited, gone = stable_id("x", "n3"), stable_id("x", "n7")
    got = _scores(pg_store)
    assert set(got) == {stable_id("x", f"n{i}") for i in range(20)} - {edited, gone}
    assert set(got.values()) == {1}
    c = schema.sentiment_cache
    with pg_store.engine.connect() as conn:
        hashes = set(conn.execute(select(c.c.text_hash)).scalars())
        likes = set(conn.execute(select(schema.posts.c.likes)).scalars())
    assert text_hash("post number 7 about @united") not in hashes  # nothing of the erased text
    assert likes == {5}
    # The edited post stays unscored until a later pass reads what is stored now.
    assert count_unscored(pg_store, "m") == 1
    model2 = HeldModel()
    model2.release.set()
    cursor = ClaimCursor()
    while score_batch(pg_store, "m", 64, model2, cursor=cursor) is not None:
        pass
    assert model2.texts == ["post number 3, edited: @united lost it"]
    assert set(_scores(pg_store).values()) == {1} and count_unscored(pg_store, "m") == 0


def test_a_killed_scorers_claims_are_scored_by_another_exactly_once(pg_store):
    pg_store.write(Batch(posts=_posts(30)))
    # A scorer that claimed its batch and then died: its connection holds the claims until the
    # server ends it (what a kill -9 does: the backend sees its client gone).
    dead = pg_store.engine.connect()
    dead_pid = dead.execute(text("SELECT pg_backend_pid()")).scalar()
    held, _ = _claim(dead, "m", 12, None)
    assert len(held) == 12
    model = HeldModel()
    model.release.set()
    cursor = ClaimCursor()
    # While the claims are held, the other scorer scores everything else and waits for them.
    for _ in range(200):
        done = score_batch(pg_store, "m", 64, model, cursor=cursor)
        assert done is not None, "a scorer quit while posts another holds were unscored"
        if count_unscored(pg_store, "m") == 12:
            break
    assert {t for t in model.texts} == {p.text for p in _posts(30)} - {
        row[1] for row in held}
    with pg_store.engine.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": dead_pid}).scalar()
    dead.invalidate()
    deadline = time.monotonic() + 30
    while score_batch(pg_store, "m", 64, model, cursor=cursor) is not None:
        assert time.monotonic() < deadline
    got = _scores(pg_store)
    assert len(got) == 30 and set(got.values()) == {1}
    assert len(model.texts) == 30  # each text read by the model once
