"""A brand's own accounts: their posts are kept and shown, but never counted as its mentions."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select

from dashboard import queries
from listener.errors import ConfigError
from listener.jobs.detect import detect
from listener.post import Author, Batch, Post, utcnow
from listener.store import schema
from listener.store.accounts import parse_account
from listener.store.retention import prune

T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


def batch(posts):
    authors = {a: Author("x", a, handle=h) for a, h, _ in posts}
    return Batch([Post("x", f"p{i}", a, text, T0 + timedelta(minutes=i), lang="en")
                  for i, (a, _, text) in enumerate(posts)], list(authors.values()), [])


POSTS = [
    ("1", "alice", "@united lost my bag, again. United Airlines is the worst"),
    ("2", "AskUnited", "@alice we're sorry about your bag: DM us, United Airlines"),
    ("3", "bob", "united airlines cancelled my flight"),
    ("4", "united", "United Airlines: new routes this summer #united"),
]


def tagged(store):
    pb, p = schema.post_brands, schema.posts
    with store.engine.connect() as conn:
        return sorted(conn.execute(select(p.c.native_id).select_from(pb.join(p))).scalars())


def test_accounts_parse_and_conflict(store):
    assert parse_account("x:@AskUnited") == ("x", "askunited")
    with pytest.raises(ConfigError, match="PLATFORM:HANDLE"):
        parse_account("AskUnited")
    united, _ = store.add_brand("United", '@united OR "united airlines"', "airlines")
    delta, _ = store.add_brand("Delta", "@delta", "airlines")
    store.set_accounts(united, ["x:united", "x:AskUnited"])
    assert store.brand_accounts(united) == ["x:askunited", "x:united"]
    with pytest.raises(ConfigError, match="already belongs to brand 'United'"):
        store.set_accounts(delta, ["x:askunited"])


def test_own_posts_are_never_tagged_whenever_the_account_is_added(store):
    united, _ = store.add_brand("United", '@united OR "united airlines"', "airlines")
    store.write(batch(POSTS))
    assert tagged(store) == ["p0", "p1", "p2", "p3"]  # before: the brand's voice counted too
    assert store.set_accounts(united, ["x:united", "x:askunited"]) == 2
    assert tagged(store) == ["p0", "p2"]
    assert store.status()["per_brand"]["United"] == 2 and store.status()["posts"] == 4
    # New posts by the accounts, and a changed query (a full re-tag), still skip them.
    store.write(batch([("2", "AskUnited", "@bob United Airlines will rebook you")]))
    store.edit_brand("United", query='@united OR "united airlines" OR united')
    assert tagged(store) == ["p0", "p2"]
    store.set_accounts(united, ["x:united"])  # AskUnited is no longer the brand's
    assert tagged(store) == ["p0", "p1", "p2"]


def test_every_count_of_mentions_and_sentiment_leaves_own_posts_out(store):
    united, _ = store.add_brand("United", '@united OR "united airlines"', "airlines")
    store.set_accounts(united, ["x:united", "x:askunited"])
    store.write(batch(POSTS))
    p, s = schema.posts, schema.sentiment_scores
    with store.engine.begin() as conn:
        ids = list(conn.execute(select(p.c.id)).scalars())
        conn.execute(insert(s), [{"post_id": i, "model_version": "m1", "label": "negative",
                                  "negative": 0.9, "neutral": 0.05, "positive": 0.05,
                                  "scored_at": T0} for i in ids])
    # Early warning reads brand mentions only.
    assert detect(store, echo=lambda _: None).posts == 2
    # The dashboard's volume, sentiment and share of voice; its complaint-theme sample.
    counts = queries.mention_counts(store.engine, "m1", [united.id], None, T0 - timedelta(days=1),
                                    T0 + timedelta(days=1), T0 - timedelta(days=2), "day")
    assert int(counts["posts"].sum()) == 2
    negative, _ = queries.negative_texts(store.engine, "m1", [united.id], None,
                                         T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert sorted(negative) == sorted([POSTS[0][2], POSTS[2][2]])
    # The daily counts that outlive retention.
    prune(store, lambda _: 1, now=max(T0, utcnow()) + timedelta(days=400))
    d = schema.daily_brand_sentiment
    with store.engine.connect() as conn:
        kept = conn.execute(select(func.sum(d.c.posts))).scalar()
    assert kept == 2
