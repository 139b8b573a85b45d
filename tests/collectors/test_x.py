"""The X collector through the real tweepy client, against recorded API v2 responses."""

from __future__ import annotations

import copy
import json
import logging
import threading
from datetime import UTC, datetime

import pytest
import responses
import yaml

from listener.collectors.x import SearchCursor
from listener.errors import AuthError, ConfigError
from listener.mapping.x import map_page
from listener.query import Query
from listener.store import Store
from tests.collectors.fake_apis import X_API, FakeX, one_pass

# What the recorded pages hold (checked against map_page below): data tweets, referenced
# tweets from includes (some are also data tweets), users in includes plus mention-only users.
BREXIT_POSTS, KPOP_POSTS = 155, 121


def recorded(x_searches, query):
    """Posts, authors and interactions the recorded pages of `query` map to (as an import would)."""
    posts, authors, interactions = set(), set(), set()
    for page in x_searches[query]:
        batch, _ = map_page(page)
        posts |= {p.native_id for p in batch.posts}
        authors |= {a.native_id for a in batch.authors} | {p.author_native_id for p in batch.posts}
        authors |= {i.target_author_native_id for i in batch.interactions}
        interactions |= {i.id for i in batch.interactions}
    return posts, authors, interactions


def stored(store: Store) -> tuple[int, int, int]:
    s = store.status()
    return s["posts"], s["authors"], s["interactions"]


@pytest.fixture
def brands(sqlite_store):
    sqlite_store.add_brand("Brexit", "#brexit")
    sqlite_store.add_brand("Kpop", "#kpop")
    return sqlite_store


def test_fixture_counts(x_searches):
    assert len(recorded(x_searches, "#brexit")[0]) == BREXIT_POSTS
    assert len(recorded(x_searches, "#kpop")[0]) == KPOP_POSTS


@pytest.mark.parametrize("page_size", [100, 10])
def test_search_stores_exactly_what_x_returned(brands, x_api, make, x_searches, page_size):
    store = brands
    result = one_pass(store, make("x", max_results=page_size))
    posts, authors, interactions = (len(set().union(*parts)) for parts in zip(
        recorded(x_searches, "#brexit"), recorded(x_searches, "#kpop"), strict=True))
    if page_size == 10:
        # Two quote edges go from an included tweet to a tweet that only another page's
        # includes carry (expansions reach one level), so smaller pages cannot see them.
        interactions -= 2
    assert stored(store) == (posts, authors, interactions)
    assert result.inserted == BREXIT_POSTS + KPOP_POSTS
    assert result.failures == []
    pages = [q for q in x_api.searches if q["query"] == "#brexit"]
    if page_size == 10:
        assert len(pages) == 10  # 100 tweets, 10 a page: pagination followed to the end
        assert [q.get("next_token") for q in pages[1:]] == [f"tok{i}" for i in range(10, 100, 10)]
    assert {"author_id", "referenced_tweets.id.author_id", "entities.mentions.username"} <= set(
        pages[0]["expansions"].split(","))
    assert "public_metrics" in pages[0]["user.fields"].split(",")
    # Brand tagging: each tweet of the #brexit search matched the Brexit brand locally.
    per_brand = store.status()["per_brand"]
    assert per_brand["Brexit"] > 0 and per_brand["Kpop"] > 0


def test_second_run_adds_nothing_and_asks_only_for_newer(brands, x_api, make):
    store = brands
    one_pass(store, make("x"))
    before = stored(store)
    newest = max(t["id"] for t in x_api.pools["#brexit"].tweets.values())
    assert SearchCursor.load(store.get_cursor("x", "search:#brexit")) == SearchCursor(newest)
    x_api.searches.clear()
    again = one_pass(store, make("x"))
    assert again.inserted == 0
    assert stored(store) == before
    assert [q["since_id"] for q in x_api.searches if q["query"] == "#brexit"] == [newest]


