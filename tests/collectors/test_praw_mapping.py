"""praw objects map to exactly what their raw JSON maps to (pure; no network)."""

from __future__ import annotations

import json

import praw
import pytest

from listener.mapping.praw_objects import map_praw, thing_data
from listener.mapping.reddit import map_things


@pytest.fixture(scope="module")
def reddit():
    return praw.Reddit(client_id="id", client_secret="secret", user_agent="tests",
                       check_for_updates=False, check_for_async=False)


def listing(fixtures, name):
    cassette = json.loads((fixtures / "praw_cassettes" / name).read_text())
    return json.loads(cassette["interactions"][1]["response"]["body"]["string"])["data"]["children"]


def objects(reddit, children):
    kinds = {"t1": praw.models.Comment, "t3": praw.models.Submission}
    return [kinds[c["kind"]](reddit, _data=dict(c["data"])) for c in children]


@pytest.mark.parametrize("name", ["TestSubredditListings.test_new.json",
                                  "TestSubredditListings.test_comments.json"])
def test_praw_objects_map_like_their_json(reddit, fixtures, name):
    children = listing(fixtures, name)
    from_json, _ = map_things([(c["kind"], c["data"]) for c in children])
    from_praw, report = map_praw(objects(reddit, children))
    assert report.skipped == []
    assert [(p.native_id, p.author_native_id, p.text, p.created_at, p.likes, p.parent_native_id)
            for p in from_praw.posts] == [
        (p.native_id, p.author_native_id, p.text, p.created_at, p.likes, p.parent_native_id)
        for p in from_json.posts]
    assert len(from_praw.posts) == 100


def test_thing_data_gives_back_names_not_objects(reddit, fixtures):
    child = listing(fixtures, "TestSubredditListings.test_new.json")[0]
    kind, data = thing_data(objects(reddit, [child])[0])
    assert kind == "t3"
    assert data["author"] == child["data"]["author"]
    assert data["subreddit"] == child["data"]["subreddit"]
    assert not any(k.startswith("_") for k in data)


def test_top_level_comments_reply_to_the_submission_author(reddit, fixtures):
    children = listing(fixtures, "TestSubredditListings.test_comments.json")
    batch, _ = map_praw(objects(reddit, children))
    replies = {(i.source_post_native_id, i.target_author_native_id) for i in batch.interactions}
    for c in children:
        d = c["data"]
        if d["parent_id"].startswith("t3_") and "[deleted]" not in (d["author"], d["link_author"]):
            assert (d["name"], d["link_author"]) in replies


def test_unreadable_times_are_skipped_with_the_id(reddit, fixtures):
    children = listing(fixtures, "TestSubredditListings.test_new.json")[:3]
    children[1]["data"] = dict(children[1]["data"], created_utc="soon")
    batch, report = map_praw(objects(reddit, children))
    assert len(batch.posts) == 2
    assert report.skipped[0].startswith(f"t3 {children[1]['data']['id']}:")
