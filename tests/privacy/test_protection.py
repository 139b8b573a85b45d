"""Retention, erasure and pseudonymisation, proven on SQLite and PostgreSQL."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from listener.post import Author, Batch, Interaction, Post
from listener.store import Privacy, Store, schema
from listener.store.alerts import upsert_story
from listener.store.erasure import erase_author, erase_post
from listener.store.retention import prune

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def conversation(days_ago: float = 1.0, collected_days_ago: float | None = None) -> Batch:
    """Three posts and their interactions, collected as they appeared unless told otherwise."""
    t = NOW - timedelta(days=days_ago)
    critic = Author("x", "9876543210", handle="AngryFlyer", followers=120)
    star = Author("x", "111111111", handle="TravelDesk", followers=900_000)
    root = Post("x", "5001", critic.native_id, "@united lost my bag, thanks for nothing", t,
                raw={"author_id": "9876543210", "text": "..."})
    rt = Post("x", "5002", star.native_id, "RT @AngryFlyer: @united lost my bag", t + timedelta(minutes=5),
              raw={"referenced_tweets": [{"id": "5001"}], "entities": {"mentions": [
                  {"id": "9876543210", "username": "AngryFlyer"}]}})
    reply = Post("x", "5003", star.native_id, "@AngryFlyer so sorry to hear that",
                 t + timedelta(minutes=9))
    inter = [Interaction("x", "repost", star.native_id, critic.native_id, rt.created_at, "5002", "5001"),
             Interaction("x", "reply", star.native_id, critic.native_id, reply.created_at, "5003", "5001")]
    seen = NOW - timedelta(days=days_ago if collected_days_ago is None else collected_days_ago)
    for post in (root, rt, reply):
        post.collected_at = max(seen, post.created_at)
    return Batch([root, rt, reply], [critic, star], inter)


def dump(store: Store) -> str:
    """Every row of every table, as text: what a search of the whole store would see."""
    out = []
    with store.engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                out.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(out)


def test_erase_author_leaves_no_trace_and_stays_erased(store, tmp_path):
    brand, _ = store.add_brand("United", "@united")
    store.write(conversation())
    upsert_story(store, brand.id, "s1", 0.8, "AngryFlyer's bag story",
                 {"root_posts": [{"author": "AngryFlyer", "text": "lost my bag"}]})
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "graph.gexf").write_text("<node label='AngryFlyer'/>")
    (exports / "other.gexf").write_text("<node label='someone else'/>")
    report = erase_author(store, "x", "@angryflyer", store.erasure_key(), exports=exports)
    assert report.removed["posts"] == 1 and report.removed["authors"] == 1
    assert report.removed["authors left with no posts or interactions"] >= 0
    assert report.removed["interactions"] == 2
    assert report.files == [str(exports / "graph.gexf")] and (exports / "other.gexf").exists()
    text = dump(store).lower()
    assert "angryflyer" not in text and "9876543210" not in text
    assert store.status()["posts"] == 2  # the other account's posts stay, redacted
    # Re-collecting the same old posts does not bring them back...
    store.write(conversation())
    assert "angryflyer" not in dump(store).lower()
    # ...but a new public post after the erasure is collected.
    later = Post("x", "7001", "9876543210", "new post", datetime.now(UTC) + timedelta(minutes=1))
    store.write(Batch([later], [Author("x", "9876543210", handle="AngryFlyer")]))
    assert store.status()["posts"] == 3


def test_erase_one_post(store):
    store.write(conversation())
    report = erase_post(store, "x", "5001", store.erasure_key())
    assert report.removed["posts"] == 1
    store.write(conversation())
    with store.engine.connect() as conn:
        ids = set(conn.execute(select(schema.posts.c.native_id)).scalars())
    assert ids == {"5002", "5003"}


def test_prune_keeps_only_counts(store):
    brand, _ = store.add_brand("United", "@united")
    store.write(conversation(days_ago=400))
    store.write(Batch([Post("x", "fresh", "9", "@united on time today", NOW - timedelta(days=2))]))
    report = prune(store, lambda platform: 365, now=NOW)
    assert report.removed["posts"] == 3
    status = store.status()
    assert status["posts"] == 1 and status["interactions"] == 0
    with store.engine.connect() as conn:
        kept = conn.execute(select(schema.daily_brand_sentiment)).all()
    assert [(r.brand_id, r.label, r.posts) for r in kept] == [(brand.id, "unscored", 2)]
    assert "AngryFlyer" not in dump(store)
    assert prune(store, lambda platform: 0, now=NOW).cutoffs == {}


def test_an_imported_archive_is_kept_for_the_period_after_its_import(store):
    brand, _ = store.add_brand("United", "@united")
    store.write(conversation(days_ago=400, collected_days_ago=1))  # last year's export, imported
    # Its story's alert resolved itself in the archive's own time, 400 days ago.
    then = NOW - timedelta(days=400)
    upsert_story(store, brand.id, "cascade:5001", 0.9, "bag story", {}, now=then,
                 opened_at=then)
    upsert_story(store, brand.id, "cascade:5001", 0.2, "bag story", {},
                 now=then + timedelta(minutes=10), active=False, resolution="stopped growing")
    assert prune(store, lambda platform: 365, now=NOW).removed["posts"] == 0
    assert store.status()["posts"] == 3 and store.status()["interactions"] == 2  # graph too
    assert store.status()["alerts"] == 1  # the alert stays while its posts do
    a_year_on = NOW + timedelta(days=365)
    report = prune(store, lambda platform: 365, now=a_year_on)
    assert report.removed["posts"] == 3 and report.removed["alerts"] == 1


def test_pseudonymisation_keeps_public_figures_named(tmp_path):
    key = b"k" * 32
    store = Store.open(f"sqlite:///{tmp_path / 'p.db'}", Privacy(True, 5000, key))
    store.write(conversation())
    text = dump(store)
    assert "AngryFlyer" not in text and "9876543210" not in text
    assert "TravelDesk" in text  # 900k followers: a public account stays named
    assert "@user so sorry" in text
    with store.engine.connect() as conn:
        natives = set(conn.execute(select(schema.authors.c.native_id)).scalars())
    assert any(n.startswith("anon:") for n in natives) and "111111111" in natives
    # The same person maps to the same pseudonym across batches.
    store.write(conversation())
    assert store.status()["authors"] == 2
    with pytest.raises(Exception, match="UNDERTOW_PSEUDONYM_KEY"):
        Store(store.engine, Privacy(True, 5000, b""))
