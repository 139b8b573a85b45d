"""The Reddit collector through the real praw client, against recorded oauth.reddit.com traffic."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest

from listener.errors import ConfigError
from listener.mapping.reddit import map_thread
from listener.query import Query
from tests.collectors.fake_apis import one_pass

FOREST = "TestCommentForest.test_replace__all.json"


def thread_ids(payload) -> set[str]:
    """Fullnames of every submission and comment in a /comments/ response (or listing)."""
    batch, _ = map_thread(payload)
    return {p.native_id for p in batch.posts}


def recorded_threads(fixtures: Path, query: str, subreddit: str | None = None):
    """(posts, reply interactions) of the recorded threads whose submission matches `query`."""
    q = Query(query)
    posts, interactions = set(), set()
    for path in sorted((fixtures / "reddit_threads").glob("*.json")):
        payload = json.loads(path.read_text())
        sub = payload[0]["data"]["children"][0]["data"]
        if q.matches(f"{sub['title']}\n{sub.get('selftext', '')}") and (
                subreddit is None or sub["subreddit"] == subreddit):
            batch, _ = map_thread(payload)
            posts |= {p.native_id for p in batch.posts}
            interactions |= {i.id for i in batch.interactions}
    return posts, interactions


def forest_ids(fixtures: Path) -> set[str]:
    """Every comment of submission 3hahrw the recording holds: the tree, morechildren answers
    and "continue this thread" pages, collected straight from the cassette."""
    ids = set()
    for it in json.loads((fixtures / "praw_cassettes" / FOREST).read_text())["interactions"][1:]:
        body = json.loads(it["response"]["body"]["string"])
        if isinstance(body, list):
            ids |= thread_ids(body)
        else:
            ids |= {f"t1_{t['data']['id']}" for t in body["json"]["data"]["things"]
                    if t["kind"] == "t1"}
    return ids


def test_search_stores_matching_threads_with_their_comment_trees(
        sqlite_store, reddit_api, make, fixtures):
    sqlite_store.add_brand("Debunk", "debunk")
    result = one_pass(sqlite_store, make("reddit"))
    posts, interactions = recorded_threads(fixtures, "debunk")
    assert len(posts) > 100
    status = sqlite_store.status()
    assert status["posts"] == len(posts) == result.inserted
    assert status["interactions"] == len(interactions)
    assert result.failures == []
    searches = [url for _, url in reddit_api.log if "/search" in url]
    assert searches and all("/r/all/search" in url and "sort=new" in url for url in searches)
    assert "q=debunk" in searches[0]


def test_comment_forest_resolves_more_and_continue_threads(sqlite_store, reddit_api, make,
                                                          fixtures):
    sqlite_store.add_brand("Drum", "tsss")  # "Ba Dum Tsss", the recorded comment forest
    result = one_pass(sqlite_store, make("reddit"))
    expected = forest_ids(fixtures)
    assert len(expected) == 542  # 541 comments and the submission
    assert sqlite_store.status()["posts"] == result.inserted == 542
    assert sum(1 for method, url in reddit_api.log if "morechildren" in url) == 12
    replies = sqlite_store.status()["interactions"]
    assert 0 < replies < 542  # replies between live authors; deleted ones have no edges


def test_more_limit_bounds_the_requests_per_thread(sqlite_store, reddit_api, make):
    sqlite_store.add_brand("Drum", "tsss")
    result = one_pass(sqlite_store, make("reddit", more_limit=0))
    assert not any("morechildren" in url for _, url in reddit_api.log)
    assert 1 < result.inserted < 542


def test_search_within_selected_subreddits(sqlite_store, reddit_api, make, settings, fixtures):
    settings.reddit_subreddits = "r/DebunkThis, AskReddit"
    sqlite_store.add_brand("Debunk", "debunk OR true")
    one_pass(sqlite_store, make("reddit"))
    searches = [url for _, url in reddit_api.log if "/search" in url]
    assert "/r/DebunkThis+AskReddit/search" in searches[0] and "restrict_sr=True" in searches[0]
    expected = set()
    for sub in ("DebunkThis", "AskReddit"):
        expected |= recorded_threads(fixtures, "debunk OR true", sub)[0]
    assert sqlite_store.status()["posts"] == len(expected)


def test_watched_subreddit_new_submissions_and_comments(sqlite_store, reddit_api, make,
                                                       settings, fixtures):
    settings.reddit_watch = "askreddit"
    result = one_pass(sqlite_store, make("reddit"))
    labels = [u.label for u in result.units]
    assert labels == ["r/askreddit new submissions", "r/askreddit new comments"]
    assert [u.fetched for u in result.units] == [100, 100]
    assert sqlite_store.status()["posts"] == 200
    listing = json.loads(json.loads(
        (fixtures / "praw_cassettes" / "TestSubredditListings.test_comments.json").read_text()
    )["interactions"][1]["response"]["body"]["string"])
    top_level = [c["data"] for c in listing["data"]["children"]
                 if c["data"]["parent_id"].startswith("t3_")
                 and "[deleted]" not in (c["data"]["author"], c["data"]["link_author"])]
    # A top-level comment replies to the submission's author, named in `link_author`.
    assert sqlite_store.status()["interactions"] == len(top_level) > 0


def test_second_run_adds_nothing(sqlite_store, reddit_api, make, settings):
    settings.reddit_watch = "askreddit"
    sqlite_store.add_brand("Debunk", "debunk")
    first = one_pass(sqlite_store, make("reddit"))
    cursor = json.loads(sqlite_store.get_cursor("reddit", "search:all:debunk"))
    assert cursor["since"] > 1.4e9
    before = sqlite_store.status()
    again = one_pass(sqlite_store, make("reddit"))
    assert first.inserted > 0 and again.inserted == 0
    assert sqlite_store.status() == before
    # The second search stopped at the cursor: it re-read only the newest hour's threads.
    assert again.units[0].fetched < first.units[0].fetched


def test_rate_limit_waits_for_the_reset(sqlite_store, reddit_api, make, sleeps, notes):
    sqlite_store.add_brand("Debunk", "debunk")
    reddit_api.plan = [None, "429"]  # the token is granted, the search is refused once
    result = one_pass(sqlite_store, make("reddit"), notes)
    assert any(119 <= s <= 122 for s in sleeps)
    assert any("Reddit rate limit reached" in m and "waiting until" in m for m in notes)
    assert result.rate_limited == 1 and result.inserted > 0


def test_server_errors_are_retried(sqlite_store, reddit_api, make, sleeps, notes):
    sqlite_store.add_brand("Debunk", "debunk")
    # prawcore retries a 5xx twice itself; the third failure reaches our policy.
    reddit_api.plan = [None, "503", "503", "503", "conn"]
    result = one_pass(sqlite_store, make("reddit"), notes)
    assert result.failures == [] and result.inserted > 0
    assert any("retrying in" in m for m in notes)


def test_a_token_endpoint_outage_is_retried_not_fatal(sqlite_store, reddit_api, make, sleeps,
                                                     notes):
    sqlite_store.add_brand("Debunk", "debunk")
    reddit_api.plan = ["503"]  # the token request itself fails once (prawcore does not retry it)
    result = one_pass(sqlite_store, make("reddit"), notes)
    assert result.failures == [] and result.error is None and result.inserted > 0
    assert any("retrying in" in m for m in notes)


def test_auth_failure_names_the_env_vars(sqlite_store, reddit_api, make):
    sqlite_store.add_brand("Debunk", "debunk")
    reddit_api.auth_fails = True
    result = one_pass(sqlite_store, make("reddit"))
    assert "UNDERTOW_REDDIT_CLIENT_ID" in result.error
    assert "UNDERTOW_REDDIT_CLIENT_SECRET" in result.error


def test_missing_credentials_are_a_config_error(make, settings):
    settings.reddit_client_id = ""
    with pytest.raises(ConfigError, match="UNDERTOW_REDDIT_CLIENT_ID"):
        make("reddit")


def test_malformed_items_are_skipped_with_their_id(sqlite_store, reddit_api, make, settings):
    settings.reddit_watch = "askreddit"
    listing = reddit_api.listings["/r/askreddit/new"] = copy.deepcopy(
        reddit_api.listings["/r/askreddit/new"])
    bad = listing["data"]["children"][3]["data"]
    bad["created_utc"] = "yesterday"
    result = one_pass(sqlite_store, make("reddit"))
    assert any(bad["id"] in s for s in result.units[0].skipped)
    assert result.units[0].inserted == 99


def test_a_missing_subreddit_fails_only_its_units(sqlite_store, reddit_api, make, settings):
    settings.reddit_watch = "nosuchsub, askreddit"
    result = one_pass(sqlite_store, make("reddit"))
    assert [u.error is not None for u in result.units] == [True, True, False, False]
    assert result.inserted == 200


def test_credentials_never_reach_the_log(sqlite_store, reddit_api, make, caplog, settings):
    caplog.set_level(logging.DEBUG)
    # an in-process CLI test before this one quietens prawcore (listener/cli/edge.py); ask for it
    caplog.set_level(logging.DEBUG, logger="prawcore")
    sqlite_store.add_brand("Debunk", "debunk")
    one_pass(sqlite_store, make("reddit"))
    assert "Fetching: GET" in caplog.text  # prawcore did log its requests
    assert settings.reddit_client_secret.get() not in caplog.text


def test_one_slow_thread_costs_only_that_thread(sqlite_store, reddit_api, make, settings, http):
    """A read timeout on one 'load more' call is that thread's bad luck, not a dead Reddit."""
    import requests
    import responses

    from tests.collectors.fake_apis import REDDIT_OAUTH

    settings.reddit_watch = "askreddit"
    sqlite_store.add_brand("Drum", "tsss")
    http.replace(responses.POST, f"{REDDIT_OAUTH}/api/morechildren/",
                 body=requests.ReadTimeout("read timed out"))
    result = one_pass(sqlite_store, make("reddit"))
    assert [u.label for u in result.units] == ["search Drum", "r/askreddit new submissions",
                                              "r/askreddit new comments"]
    assert all(u.error is None for u in result.units) and sqlite_store.status()["posts"] > 0