def test_since_id_resume_fetches_only_new_tweets(brands, x_api, make):
    store = brands
    order = x_api.pools["#brexit"].order
    x_api.visible_until = int(order[40])  # the 60 newest are not posted yet
    first = one_pass(store, make("x", max_results=25))
    brexit_first = first.units[0].inserted
    assert first.units[0].fetched == 60
    x_api.visible_until = None
    x_api.searches.clear()
    second = one_pass(store, make("x", max_results=25))
    assert {q["since_id"] for q in x_api.searches if q["query"] == "#brexit"} == {order[40]}
    assert second.units[0].fetched == 40
    assert brexit_first + second.units[0].inserted == BREXIT_POSTS


def test_page_cap_leaves_a_resumable_sweep(brands, x_api, make):
    store = brands
    capped = one_pass(store, make("x", max_results=10, max_pages=3))
    assert capped.behind and [u.more for u in capped.units] == [True, True]
    cursor = SearchCursor.load(store.get_cursor("x", "search:#brexit"))
    order = x_api.pools["#brexit"].order
    assert cursor == SearchCursor(None, order[29], order[0])
    x_api.searches.clear()
    one_pass(store, make("x", max_results=10, max_pages=3))
    assert x_api.searches[0]["until_id"] == order[29]
    assert "since_id" not in x_api.searches[0]
    done = one_pass(store, make("x", max_results=10, max_pages=100))
    assert not done.behind
    assert SearchCursor.load(store.get_cursor("x", "search:#brexit")) == SearchCursor(order[0])
    assert store.status()["per_platform"]["x"] == BREXIT_POSTS + KPOP_POSTS


def test_listen_continues_a_capped_sweep_at_once(brands, x_api, make, settings, monkeypatch):
    """After a restart a busy brand's search has more to read than one capped pass: `listen`
    goes on with the sweep right away instead of waiting an hour-long interval per 3 pages."""
    from listener.collectors import job
    from listener.service import ServiceState

    store, stop, lines, state, behind = brands, threading.Event(), [], ServiceState(), []
    monkeypatch.setattr(job, "build_collectors",
                        lambda *a, **k: [make("x", max_results=10, max_pages=3)])
    watcher = threading.Timer(60, stop.set)  # a wait of the interval would end here, short
    watcher.start()

    def until_all_stored(message: str) -> None:
        lines.append(message)
        if "new posts this pass" in message:  # what /metrics said of the pass just ended
            behind.append(state.sources["x"].behind)
        if store.status()["per_platform"].get("x", 0) >= BREXIT_POSTS + KPOP_POSTS:
            stop.set()

    try:
        job.listen(store, settings, platforms=["x"], intervals={"x": 3600}, echo=until_all_stored,
                   stop=stop, state=state)
    finally:
        watcher.cancel()
    assert store.status()["per_platform"]["x"] == BREXIT_POSTS + KPOP_POSTS
    passes = [m for m in lines if "new posts this pass" in m]
    assert len(passes) >= 3 and all("catching up" in m for m in passes[:-1]), passes
    assert behind == [True] * (len(passes) - 1) + [False]
    assert SearchCursor.load(store.get_cursor("x", "search:#brexit")) == \
        SearchCursor(x_api.pools["#brexit"].order[0])


def test_rate_limit_waits_until_the_announced_reset(brands, x_api, make, sleeps, notes):
    x_api.plan = ["429"]
    result = one_pass(brands, make("x"), notes)
    assert 119 <= sleeps[0] <= 122  # the fake announces a reset 120 s ahead
    assert any("rate limit reached" in m and "waiting until" in m for m in notes)
    assert result.rate_limited == 1
    assert result.inserted == BREXIT_POSTS + KPOP_POSTS


def test_rate_limit_wait_is_capped(brands, x_api, make, sleeps, notes):
    x_api.plan = ["429"]
    collector = make("x")
    collector.policy.max_rate_wait = 30
    one_pass(brands, collector, notes)
    assert sleeps[0] == 30
    assert any("capped" in m for m in notes)


