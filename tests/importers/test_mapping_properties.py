"""Property: every mapping, fed arbitrary JSON shaped like its payloads, maps or reports a clear
per-item error, and never raises; what it maps always passes the store's gate."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listener.importers import generic, reddit_dump, twarc
from listener.mapping import bluesky, mastodon, news, reddit, x
from listener.mapping.fit import fit_batch
from listener.mapping.report import MapReport
from listener.post import Batch

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() \
    | st.text(max_size=20) | st.sampled_from(["2021-04-08T15:07:30.000Z", "1234567890", "",
                                               "Wed Oct 10 20:19:24 +0000 2018", "t3_abc", "\x00"])
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)


def shaped(keys: dict) -> st.SearchStrategy:
    """Objects with the payload's keys (each possibly missing), values of any type or shape."""
    return st.fixed_dictionaries({}, optional={k: v | anything for k, v in keys.items()})


user = shaped({"id": st.text(max_size=5), "username": st.text(max_size=5),
               "public_metrics": st.dictionaries(st.text(max_size=5), scalars)})
tweet = shaped({"id": st.text(max_size=5), "text": st.text(), "author_id": st.text(max_size=5),
                "created_at": scalars, "referenced_tweets": st.lists(anything, max_size=2),
                "entities": st.fixed_dictionaries({"mentions": st.lists(user, max_size=2)}),
                "public_metrics": st.dictionaries(st.text(max_size=12), scalars),
                "author": user, "__twarc": anything})
v1 = shaped({"id_str": st.text(max_size=5), "full_text": st.text(), "text": anything,
             "user": shaped({"id_str": st.text(max_size=5), "screen_name": st.text(max_size=5),
                             "followers_count": scalars}),
             "created_at": scalars, "retweeted_status": anything, "quoted_status": anything,
             "extended_tweet": anything, "entities": anything, "in_reply_to_status_id_str": scalars})
page = shaped({"data": st.lists(tweet, max_size=3) | tweet,
               "includes": shaped({"users": st.lists(user, max_size=3),
                                   "tweets": st.lists(tweet, max_size=2)}),
               "errors": st.lists(anything, max_size=2)})
reddit_thing = shaped({"id": st.text(max_size=5), "name": st.text(max_size=8), "title": anything,
                       "body": anything, "selftext": anything, "author": anything,
                       "created_utc": scalars, "parent_id": anything, "link_id": anything,
                       "score": scalars, "subreddit": anything, "permalink": anything})
record = shaped({"id": scalars, "text": st.text(), "created_at": scalars, "author": scalars,
                 "author_id": anything, "lang": anything, "likes": scalars, "label": anything,
                 "platform": anything})
status = shaped({"id": st.text(max_size=5), "uri": st.text(max_size=10), "content": anything,
                 "created_at": scalars, "account": shaped({"acct": st.text(max_size=5),
                                                           "id": scalars}),
                 "reblog": anything, "quote": anything, "mentions": st.lists(anything, max_size=2),
                 "in_reply_to_id": scalars})
post_view = shaped({"uri": st.text(max_size=10), "cid": anything, "indexedAt": scalars,
                    "author": shaped({"did": st.text(max_size=5), "handle": st.text(max_size=5)}),
                    "record": shaped({"text": anything, "createdAt": scalars, "reply": anything,
                                      "facets": anything, "embed": anything}),
                    "embed": anything, "likeCount": scalars})
entry = shaped({"id": anything, "link": anything, "title": anything, "summary": anything,
                "published_parsed": anything, "content": anything})


def gate(batch: Batch) -> None:
    assert isinstance(batch, Batch)
    fit_batch(batch)  # must not raise either


def through_reader(read, objects) -> None:
    lines = [(i, json.dumps(o, allow_nan=True) + "\n") for i, o in enumerate(objects, start=1)]
    report = MapReport()
    out = list(read(iter(lines), report))
    assert len(out) == len(lines)  # one result per line: a batch or its reason
    for _, item in out:
        assert isinstance(item, str) and item or isinstance(item, Batch)
        if isinstance(item, Batch):
            gate(item)
    assert all(isinstance(s, str) and s for s in report.skipped)


@PROFILE
@given(st.lists(page | tweet | v1 | anything, min_size=1, max_size=4))
def test_twarc_lines(objects):
    through_reader(twarc.read, objects)


@PROFILE
@given(page)
def test_x_v2_page(payload):
    batch, report = x.map_page(payload)
    gate(batch)


@PROFILE
@given(st.lists(reddit_thing | anything, min_size=1, max_size=4))
def test_reddit_dump_lines(objects):
    through_reader(reddit_dump.read, objects)


@PROFILE
@given(st.lists(st.tuples(st.sampled_from(["t1", "t3"]), reddit_thing), max_size=4))
def test_reddit_things(things):
    batch, _ = reddit.map_things(things, NOW)
    gate(batch)


@PROFILE
@given(st.lists(record | anything, min_size=1, max_size=4))
def test_plain_jsonl_lines(objects):
    through_reader(generic._read_jsonl, objects)


@PROFILE
@given(st.lists(status | anything, max_size=4))
def test_mastodon_statuses(statuses):
    batch, report = mastodon.map_statuses(statuses, "mastodon.example", NOW)
    gate(batch)


@PROFILE
@given(st.lists(post_view | anything, max_size=4))
def test_bluesky_post_views(views):
    batch, report = bluesky.map_post_views(views, NOW)
    gate(batch)


@PROFILE
@given(shaped({"feed": shaped({"link": anything, "title": anything, "language": anything}),
               "entries": st.lists(entry, max_size=4)}))
def test_news_feed(parsed):
    batch, report = news.map_feed(parsed, "https://feeds.example.com/rss", NOW)
    gate(batch)
