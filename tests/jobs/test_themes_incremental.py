"""The incremental themes pass (`listen`'s): it reads only the mentions scored since its last
pass and gives them the themes a full pass would; a full pass where the store, the state or the
data (a new theme) asks for one. Real airline complaints, the shipped encoder, both dialects."""

import shutil
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import delete, insert, select

from listener.jobs.themes import META_PREFIX, unit_themes, units
from listener.post import Batch, Post
from listener.store import schema

T0 = datetime(2015, 2, 17, 9, 0, tzinfo=UTC)
S1 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # when the first day's scores were written


def load(store, texts, tag, posted, scored, label="negative"):
    """Posts with scores written a minute apart from `scored` (as scoring batches write them)."""
    posts = [Post("x", f"{tag}{i}", f"user{tag}{i}", t, posted + timedelta(minutes=i))
             for i, t in enumerate(texts)]
    store.write(Batch(posts=posts))
    with store.engine.begin() as conn:
        conn.execute(insert(schema.sentiment_scores), [
            {"post_id": p.id, "model_version": "test@1", "label": label, "negative": 0.9,
             "neutral": 0.05, "positive": 0.05, "scored_at": scored + timedelta(minutes=i)}
            for i, p in enumerate(posts)])
    return [p.id for p in posts]


def rows(store, brand_id):
    t = schema.post_themes
    with store.engine.connect() as conn:
        return dict(conn.execute(select(t.c.post_id, t.c.theme_id)
                                 .where(t.c.brand_id == brand_id)).all())


def one_pass(store, home, incremental=True):
    [(key, members)] = units(store.brands()).items()
    return unit_themes(store, home, key, members, incremental=incremental)[0]


@pytest.mark.slow
def test_the_incremental_pass_reads_only_what_was_scored_since_and_matches_a_full_pass(
        store, shared_data, tmp_path):
    tweets = pd.read_csv(shared_data / "airline" / "Tweets.csv")
    united = tweets[tweets.airline == "United"].drop_duplicates("text")
    neg = united[united.airline_sentiment == "negative"].text.tolist()
    calm = united[united.airline_sentiment == "neutral"].text.tolist()
    brand, _ = store.add_brand("United", "@united OR united")
    day1 = load(store, neg[:110], "a", T0, S1)
    load(store, calm[:10], "n", T0, S1 + timedelta(hours=3), label="neutral")
    home = tmp_path / "a"
    first = one_pass(store, home)
    assert not first.incremental and first.read == 120 and first.negative == 110
    before = rows(store, brand.id)
    assert set(before) == set(day1)
    shutil.copytree(home, tmp_path / "b")  # the same saved state, for the full pass below

    again = one_pass(store, home)  # nothing new: the overlap window's rows, none of them new
    assert again.incremental and again.new == 0 and again.read <= 3
    assert rows(store, brand.id) == before

    # The next day: 45 complaints (five of them retweets of yesterday's) and 5 calm posts.
    day2_texts = neg[110:150] + [f"RT @someone: {t}" for t in neg[:5]]
    day2 = load(store, day2_texts, "b", T0 + timedelta(days=1), S1 + timedelta(days=1))
    load(store, calm[10:15], "m", T0 + timedelta(days=1), S1 + timedelta(days=1, hours=2),
         label="neutral")
    later = one_pass(store, home)
    # Read: the 50 new and the overlap window's (2 minutes of scores behind the watermark).
    assert later.incremental and later.new == 50 and later.read <= 53  # not yesterday's 120
    assert later.embedded == 40  # the retweets' words were embedded yesterday
    assert later.negative == 45
    after = rows(store, brand.id)
    assert {p: after[p] for p in day1} == before  # yesterday's posts keep their theme
    incremental = {p: after[p] for p in day2}
    assert len(incremental) == 45

    # A full pass from the same saved state over old and new posts together.
    full = one_pass(store, tmp_path / "b", incremental=False)
    assert not full.incremental and full.read == 170
    assert {p: rows(store, brand.id)[p] for p in day2} == incremental
    kept = sum(rows(store, brand.id)[p] == before[p] for p in day1) / len(day1)
    assert kept >= 0.9

    # Rescored as not negative: its theme row goes, read through the score's new time.
    with store.engine.begin() as conn:
        conn.execute(delete(schema.sentiment_scores).where(
            schema.sentiment_scores.c.post_id == day2[0]))
        conn.execute(insert(schema.sentiment_scores).values(
            post_id=day2[0], model_version="test@1", label="neutral", negative=0.1,
            neutral=0.8, positive=0.1, scored_at=S1 + timedelta(days=2)))
    rescored = one_pass(store, tmp_path / "b")
    assert rescored.incremental and rescored.new == 1
    assert day2[0] not in rows(store, brand.id)

    # A store whose watermark is not the saved state's (a new database, a crash between the
    # two writes): a full pass, never a partial read against the wrong state.
    store.set_meta({META_PREFIX + "brand-1": "{}"})
    assert not one_pass(store, tmp_path / "b").incremental


@pytest.mark.slow
def test_posts_unlike_every_theme_bring_a_full_pass_that_adds_one(store, shared_data, tmp_path):
    tweets = pd.read_csv(shared_data / "airline" / "Tweets.csv")
    neg = tweets[(tweets.airline == "Southwest") & (tweets.airline_sentiment == "negative")]
    store.add_brand("Southwest", "@southwestair OR southwest")
    load(store, neg.text.drop_duplicates().head(100).tolist(), "a", T0, S1)
    first = one_pass(store, tmp_path)
    themes = {t["theme"] for t in first.themes}
    odd = [f"@southwestair the {w} in seat {i} smelled of burnt popcorn and wet dog all flight"
           for i, w in enumerate(["cabin", "aisle", "galley", "row", "lavatory", "bin"] * 7)]
    load(store, odd, "z", T0 + timedelta(days=1), S1 + timedelta(days=1))
    later = one_pass(store, tmp_path)
    assert not later.incremental and later.read == 142  # the add rule asked for a full pass
    added = {t["theme"] for t in later.themes} - themes
    assert added, "the far posts gather into a theme of their own"