def test_an_used_up_window_is_waited_out_before_the_next_call(brands, x_api, make, sleeps,
                                                              notes):
    x_api.window_used_up_at = 1  # the first answer says: 0 requests left until reset
    result = one_pass(brands, make("x", max_results=50), notes)
    assert 59 <= sleeps[0] <= 62 and len(sleeps) == 1
    assert any("X rate limit reached (search); waiting until" in m for m in notes)
    assert result.inserted == BREXIT_POSTS + KPOP_POSTS  # and no 429 was needed


def test_server_and_connection_errors_are_retried_with_backoff(brands, x_api, make, sleeps):
    x_api.plan = ["503", "conn", "bad-json", "500"]
    result = one_pass(brands, make("x"))
    assert result.inserted == BREXIT_POSTS + KPOP_POSTS
    assert len(sleeps) == 4
    for attempt, delay in enumerate(sleeps):  # equal jitter: within [ceiling/2, ceiling]
        ceiling = 2.0 * 2 ** attempt
        assert ceiling / 2 <= delay <= ceiling


def test_a_unit_that_keeps_failing_is_reported_and_the_rest_collected(brands, x_api, make):
    x_api.plan = ["503"] * 6
    result = one_pass(brands, make("x"))
    assert [u.error is not None for u in result.units] == [True, False]
    assert "failed 6 times" in result.failures[0]
    assert result.inserted == KPOP_POSTS
    assert brands.get_cursor("x", "search:#brexit") is None


def test_an_unreachable_api_fails_once_for_the_run(brands, x_api, make, notes):
    x_api.plan = ["refused"] * 12
    result = one_pass(brands, make("x"), notes)
    assert x_api.calls == 6  # the second brand was skipped, not retried through the backoff
    assert [u.label for u in result.units] == ["search Brexit"]
    assert result.failures == [
        "search Brexit: X search Brexit failed 6 times; last error: connection problem "
        "(ConnectionError); skipping X for the rest of this run: check the network connection"]
    assert sum("failed:" in m for m in notes) == 1


def test_connections_that_fail_midway_fail_only_their_unit(brands, x_api, make):
    x_api.plan = ["conn"] * 6  # reset mid-request: bad luck for one request, not a dead server
    result = one_pass(brands, make("x"))
    assert [u.error is not None for u in result.units] == [True, False]
    assert result.inserted == KPOP_POSTS


def test_auth_failure_stops_the_source_and_names_the_env_var(brands, x_api, make):
    x_api.plan = ["401"]
    result = one_pass(brands, make("x"))
    assert "UNDERTOW_X_BEARER_TOKEN" in result.error
    assert result.units[0].inserted == 0 and len(x_api.searches) == 0
    assert len(result.units) == 1  # the second brand was not attempted


def test_missing_token_is_a_config_error(make, settings):
    settings.x_bearer_token = type(settings.x_bearer_token)("")
    with pytest.raises(ConfigError, match="UNDERTOW_X_BEARER_TOKEN"):
        make("x")


def test_malformed_tweets_are_skipped_with_their_id(http, sqlite_store, make, x_searches):
    pages = copy.deepcopy(x_searches["#brexit"])
    broken = pages[0]["data"][5]
    del broken["created_at"]
    pages[0]["data"][7]["created_at"] = "last tuesday"
    FakeX(http, {"#brexit": pages})
    sqlite_store.add_brand("Brexit", "#brexit")
    result = one_pass(sqlite_store, make("x"))
    skipped = [s for s in result.skipped if "missing" in s or "unreadable" in s]
    assert any(broken["id"] in s and "created_at" in s for s in skipped)
    assert any(pages[0]["data"][7]["id"] in s for s in skipped)
    assert result.inserted == BREXIT_POSTS - 2


def test_the_compiled_query_is_what_x_receives(sqlite_store, x_api, make):
    sqlite_store.add_brand("United", '(united OR @united) -"manchester united"')
    one_pass(sqlite_store, make("x"))
    assert x_api.searches[0]["query"] == '(united OR @united) -"manchester united"'
    assert x_api.searches[0]["query"] == Query(sqlite_store.brand("United").query).to_x()


