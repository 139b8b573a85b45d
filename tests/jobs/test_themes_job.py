"""`undertow themes` on both dialects: real airline complaints, a language it cannot read, reruns."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import insert, select

from listener.jobs.themes import brand_themes
from listener.post import Batch, Post
from listener.store import schema

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


@pytest.mark.slow
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
    with store.engine.connect() as conn:
        rows = conn.execute(select(schema.post_themes.c.theme_name)).scalars().all()
    assert len(rows) == 120 and set(rows) == {t["name"] for t in first.themes}
    again = brand_themes(store, tmp_path, brand)
    assert [(t["theme"], t["name"], t["posts"]) for t in again.themes] == \
        [(t["theme"], t["name"], t["posts"]) for t in first.themes]
    load(store, texts[120:], T0 + timedelta(days=1), "b")
    later = brand_themes(store, tmp_path, brand)
    old = {t["theme"]: t["name"] for t in first.themes}
    assert all(old[t["theme"]] == t["name"] for t in later.themes if t["theme"] in old)
    assert later.negative == 160
    from click.testing import CliRunner

    from listener.cli import main

    url = store.engine.url.render_as_string(hide_password=False)
    out = CliRunner().invoke(main, ["--database", url, "themes", "--brand", "United"],
                             env={"UNDERTOW_HOME": str(tmp_path)}).output
    assert "2 not scored (language)" in out and "languages: " in out and "es 2" in out
    assert " 1. #" in out


def test_alerts_name_the_found_theme_where_themes_ran(store):
    from listener.jobs.detect import detect
    from listener.store.alerts import list_alerts
    from tests.jobs.test_detect import cascade

    brand, _ = store.add_brand("Acme", "@acme")
    cascade(store, 0, 120)
    with store.engine.begin() as conn:
        ids = conn.execute(select(schema.posts.c.id)).scalars().all()
        conn.execute(insert(schema.post_themes), [
            {"post_id": i, "brand_id": brand.id, "theme_id": 3, "theme_name": "bag · luggage"}
            for i in ids])
    detect(store)
    [alert] = list_alerts(store)
    assert [t["term"] for t in alert.evidence["themes"]] == ["bag · luggage"]
    assert "Lost Luggage" not in alert.title


@pytest.mark.slow
def test_the_stage_embeds_each_post_once_and_rewrites_only_what_changed(store, shared_data,
                                                                          tmp_path):
    """What `listen` does after every pass: a rerun with nothing new embeds nothing and keeps
    every row; a new day's posts are the only ones embedded; the table matches the model."""
    from listener.jobs.themes import _brand_words, stage
    from listener.settings import Settings
    from nlp.theme_model import clean

    tweets = pd.read_csv(shared_data / "airline" / "Tweets.csv")
    south = tweets[(tweets.airline == "Southwest") & (tweets.airline_sentiment == "negative")]
    texts = south.text.drop_duplicates().head(90).tolist()
    store.add_brand("Southwest", "@southwestair OR southwest")
    load(store, texts[:60], T0, "a")
    brand = store.brand("Southwest")
    said: list[str] = []
    settings = Settings(home=tmp_path)
    stage(store, settings, said.append)
    assert len(said) == 2 and "posts embedded" in said[1] and "Southwest" not in said[1]
    again = brand_themes(store, tmp_path, brand)
    assert again.embedded == 0 and again.negative == 60
    load(store, texts[60:], T0 + timedelta(days=1), "b")
    later = brand_themes(store, tmp_path, brand)
    seen = {clean(t, _brand_words(brand)).lower() for t in texts[:60]}
    assert later.embedded == len({clean(t, _brand_words(brand)) for t in texts[60:]
                                  if clean(t, _brand_words(brand)).lower() not in seen}) > 20
    assert later.negative == 90
    with store.engine.connect() as conn:
        rows = dict(conn.execute(select(schema.post_themes.c.post_id,
                                        schema.post_themes.c.theme_id)).all())
    assert len(rows) == 90
    assert sum(t["posts"] for t in later.themes) == 90
    per_theme = pd.Series(rows).value_counts().to_dict()
    assert per_theme == {t["theme"]: t["posts"] for t in later.themes}


def test_a_brand_whose_complaints_share_no_words_gets_no_themes_not_an_error(store, tmp_path):
    """The demo's twentieth sample has such a brand: 20 negative posts, each its own words."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
             "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
             "sierra", "tango", "uniform", "victor"]
    store.add_brand("Acme", "@acme")
    load(store, [f"@acme {w}" for w in words], T0, "w")
    result = brand_themes(store, tmp_path, store.brand("Acme"))
    assert result.negative == len(words) and result.themes == []


@pytest.mark.slow
def test_a_competitor_group_shares_one_set_of_themes(store, shared_data, tmp_path):
    """Brands of a group are clustered together, so the same theme id means the same complaint
    for each (the dashboard compares their shares); a brand outside the group has its own."""
    from listener.jobs.themes import themes_for

    tweets = pd.read_csv(shared_data / "airline" / "Tweets.csv")
    neg = tweets[tweets.airline_sentiment == "negative"]
    store.add_brand("United", "@united", "airlines")
    store.add_brand("Southwest", "@southwestair", "airlines")
    store.add_brand("JetBlue", "@jetblue")
    for tag, airline in (("u", "United"), ("s", "Southwest"), ("j", "Delta")):  # Delta: @JetBlue
        load(store, neg[neg.airline == airline].text.drop_duplicates().head(70).tolist(), T0, tag)
    found = {r.brand: r for r in themes_for(store, tmp_path)}
    united, south, jet = found["United"], found["Southwest"], found["JetBlue"]
    # 70 each, and a Southwest complaint that also names @united counts for both.
    assert united.negative >= 70 and south.negative >= 70 and jet.negative >= 70
    assert {t["theme"] for t in united.themes} & {t["theme"] for t in south.themes}
    shared = {t["theme"]: t["name"] for t in united.themes}
    assert all(shared[t["theme"]] == t["name"] for t in south.themes if t["theme"] in shared)
    assert sorted(p.name for p in (tmp_path / "themes").glob("*.pkl")) == \
        ["brand-3.pkl", "group-airlines.pkl"]


def test_a_found_theme_names_the_story_before_a_human_reason(store):
    """Labelled imports carry a reason ("Lost Luggage"); once themes ran, alerts use the found
    theme, which exists for any brand, and the reason only where the job has not run."""
    from listener.jobs.detect import detect
    from listener.store.alerts import list_alerts
    from tests.jobs.test_detect import cascade

    brand, _ = store.add_brand("Acme", "@acme")
    cascade(store, 0, 120)
    with store.engine.begin() as conn:
        ids = conn.execute(select(schema.posts.c.id)).scalars().all()
        conn.execute(schema.posts.update().values(gold_reason="Lost Luggage"))
        conn.execute(insert(schema.post_themes), [
            {"post_id": i, "brand_id": brand.id, "theme_id": 2, "theme_name": "parcel · lost"}
            for i in ids[: len(ids) // 2 + 1]])
    detect(store)
    [alert] = list_alerts(store)
    terms = [t["term"] for t in alert.evidence["themes"]]
    assert terms[0] == "parcel · lost" and "Lost Luggage" in terms
