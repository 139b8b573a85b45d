"""`undertow themes` on both dialects: real airline complaints, a language it cannot read, reruns."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import insert

from listener.jobs.themes import brand_themes
from listener.post import Batch, Post
from listener.store import schema

pytestmark = pytest.mark.slow
T0 = datetime(2015, 2, 17, 9, 0, tzinfo=UTC)
SPANISH = ["@united mi maleta no llegó y nadie contesta el teléfono",
           "@united otra vez el vuelo retrasado tres horas sin explicación"]


def load(store, texts, start, tag):
    posts = [Post("x", f"{tag}{i}", f"user{tag}{i}", t, start + timedelta(minutes=i),
                  lang="es" if t in SPANISH else None) for i, t in enumerate(texts)]
    store.write(Batch(posts=posts))
    with store.engine.begin() as conn:
        conn.execute(insert(schema.sentiment_scores), [
            {"post_id": p.id, "model_version": "test@1", "label": "negative", "negative": 0.9,
             "neutral": 0.05, "positive": 0.05, "scored_at": start} for p in posts])


def test_themes_are_found_counted_by_language_and_kept_across_runs(store, shared_data, tmp_path):
    tweets = pd.read_csv(shared_data / "airline" / "Tweets.csv")
    united = tweets[(tweets.airline == "United") & (tweets.airline_sentiment == "negative")]
    texts = united.text.drop_duplicates().head(160).tolist()
    store.add_brand("United", "@united OR united")
    load(store, texts[:120] + SPANISH, T0, "a")
    brand = store.brand("United")
    first = brand_themes(store, tmp_path, brand)
    assert first.negative == 120 and first.not_scored_language == 2
    assert first.languages["es"] == 2
    assert len(first.themes) >= 3
    assert all("united" not in t["name"] for t in first.themes)
    assert abs(sum(t["share"] for t in first.themes) - 1) < 1e-9
    again = brand_themes(store, tmp_path, brand)
    assert [(t["theme"], t["name"], t["posts"]) for t in again.themes] == \
        [(t["theme"], t["name"], t["posts"]) for t in first.themes]
    load(store, texts[120:], T0 + timedelta(days=1), "b")
    later = brand_themes(store, tmp_path, brand)
    old = {t["theme"]: t["name"] for t in first.themes}
    assert all(old[t["theme"]] == t["name"] for t in later.themes if t["theme"] in old)
    assert later.negative == 160