def test_backfill_window_applies_to_the_first_run_only(brands, x_api, make):
    # The recorded #brexit tweets were posted 16:25-16:37 UTC on 2021-09-22.
    collector = make("x", backfill_hours=0.15,
                     clock=lambda: datetime(2021, 9, 22, 16, 40, tzinfo=UTC))
    first = one_pass(brands, collector)
    assert x_api.searches[0]["start_time"].startswith("2021-09-22T16:31:00")
    assert "since_id" not in x_api.searches[0]
    assert 0 < first.units[0].fetched < 100  # only the tweets of the last hour
    x_api.searches.clear()
    one_pass(brands, collector)
    assert "start_time" not in x_api.searches[0] and "since_id" in x_api.searches[0]


def test_stream_syncs_rules_stores_tweets_and_reconnects(brands, x_api, make, sleeps):
    x_api.rules["1"] = {"id": "1", "value": "old rule", "tag": "Gone"}
    x_api.stream_plan = [200, 503, 200]
    stop = threading.Event()
    x_api.on_connect = lambda count: count >= 3 and stop.set()
    pages = []
    make("x").stream(brands.brands(), stop, pages.append)
    assert sorted((r["value"], r["tag"]) for r in x_api.rules.values()) == [
        ("#brexit", "Brexit"), ("#kpop", "Kpop")]
    tweets = [p for p in pages if p.batch.posts]
    assert len(tweets) == 7
    assert all(p.brands == ("Brexit",) for p in tweets)
    bad = [s for p in pages for s in p.report.skipped if "malformed" in s]
    assert len(bad) == 1
    assert x_api.connections >= 3 and len(sleeps) >= 1  # the 503 and the closed stream
    for page in tweets:
        brands.write(page.batch)
    assert brands.status()["posts"] == len({p.native_id for t in tweets for p in t.batch.posts})


def test_stream_auth_failure_names_the_env_var(brands, x_api, make):
    x_api.stream_plan = [401]
    with pytest.raises(AuthError, match="UNDERTOW_X_BEARER_TOKEN"):
        make("x").stream(brands.brands(), threading.Event(), lambda page: None)


def test_cursor_is_json_and_round_trips():
    cursor = SearchCursor("1", "5", "9")
    assert json.loads(cursor.dump()) == {"since_id": "1", "until_id": "5", "newest_id": "9"}
    assert SearchCursor.load(cursor.dump()) == cursor
    assert SearchCursor.load(None) == SearchCursor()


def test_a_tweepy_cassette_replayed_verbatim(http, sqlite_store, make, fixtures):
    """tweepy's own recording of a recent search (gzip body, real rate-limit headers). It asked
    for no fields, so its tweets lack author and time: each is reported by id, none stored."""
    cassette = yaml.safe_load(
        (fixtures / "tweepy_cassettes" / "test_client_search_recent_tweets.yaml").read_text())
    response = cassette["interactions"][0]["response"]
    headers = {k: v[0] for k, v in response["headers"].items() if k != "content-length"}
    answers = [(200, headers, response["body"]["string"])]
    http.add_callback(responses.GET, f"{X_API}/tweets/search/recent",
                      lambda request: answers.pop(0) if answers else
                      (200, {}, json.dumps({"meta": {"result_count": 0}})))
    sqlite_store.add_brand("Tweepy", "tweepy")
    result = one_pass(sqlite_store, make("x"))
    assert result.fetched == 10 and result.inserted == 0
    assert len(result.skipped) == 10
    assert result.skipped[0] == "tweet 1578516068309794817: missing author_id, created_at"
    assert SearchCursor.load(sqlite_store.get_cursor("x", "search:tweepy")).since_id == \
        "1578516068309794817"


def test_the_bearer_token_never_reaches_the_log(brands, x_api, make, caplog, settings):
    caplog.set_level(logging.DEBUG)
    one_pass(brands, make("x"))
    make("x").sync_rules(brands.brands())
    assert "Bearer ***" in caplog.text  # tweepy did log the request headers
    assert settings.x_bearer_token.get() not in caplog.text
