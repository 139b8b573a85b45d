"""Each scored post's language: the platform's tag where it names one, else the detector.

On recorded X API v2 pages (twarc2, ../shared/data/fixtures/twarc_csv_v2) and recorded Mastodon
statuses (Mastodon.py's cassettes), mapped as the collectors map them, written to a real store
and scored by the scoring job with a real (tiny) model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from listener.jobs.score import score_posts
from listener.mapping import mastodon as mastodon_mapping
from listener.mapping import x as x_mapping
from listener.post import Batch, Post
from listener.store import schema
from nlp.language import DETECTOR, PLATFORM, detect, platform_language, record
from nlp.scorer import SentimentScorer
from tests.jobs.test_score import T0


@pytest.fixture
def fixtures(shared_data) -> Path:
    return shared_data / "fixtures"


def x_batch(fixtures: Path, *names: str) -> Batch:
    batch = Batch()
    for name in names:
        for line in (fixtures / "twarc_csv_v2" / "test-data" / name).read_text().splitlines():
            if line.strip():
                mapped, _ = x_mapping.map_page(json.loads(line))
                batch.posts += mapped.posts
                batch.authors += mapped.authors
    return batch


def mastodon_statuses(fixtures: Path) -> list[dict]:
    """Every status in the recorded HTTP response bodies, as the server sent it."""
    out: dict[str, dict] = {}
    for path in sorted((fixtures / "mastodonpy_cassettes").glob("*.yaml")):
        for it in yaml.safe_load(path.read_text())["interactions"]:
            try:
                body = json.loads(it["response"]["body"]["string"])
            except ValueError:
                continue
            for item in body if isinstance(body, list) else [body]:
                if isinstance(item, dict) and isinstance(item.get("status"), dict):
                    item = item["status"]
                if isinstance(item, dict) and "content" in item and "account" in item:
                    out.setdefault(str(item["id"]), item)
    return list(out.values())


def recorded(store) -> dict[int, tuple[str, str | None, str | None]]:
    s = schema.sentiment_scores
    with store.engine.connect() as conn:
        return {r.post_id: (r.label, r.language, r.language_source)
                for r in conn.execute(select(s.c.post_id, s.c.label, s.c.language,
                                             s.c.language_source))}


def test_platform_tags_name_languages_or_nothing():
    assert platform_language("en") == "en" and platform_language("pt-BR") == "pt"
    assert platform_language("in") == "id" and platform_language("iw") == "he"  # X's old codes
    assert platform_language("qu") == "qu"  # Quechua is a language; "qme" (media only) is not
    for none in (None, "", "und", "zxx", "qme", "qst", "qht", "qam", "art", "english!", 7):
        assert platform_language(none) is None
    assert record("mi maleta no llegó y nadie contesta el teléfono", "en") == ("en", PLATFORM)
    assert record("mi maleta no llegó y nadie contesta el teléfono", "und") == ("es", DETECTOR)
    assert record("mi maleta no llegó y nadie contesta el teléfono", None) == ("es", DETECTOR)


def test_x_tags_flow_through_and_undetermined_falls_back_to_the_detector(store, tiny_model,
                                                                         fixtures):
    batch = x_batch(fixtures, "brexit.jsonl", "kpop.jsonl", "2sets.jsonl")
    tags = {p.id: p.lang for p in batch.posts}
    assert {"en", "ko", "und"} <= set(tags.values())  # the recording has them
    store.write(batch)
    report = score_posts(store, SentimentScorer(tiny_model))
    got = recorded(store)
    assert set(got) == set(tags)
    texts = {p.id: p.text for p in batch.posts}
    for pid, (label, language, source) in got.items():
        tag = platform_language(tags[pid])
        if tag is not None:
            assert (language, source) == (tag, PLATFORM)
        else:  # "und", "qst" or no tag at all: the detector read the text
            assert source == DETECTOR and language == detect(texts[pid])
        # The English-only model scores English and unknown posts only, by the recorded language.
        assert (label == "language") == (language not in ("en", "und"))
    korean = [pid for pid, t in tags.items() if t == "ko"]
    assert korean and all(got[pid][0] == "language" for pid in korean)
    assert report.not_scored_language == sum(1 for v in got.values() if v[0] == "language")
    assert any(tags[pid] == "und" and got[pid][2] == DETECTOR for pid in got)


def test_mastodon_language_flows_through_and_null_falls_back(store, tiny_model, fixtures):
    """Every recorded status carries "en"; Mastodon sends null for a status whose language
    nobody set (older or remote servers): that one is derived from a recorded status."""
    import copy

    statuses = mastodon_statuses(fixtures)
    assert {s.get("language") for s in statuses} == {"en"}
    untagged = copy.deepcopy(statuses[0])
    untagged.update(id="1" + str(untagged["id"]), uri=untagged["uri"] + "-untagged",
                    language=None)
    statuses.append(untagged)
    batch, _ = mastodon_mapping.map_statuses(statuses, "localhost:3000")
    store.write(batch)
    score_posts(store, SentimentScorer(tiny_model))
    got = recorded(store)
    by_post = {p.id: p for p in batch.posts}
    sources = set()
    for pid, (_, language, source) in got.items():
        post = by_post[pid]
        if post.lang:
            assert (language, source) == (post.lang, PLATFORM)
        else:
            assert (language, source) == (detect(post.text), DETECTOR)
        sources.add(source)
    assert sources == {PLATFORM, DETECTOR}


def test_the_tag_decides_over_the_text_and_copies_still_share_one_score(store, tiny_model):
    """The same words tagged Spanish and tagged English: the Spanish one is not scored
    (language), the English one is, and an untagged English copy reuses the English score."""
    words = "mi vuelo fue cancelado otra vez y nadie me ayuda en el aeropuerto"
    store.write(Batch(posts=[Post("x", "es", "a1", words, T0, lang="es"),
                             Post("x", "en", "a2", words, T0, lang="en"),
                             Post("x", "none", "a3", words, T0),
                             Post("x", "en2", "a4", "RT @a2: " + words, T0, lang="en")]))
    report = score_posts(store, SentimentScorer(tiny_model))
    got = {pid: v for pid, v in recorded(store).items()}
    ids = {p: Post("x", p, "a", "", T0).id for p in ("es", "en", "none", "en2")}
    assert got[ids["es"]][0] == "language" and got[ids["es"]][1:] == ("es", PLATFORM)
    assert got[ids["none"]][0] == "language" and got[ids["none"]][1:] == ("es", DETECTOR)
    assert got[ids["en"]][0] != "language" and got[ids["en"]][0] == got[ids["en2"]][0]
    assert report.not_scored_language == 2 and report.model_calls == 1


def test_a_cached_language_label_of_before_is_not_reused_for_a_post_the_tag_lets_through(
        store, tiny_model):
    """Before 0019 the gate read the text alone and cached "language" for it by text."""
    from listener.store.writer import text_hash

    words = "mi vuelo fue cancelado otra vez y nadie me ayuda en el aeropuerto"
    scorer = SentimentScorer(tiny_model)
    store.write(Batch(posts=[Post("x", "en", "a2", words, T0, lang="en")]))
    with store.engine.begin() as conn:
        conn.execute(schema.sentiment_cache.insert().values(
            model_version=scorer.model_version, text_hash=text_hash(words), label="language",
            negative=0.0, neutral=0.0, positive=0.0))
    report = score_posts(store, scorer)
    assert report.model_calls == 1
    assert next(iter(recorded(store).values()))[0] in ("negative", "neutral", "positive")
    with store.engine.connect() as conn:
        assert conn.execute(select(schema.sentiment_cache.c.label)).scalar() != "language"
