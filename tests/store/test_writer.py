"""Bulk upserts on both dialects: idempotent, complete, and careful with what they overwrite."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from listener.post import Author, Batch, Interaction, Post
from listener.store import schema

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def make_batch(n: int = 50, likes: int = 1) -> Batch:
    b = Batch()
    b.authors = [Author("x", f"u{i}", handle=f"user{i}", followers=i * 10) for i in range(10)]
    for i in range(n):
        b.posts.append(Post("x", f"p{i}", f"u{i % 10}", f"post {i} about @united ✈️",
                            T0 + timedelta(minutes=i), likes=likes))
    for i in range(1, n):
        b.interactions.append(Interaction("x", "repost", f"u{i % 10}", f"u{(i - 1) % 10}",
                                          T0 + timedelta(minutes=i), f"p{i}", f"p{i - 1}"))
    return b


def counts(store):
    s = store.status()
    return s["posts"], s["authors"], s["interactions"]


def test_upsert_is_idempotent_and_updates_engagement(store):
    first = store.write(make_batch())
    assert (first.inserted, first.updated) == (50, 0)
    again = store.write(make_batch(likes=7))
    assert (again.inserted, again.updated) == (0, 50)
    assert counts(store) == (50, 10, 49)
    with store.engine.connect() as conn:
        likes = {r.likes for r in conn.execute(select(schema.posts.c.likes))}
    assert likes == {7}


def test_stub_author_does_not_erase_known_fields(store):
    store.write(Batch(authors=[Author("x", "42", handle="known", followers=1000, verified=True)]))
    mention = Interaction("x", "mention", "7", "42", T0, "p1", None)
    store.write(Batch(posts=[Post("x", "p1", "7", "hi @known", T0)], interactions=[mention]))
    with store.engine.connect() as conn:
        row = conn.execute(select(schema.authors).where(
            schema.authors.c.id == store.author_id("x", "42"))).one()
    assert (row.handle, row.followers, row.verified) == ("known", 1000, True)
    assert counts(store) == (1, 2, 1)


def test_text_survives_emoji_nul_and_huge_posts(store):
    huge = "é" * 200_000
    posts = [Post("x", "e", "a", "I ❤️ 🛫 — ok", T0), Post("x", "h", "a", huge, T0)]
    store.write(Batch(posts=posts))
    with store.engine.connect() as conn:
        texts = dict(conn.execute(select(schema.posts.c.native_id, schema.posts.c.text)).all())
    assert texts == {"e": "I ❤️ 🛫 — ok", "h": huge}


def test_posts_are_tagged_with_matching_brands(store):
    store.add_brand("United", "@united OR united", "airlines")
    store.add_brand("Delta", "delta", "airlines")
    store.write(make_batch(5))
    status = store.status()
    assert status["per_brand"] == {"United": 5, "Delta": 0}
    # A brand added later tags what is already stored.
    _, matched = store.add_brand("Posts", "post", None)
    assert matched == 5


def test_cursor_commits_with_its_batch(store):
    store.write_with_cursor(make_batch(3), "x.search", "United", "p2")
    assert store.get_cursor("x.search", "United") == "p2"
    store.write_with_cursor(Batch(), "x.search", "United", "p9")
    assert store.get_cursor("x.search", "United") == "p9"


def test_times_round_trip_as_utc(store):
    store.write(make_batch(1))
    with store.engine.connect() as conn:
        got = conn.execute(select(schema.posts.c.created_at)).scalar()
    from listener.store.sql import as_utc

    assert as_utc(got) == T0


def test_a_brand_added_elsewhere_tags_the_next_batch(store):
    other = type(store)(store.engine)  # a second process on the same database
    store.write(make_batch(2))
    other.add_brand("United", "@united")
    store.write(Batch(posts=[Post("x", "late", "u1", "@united again", T0)]))
    assert store.status()["per_brand"] == {"United": 3}
