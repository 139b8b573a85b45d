"""The store's gate (listener.mapping.fit) and its fallbacks, on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from listener.post import Author, Batch, Interaction, Post
from listener.store import schema

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def post(native: str, author: str = "u1", text: str = "hello", **kw) -> Post:
    return Post("news", native, author, text, T0, **kw)


def test_real_rss_guids_and_long_language_tags_are_stored(store):
    guid = "https://www.example.com/2026/01/05/" + "a-long-slug-" * 10 + "?utm_source=rss"
    assert len(guid) > 140
    tag = "sgn-BE-FR-x-private-extension-tag"  # a valid BCP-47 tag of 33 characters
    result = store.write(Batch([post(guid, lang=tag)]))
    assert result.inserted == 1 and result.skipped == []
    with store.engine.connect() as conn:
        assert conn.execute(select(schema.posts.c.native_id, schema.posts.c.lang)).one() == (guid, tag)


def test_what_cannot_be_stored_is_listed_and_the_rest_is_kept(store):
    batch = Batch([
        post("ok1"),
        post("x" * 600),                                    # id too long: skipped
        post("ok2", likes=10**30, views=float("inf")),       # counts dropped, post kept
        post("ok3", lang=["en"], author="bad\x00author"),   # lang dropped, NUL scrubbed
        post("ok4", text={"not": "text"}),                  # skipped
        Post("p" * 40, "ok5", "u1", "t", T0),                # platform too long: skipped
    ], [Author("news", "u1", handle="h" * 300, followers=float("nan"))],
        [Interaction("news", "reply", "u1", "u2", T0, "ok2", "ok1"),
         Interaction("news", "boost", "u1", "u2", T0, "ok3", None)])
    result = store.write(batch)
    assert result.inserted == 3
    assert len(result.skipped) == 4, result.skipped
    assert any("id is 600 characters" in s for s in result.skipped)
    assert any("unknown interaction kind" in s for s in result.skipped)
    with store.engine.connect() as conn:
        p = schema.posts
        rows = {r.native_id: r for r in conn.execute(select(p.c.native_id, p.c.likes, p.c.views, p.c.lang))}
        handle = conn.execute(select(schema.authors.c.handle)
                              .where(schema.authors.c.native_id == "u1")).scalar()
        authors = conn.execute(select(schema.authors.c.native_id)).scalars().all()
    assert set(rows) == {"ok1", "ok2", "ok3"}
    assert rows["ok2"].likes is None and rows["ok2"].views is None and rows["ok3"].lang is None
    assert handle is None  # 300 characters: not a handle
    assert "bad\ufffdauthor" in authors


def test_a_stub_in_the_same_batch_never_blanks_a_profile(store):
    full = Author("x", "42", handle="bigaccount", display_name="Big", followers=73_000_000)
    stub = Author("x", "42", handle="bigaccount")
    store.write(Batch([Post("x", "1", "42", "hi", T0)], [full, stub]))
    with store.engine.connect() as conn:
        row = conn.execute(select(schema.authors.c.followers, schema.authors.c.display_name)).one()
    assert tuple(row) == (73_000_000, "Big")


def test_edited_text_drops_its_old_score(store):
    from listener.store.scores import count_unscored, score_batch

    store.write(Batch([Post("x", "1", "a", "I love it", T0)]))

    def model(texts):
        return [("positive" if "love" in t else "negative", 0.1, 0.1, 0.8) for t in texts]

    assert score_batch(store, "m1", 10, model).scored == 1
    store.write(Batch([Post("x", "1", "a", "I love it", T0, likes=3)]))  # same text: kept
    assert count_unscored(store, "m1") == 0
    store.write(Batch([Post("x", "1", "a", "Edited: I hate it now", T0)]))
    assert count_unscored(store, "m1") == 1
    score_batch(store, "m1", 10, model)
    with store.engine.connect() as conn:
        assert conn.execute(select(schema.sentiment_scores.c.label)).scalar() == "negative"
        assert conn.execute(select(func.count()).select_from(schema.sentiment_scores)).scalar() == 1


def test_cursor_advances_even_when_the_database_refuses_one_post(store, monkeypatch):
    """The database's own refusal (past the gate) loses only that post, never the page."""
    import listener.mapping.fit as fit

    monkeypatch.setattr(fit, "NATIVE_ID_MAX", 10_000)  # let an id past the column's size through
    result = store.write_with_cursor(Batch([post("good"), post("y" * 700)]), "news", "k", "c1")
    assert store.get_cursor("news", "k") == "c1"
    with store.engine.connect() as conn:
        ids = conn.execute(select(schema.posts.c.native_id)).scalars().all()
    if store.engine.dialect.name == "postgresql":  # SQLite does not enforce VARCHAR sizes
        assert ids == ["good"] and len(result.skipped) == 1
        assert "the database refused it" in result.skipped[0]
    else:
        assert sorted(ids, key=len) == ["good", "y" * 700]
