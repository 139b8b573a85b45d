"""The scoring job: every post once per model version, cached texts, resumable, shared on PostgreSQL."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from listener.jobs.score import score_posts, scoring_text
from listener.post import Batch, Post
from listener.store import schema
from listener.store.scores import count_unscored
from nlp.scorer import SentimentScorer

T0 = datetime(2026, 2, 1, tzinfo=UTC)
TEXTS = ["@united lost my bag again", "great crew, thanks @delta", "flight 123 boards at 5",
         "worst airline ever 😡", "I ❤️ this airport"]


def seed(store, n=60):
    posts = []
    for i in range(n):
        text = TEXTS[i % len(TEXTS)] + ("" if i < 25 else f" #{i}")
        if i % 4 == 3:  # a repost carries its original's words
            text = f"RT @someone{i}: {text}"
        posts.append(Post("x", f"p{i}", f"a{i % 7}", text, T0 + timedelta(minutes=i)))
    store.write(Batch(posts=posts))
    return posts


def stored_scores(store):
    s = schema.sentiment_scores
    with store.engine.connect() as conn:
        return {r.post_id: (r.label, round(r.negative, 5)) for r in conn.execute(select(s))}


def test_scoring_text_drops_the_repost_wrapper():
    assert scoring_text("RT @a_b: hello") == "hello"
    assert scoring_text("not RT @a: x") == "not RT @a: x"


def test_every_post_scored_once_with_the_cache(store, tiny_model):
    posts = seed(store)
    scorer = SentimentScorer(tiny_model)
    report = score_posts(store, scorer, batch_size=16)
    assert report.scored == len(posts) and count_unscored(store, scorer.model_version) == 0
    unique = {scoring_text(p.text) for p in posts}
    assert report.model_calls == len(unique) < len(posts)
    assert score_posts(store, scorer).scored == 0  # nothing left to do
    # Same text, same score, whichever batch it was in.
    by_text = {}
    scores = stored_scores(store)
    for p in posts:
        by_text.setdefault(scoring_text(p.text), set()).add(scores[p.id])
    assert all(len(v) == 1 for v in by_text.values())


def test_kill_and_resume_loses_nothing_and_duplicates_nothing(sqlite_store, tiny_model):
    posts = seed(sqlite_store)
    scorer = SentimentScorer(tiny_model)
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_posts(sqlite_store, scorer, batch_size=10, crash_after=2)
    assert len(stored_scores(sqlite_store)) == 20  # two committed batches survive
    score_posts(sqlite_store, scorer, batch_size=10)
    scores = stored_scores(sqlite_store)
    assert len(scores) == len(posts)
    fresh = SentimentScorer(tiny_model, batch_size=7)
    assert {p.id: scores[p.id][0] for p in posts} == {
        p.id: s.label for p, s in zip(posts, fresh.score([scoring_text(p.text) for p in posts]), strict=True)}


def test_two_scorer_processes_on_postgresql_share_the_work(pg_store, pg_url, tiny_model):
    seed(pg_store, n=400)
    env = {**os.environ, "UNDERTOW_DATABASE_URL": pg_url}
    cmd = [sys.executable, "-m", "listener.cli", "score", "--model", str(tiny_model),
           "--batch-size", "8", "--threads", "1", "--json"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    results = [json.loads(p.communicate(timeout=300)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(r["scored"] for r in results) == 400
    with pg_store.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(schema.sentiment_scores)).scalar()
    assert rows == 400


def test_a_language_the_model_did_not_learn_is_counted_not_scored(store, tiny_model):
    """A Spanish complaint scored by an English model would get a confident, meaningless label:
    it is stored as "language" (never negative or positive) and counted; "any" scores it."""
    spanish = "@iberia mi maleta no llegó y nadie contesta el teléfono desde ayer"
    store.write(Batch(posts=[Post("x", "es1", "a1", spanish, T0),
                             Post("x", "en1", "a2", "@united lost my bag again at the gate", T0)]))
    scorer = SentimentScorer(tiny_model)
    report = score_posts(store, scorer)
    assert report.scored == 2 and report.not_scored_language == 1
    labels = sorted(label for label, _ in stored_scores(store).values())
    assert labels[0] == "language" and labels[1] in ("negative", "neutral", "positive")
    with store.engine.begin() as conn:
        conn.execute(schema.sentiment_scores.delete())
        conn.execute(schema.sentiment_cache.delete())
    report = score_posts(store, scorer, languages=None)
    assert report.not_scored_language == 0 and "language" not in {
        label for label, _ in stored_scores(store).values()}


def test_the_listen_stage_scores_what_was_there_when_it_began(sqlite_store, tiny_model,
                                                              tmp_path, monkeypatch):
    """Under `undertow listen` posts keep arriving while scoring runs; a stage that chased them
    would never end while the stream flows, and detection and alerts would wait behind it."""
    from listener.jobs import score
    from listener.settings import Settings

    seed(sqlite_store, 40)
    settings = Settings.load(env={"UNDERTOW_HOME": str(tmp_path),
                                  "UNDERTOW_SENTIMENT_MODEL": str(tiny_model)},
                             env_file=tmp_path / "absent.env")
    real = score.default_scorer(settings)
    arrived = []

    class Arriving:  # the real model; more posts are collected while its first batch runs
        model_version = real.model_version

        def score(self, texts):
            if not arrived:
                arrived.append(sqlite_store.write(Batch(posts=[
                    Post("x", f"late{i}", "a1", f"late post {i}", T0) for i in range(30)])))
            return real.score(texts)

    monkeypatch.setattr(score, "default_scorer", lambda settings, threads=None: Arriving())
    score.stage(sqlite_store, settings, lambda line: None)
    monkeypatch.undo()
    assert arrived and count_unscored(sqlite_store, real.model_version) == 30
    score.stage(sqlite_store, settings, lambda line: None)  # the next run takes them up
    assert count_unscored(sqlite_store, real.model_version) == 0


def test_the_oldest_unscored_posts_are_scored_first(store, tiny_model):
    """Detection reads mentions in time order and stops at the first without a score: a run
    that scored in id order (ids are hashes) left holes across the whole backlog, and detection
    waited at the oldest until the backlog was empty. Oldest first, the holes are all newer."""
    import random

    rng = random.Random(7)
    minutes = list(range(80))
    rng.shuffle(minutes)  # stored in an order that is neither time nor id order
    posts = [Post("x", f"o{i}", f"a{i % 5}", f"{TEXTS[i % len(TEXTS)]} #{i}",
                  T0 + timedelta(minutes=m // 2)) for i, m in enumerate(minutes)]  # ties too
    store.write(Batch(posts=posts))
    scorer = SentimentScorer(tiny_model)
    by_time = sorted(posts, key=lambda p: (p.created_at, p.id))
    assert [p.id for p in by_time] != sorted(p.id for p in posts)  # the orders differ
    report = score_posts(store, scorer, batch_size=7, limit=30)
    assert report.scored == 30
    assert set(stored_scores(store)) == {p.id for p in by_time[:30]}
    # A post stored later with an older time than the cursor is not skipped by the next run.
    store.write(Batch(posts=[Post("x", "older", "a1", "lost my bag", T0 - timedelta(hours=1))]))
    assert score_posts(store, scorer, batch_size=7, limit=1).scored == 1
    assert by_time[30].id not in stored_scores(store)  # the older one went first
    score_posts(store, scorer, batch_size=7)
    assert count_unscored(store, scorer.model_version) == 0


def test_a_scan_that_starts_where_detection_reads_on_scores_the_rest_after(sqlite_store,
                                                                          tiny_model):
    """`listen` starts each scoring slice where detection reads on (what holds its alerts);
    the posts before that are scored when the scan wraps round, never skipped."""
    from listener.jobs.score import ClaimCursor
    from listener.store.scores import MIN_ID

    posts = seed(sqlite_store, 40)  # one a minute from T0
    scorer = SentimentScorer(tiny_model)
    at = (T0 + timedelta(minutes=30)).replace(tzinfo=None)  # SQLite keeps naive UTC
    report = score_posts(sqlite_store, scorer, batch_size=4, limit=10,
                         cursor=ClaimCursor((at, MIN_ID)))
    assert report.scored == 10
    assert set(stored_scores(sqlite_store)) == {p.id for p in posts[30:40]}
    score_posts(sqlite_store, scorer, batch_size=4, cursor=ClaimCursor((at, MIN_ID)))
    assert count_unscored(sqlite_store, scorer.model_version) == 0
