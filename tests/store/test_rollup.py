"""The mention rollup counts what the posts say, through every path that changes tags or scores.

A real store on SQLite and PostgreSQL: posts written by `Store.write`, scored by `score_batch`,
then re-tagged, edited, pruned and erased. After each step the Overview's counts from the rollup
(`mention_counts`) must equal those counted from the posts (`mention_counts_raw`), for windows
on and off the hour, per hour and per day, with and without the platform filter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import text

from dashboard.queries import mention_counts, mention_counts_raw, negative_texts
from listener.post import Author, Batch, Post
from listener.store import rollup
from listener.store.erasure import erase_post
from listener.store.retention import prune
from listener.store.scores import ClaimCursor, score_batch
from listener.store.sql import as_utc

T0 = datetime(2026, 2, 1, tzinfo=UTC)
MODEL = "rule-v1"
WORDS = ["acme late again", "globex was great", "acme and globex both fine", "initech broke",
         "acme refund please", "globex lost it"]


def _label(texts):
    """A scorer by rule (the model is not what is under test): 'late'/'lost'/'broke' are
    negative, 'great' positive, the rest neutral."""
    out = []
    for t in texts:
        lab = ("negative" if any(w in t for w in ("late", "lost", "broke"))
               else "positive" if "great" in t else "neutral")
        p = {"negative": (0.8, 0.1, 0.1), "neutral": (0.1, 0.8, 0.1),
             "positive": (0.1, 0.1, 0.8)}[lab]
        out.append((lab, *p))
    return out


def _posts(n: int, start: int = 0, minutes: int = 37) -> Batch:
    b = Batch(authors=[Author("x", f"a{i}", handle=f"user{i}") for i in range(5)]
              + [Author("reddit", f"r{i}", handle=f"red{i}") for i in range(2)])
    for i in range(start, start + n):
        platform = "reddit" if i % 4 == 3 else "x"
        author = f"r{i % 2}" if platform == "reddit" else f"a{i % 5}"
        b.posts.append(Post(platform, f"p{i}", author, WORDS[i % len(WORDS)],
                            T0 + timedelta(minutes=minutes * i), collected_at=T0))
    return b


def _score(store) -> None:
    cursor = ClaimCursor()
    while score_batch(store, MODEL, 7, _label, cursor=cursor) is not None:
        pass


def _same(store, ids) -> None:
    """Rollup and raw counts agree on a spread of windows (and pending deltas do not matter)."""
    eng = store.engine
    windows = [
        (T0, T0 + timedelta(days=2), T0 - timedelta(days=1), "hour", None),
        (T0 + timedelta(hours=5), T0 + timedelta(hours=30), T0, "hour", ("x",)),
        (T0 + timedelta(hours=7, minutes=13), T0 + timedelta(hours=40, minutes=50),
         T0 + timedelta(minutes=31), "hour", None),
        (T0 + timedelta(minutes=10), T0 + timedelta(minutes=50), T0, "hour", ("reddit",)),
        (T0, T0 + timedelta(days=9), T0 - timedelta(days=9), "day", None),
    ]
    for since, until, prev, unit, platforms in windows:
        for model in (None, MODEL):
            got = mention_counts(eng, model, ids, platforms, since, until, prev, unit)
            want = mention_counts_raw(eng, model, ids, platforms, since, until, prev, unit)
            assert _norm(got) == _norm(want), (since, until, unit, platforms, model)


def _norm(df: pd.DataFrame) -> list[tuple]:
    """The counts as sorted plain rows (brand, period, hour or day, label, posts)."""
    return sorted((int(r.brand_id), r.period, pd.Timestamp(r.time).isoformat(), r.label or "",
                   int(r.posts)) for r in df.itertuples())


def _pending(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM mention_deltas")).scalar()


def _total(store, label: str = "") -> int:
    with store.engine.connect() as conn:
        return conn.execute(text(
            "SELECT coalesce(sum(posts), 0) FROM mention_rollup WHERE label = :l"),
            {"l": label}).scalar()


def test_the_rollup_follows_every_write_path(store):
    store.add_brand("Acme", "acme", "shops")
    store.add_brand("Globex", "globex", "shops")
    store.write(_posts(120))
    ids = tuple(b.id for b in store.brands())
    assert _pending(store) == 0  # the write folded its deltas in
    with store.engine.connect() as conn:
        tags = conn.execute(text("SELECT count(*) FROM post_brands")).scalar()
    assert _total(store) == tags > 0
    _same(store, ids)

    _score(store)
    assert _total(store, "negative") > 0
    _same(store, ids)

    # A brand added after scoring: its tags pair with scores already there.
    store.add_brand("Initech", "initech", None)
    ids = tuple(b.id for b in store.brands())
    _same(store, ids)
    # A changed query re-tags: old tags out, new ones in.
    store.edit_brand("Globex", query="globex AND NOT lost")
    _same(store, ids)
    # Posts whose own account is the brand's are its voice, not mentions.
    store.set_accounts(store.brand("Acme"), ["x:user1"])
    _same(store, ids)

    # A re-collected post with new words loses its scores (and maybe a brand).
    edited = _posts(2, start=10)
    edited.posts[0].text = "nothing about anyone now"
    store.write(edited)
    _same(store, ids)

    # Late posts, then scored: they land in old hours.
    store.write(_posts(30, start=500, minutes=-53))
    _score(store)
    _same(store, ids)

    erase_post(store, "x", "p4", b"k")
    _same(store, ids)
    store.remove_brand("Initech")
    ids = tuple(b.id for b in store.brands())
    _same(store, ids)

    # Retention deletes posts with their tags and scores; the counts go with them.
    report = prune(store, lambda _p: 1, now=T0 + timedelta(days=1, hours=13))
    assert report.removed["posts"] > 0
    _same(store, ids)

    # Deltas not yet folded in count too (a reader never waits for a job).
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM sentiment_scores WHERE label = 'neutral'"))
    assert _pending(store) > 0
    _same(store, ids)
    store.compact_rollup()
    assert _pending(store) == 0
    _same(store, ids)


def test_a_store_filled_before_the_rollup_is_counted_on_open(store):
    store.add_brand("Acme", "acme", None)
    store.write(_posts(40))
    _score(store)
    with store.engine.begin() as conn:
        rollup.uninstall(conn)  # as a table rebuild by a later migration would
        conn.execute(text("DELETE FROM mention_rollup"))
    store.write(_posts(10, start=40))  # written without triggers: the rollup misses them
    with store.engine.begin() as conn:
        assert rollup.ensure(conn) is True  # what Store.open runs after migrating
        assert rollup.ensure(conn) is False
    _same(store, (store.brand("Acme").id,))


@pytest.mark.parametrize("when", [T0 + timedelta(minutes=59, seconds=59, microseconds=999999),
                                  T0 + timedelta(hours=1)])
def test_hour_keys_match_the_bucket_of_stored_times(store, when):
    store.add_brand("Acme", "acme", None)
    b = _posts(0)
    b.posts.append(Post("x", "edge", "a0", "acme late", when))
    store.write(b)
    with store.engine.connect() as conn:
        hours = [r[0] for r in conn.execute(text("SELECT hour FROM mention_rollup"))]
    assert hours == [rollup.hour_key(when)]


def test_the_newest_texts_read_from_where_the_rollup_says_are_the_newest(store):
    """negative_texts starts reading where the rollup says the newest `limit` reach back to;
    what it returns must be what sorting every scored mention in the window would give."""
    store.add_brand("Acme", "acme", None)
    store.add_brand("Globex", "globex", None)
    store.write(_posts(200))
    _score(store)
    ids = tuple(b.id for b in store.brands())
    since, until = T0 + timedelta(hours=3, minutes=20), T0 + timedelta(hours=100, minutes=5)
    with store.engine.connect() as conn:
        every = conn.execute(text(
            "SELECT p.created_at, p.text, s.label, p.platform FROM post_brands pb "
            "JOIN posts p ON p.id = pb.post_id JOIN sentiment_scores s ON s.post_id = p.id "
            "WHERE s.model_version = :m"), {"m": MODEL}).all()
    for platforms in (None, ("x",)):
        for limit in (3, 17, 1000):
            neg, other = negative_texts(store.engine, MODEL, ids, platforms, since, until, limit)
            for got, negative in ((neg, True), (other, False)):
                rows = sorted(((as_utc(r[0]) if not isinstance(r[0], str) else
                                datetime.fromisoformat(r[0]).replace(tzinfo=UTC)), r[1])
                              for r in every if (r[2] == "negative") == negative
                              and (platforms is None or r[3] in platforms))
                rows = [r for r in rows if since <= r[0] < until][::-1][:limit]
                assert len(got) == len(rows) > 0
                assert sorted(got) == sorted(t for _, t in rows)
