"""The Reddit collector through the real praw client, against recorded oauth.reddit.com traffic."""

from __future__ import annotations

import copy
import json
import logging
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from listener.errors import ConfigError
from listener.mapping.reddit import map_thread
from listener.query import Query
from tests.collectors.fake_apis import Killed, kill_commits, one_pass, passes_until_caught_up

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


# -- a sweep cut by the thread cap is continued, not skipped -------------------------------------

def native_ids(store) -> set[str]:
    with store.engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql("SELECT native_id FROM posts")}


def uncapped(store_templates, tmp_path, make, cursor: str | None = None, *,
             max_threads: int = 1000, **options) -> set[str]:
    """What one pass without a thread cap stores (from `cursor`), in a store of its own."""
    store = store_templates.sqlite_store(tmp_path / "uncapped.db")
    try:
        store.add_brand("Debunk", "debunk")
        if cursor:
            store.set_cursor("reddit", "search:all:debunk", cursor)
        result = one_pass(store, make("reddit", max_threads=max_threads, **options))
        assert not result.behind and result.failures == []
        return native_ids(store)
    finally:
        store.close()


def debunk_threads(reddit_api) -> list[dict]:
    """The submissions a search for "debunk" finds, newest first."""
    q = Query("debunk")
    return sorted((s for s in reddit_api.submissions.values()
                   if q.matches(f"{s['title']}\n{s.get('selftext', '')}")),
                  key=lambda s: -s["created_utc"])


def trees_read(reddit_api) -> list[str]:
    """The submissions whose comment tree was requested, in order (one entry per request)."""
    return [m.group(1) for _, url in reddit_api.log
            if (m := re.search(r"/comments/(\w+)/?(?:\?|$)", url))]


def searches(reddit_api) -> list[dict[str, str]]:
    return [{k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
            for _, url in reddit_api.log if "/search" in url]


def test_a_capped_search_sweep_is_continued_by_the_next_pass(
        sqlite_store, reddit_api, make, store_templates, tmp_path):
    threads = debunk_threads(reddit_api)
    assert len(threads) == 9
    # A cap the sweep just fits is no cap: the pass sees nothing after it and is not behind.
    want = uncapped(store_templates, tmp_path, make, max_threads=9)
    assert len(want) > 100
    sqlite_store.add_brand("Debunk", "debunk")
    reddit_api.log = []
    results = passes_until_caught_up(sqlite_store, make("reddit", max_threads=2))
    assert [r.behind for r in results] == [True] * 4 + [False]  # 2 + 2 + 2 + 2 + 1 threads
    assert results[0].units[0].more and not results[-1].units[0].more
    assert native_ids(sqlite_store) == want and sqlite_store.status()["posts"] == len(want)
    # Every thread's tree was read once, in order: each pass went on after the last one saved.
    assert trees_read(reddit_api) == [s["id"] for s in threads]
    assert [q.get("after") for q in searches(reddit_api)] == [
        None, threads[1]["name"], threads[3]["name"], threads[5]["name"], threads[7]["name"]]
    cursor = json.loads(sqlite_store.get_cursor("reddit", "search:all:debunk"))
    assert cursor == {"since": threads[0]["created_utc"]}


def test_an_old_cursor_loads_and_the_overlap_is_kept_across_the_passes(
        sqlite_store, reddit_api, make, store_templates, tmp_path):
    threads = debunk_threads(reddit_api)
    old = json.dumps({"since": threads[3]["created_utc"]})  # the format before sweeps resumed
    overlap = threads[3]["created_utc"] - threads[4]["created_utc"] + 1  # reaches the 5th
    want = uncapped(store_templates, tmp_path, make, old, overlap=overlap)
    sqlite_store.add_brand("Debunk", "debunk")
    sqlite_store.set_cursor("reddit", "search:all:debunk", old)
    reddit_api.log = []
    results = passes_until_caught_up(sqlite_store, make("reddit", max_threads=2,
                                                        overlap=overlap))
    assert [r.behind for r in results] == [True, True, False]  # 2 + 2 + 1 threads
    assert trees_read(reddit_api) == [s["id"] for s in threads[:5]]  # the 5th: the overlap
    assert native_ids(sqlite_store) == want


def test_a_resumed_sweep_whose_last_thread_is_gone_reads_again_from_the_top(
        sqlite_store, reddit_api, make, store_templates, tmp_path, caplog):
    want = uncapped(store_templates, tmp_path, make)
    threads = debunk_threads(reddit_api)
    sqlite_store.add_brand("Debunk", "debunk")
    collector = make("reddit", max_threads=4)
    assert one_pass(sqlite_store, collector).behind
    del reddit_api.submissions[threads[3]["name"]]  # the cursor's `after`, deleted since
    reddit_api.log = []
    results = passes_until_caught_up(sqlite_store, collector)
    assert "reading the sweep again from the top" in caplog.text
    assert [q.get("after") for q in searches(reddit_api)][:2] == [threads[3]["name"], None]
    assert native_ids(sqlite_store) == want and not results[-1].behind


def test_a_kill_mid_sweep_resumes_after_the_last_saved_thread(
        sqlite_store, reddit_api, make, monkeypatch):
    threads = debunk_threads(reddit_api)
    sqlite_store.add_brand("Debunk", "debunk")
    countdown = kill_commits(monkeypatch)
    countdown["commit"] = 3  # dies writing the third thread
    with pytest.raises(Killed):
        one_pass(sqlite_store, make("reddit"))
    cursor = json.loads(sqlite_store.get_cursor("reddit", "search:all:debunk"))
    assert cursor == {"after": threads[1]["name"], "newest": threads[0]["created_utc"]}
    reddit_api.log = []
    one_pass(sqlite_store, make("reddit"))
    assert searches(reddit_api)[0]["after"] == threads[1]["name"]
    assert trees_read(reddit_api) == [s["id"] for s in threads[2:]]  # the killed page again
    assert json.loads(sqlite_store.get_cursor("reddit", "search:all:debunk")) == {
        "since": threads[0]["created_utc"]}
