"""The Bluesky collector through the real atproto client, against a fake AppView on loopback.

tests/fixtures/bluesky holds XRPC responses written to the lexicons (app.bsky.feed.searchPosts,
getPostThread, getRepostedBy, app.bsky.actor.getProfiles, com.atproto.server.createSession); the
first test checks them against the SDK's lexicon models. The fake serves them over real HTTP on
127.0.0.1, so the SDK builds, sends and parses true wire traffic: it answers a search from every
post the fixtures hold (filtered by the query, `since`/`until` and `visible_until`, newest first,
paged by an offset cursor), as the AppView does.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from atproto_client import models
from atproto_client.models.utils import get_or_create
from click.testing import CliRunner

from listener.collectors.bluesky import SearchCursor, search_terms
from listener.errors import ConfigError
from listener.mapping.bluesky import author_of, map_post_views, map_reposted_by, merge_authors
from listener.post import Author
from listener.query import Query
from listener.settings import Secret
from tests.collectors.fake_apis import one_pass

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bluesky"
HANDLE, PASSWORD = "undertow-test.bsky.social", "abcd-efgh-ijkl-mnop"
ACME, ZEPHYR = '(acme OR #acmeair) -"acme anvil"', "zephyr"
# What the fixtures hold for these brands: 11 search hits that match (P4 "acme anvil" does not),
# 4 replies only their threads carry, 1 quoted post (also a hit); 8 authors (Erin wrote only P4);
# 11 interactions: 5 replies in threads and 1 hit that replies, 1 quote, 1 mention, 3 reposts.
POSTS, AUTHORS, INTERACTIONS = 16, 8, 11


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def sort_key(view: dict[str, Any]) -> str:
    return min(view["record"]["createdAt"], view["indexedAt"])


class FakeBluesky:
    """A PDS/AppView on 127.0.0.1 answering from the fixtures; faults scripted per request."""

    def __init__(self) -> None:
        self.session = load("createSession.json")
        self.threads = load("getPostThread.json")
        self.reposts = load("getRepostedBy.json")
        self.profiles = {p["did"]: p for p in load("getProfiles.json")["profiles"]}
        self.pool: dict[str, dict] = {v["uri"]: v for v in load("searchPosts.json")["posts"]}
        for body in self.threads.values():
            stack = [body["thread"]]
            while stack:
                node = stack.pop()
                self.pool.setdefault(node["post"]["uri"], node["post"])
                stack.extend(node.get("replies") or [])
        self.visible_until: str | None = None  # posts sorted after this are "not posted yet"
        self.plan: list[str | None] = []
        self.log: list[tuple[str, dict[str, list[str]]]] = []
        self.logins = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each response waits on a delayed ACK

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                fake.handle(self, {})

            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                fake.handle(self, json.loads(self.rfile.read(size) or b"{}"))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def searches(self) -> list[dict[str, str]]:
        return [{k: v[0] for k, v in q.items()} for nsid, q in self.log
                if nsid == "app.bsky.feed.searchPosts"]

    def handle(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        url = urlparse(h.path)
        nsid, q = url.path.removeprefix("/xrpc/"), parse_qs(url.query)
        self.log.append((nsid, q))
        step = self.plan.pop(0) if self.plan else None
        if step == "drop":  # the connection dies before any response
            h.close_connection = True
            h.connection.shutdown(2)
            return
        if step == "bad-json":
            return self.send(h, 200, b'{"posts": [{"uri": "at://', raw=True)
        if step == "429":
            reset = int(datetime.now(UTC).timestamp()) + 120
            return self.send(h, 429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                             {"ratelimit-limit": "3000", "ratelimit-remaining": "0",
                              "ratelimit-reset": str(reset), "ratelimit-policy": "3000;w=300"})
        if step:
            return self.send(h, int(step), {"error": "InternalServerError",
                                            "message": "Internal Server Error"})
        if nsid == "com.atproto.server.createSession":
            self.logins += 1
            if (body.get("identifier"), body.get("password")) != (HANDLE, PASSWORD):
                return self.send(h, 401, {"error": "AuthenticationRequired",
                                          "message": "Invalid identifier or password"})
            return self.send(h, 200, self.session)
        if h.headers.get("authorization") != f"Bearer {self.session['accessJwt']}":
            return self.send(h, 401, {"error": "AuthMissing",
                                      "message": "Authentication Required"})
        one = {k: v[0] for k, v in q.items()}
        if nsid == "app.bsky.feed.searchPosts":
            return self.send(h, 200, self.search(one))
        if nsid == "app.bsky.feed.getPostThread":
            if one["uri"] not in self.threads:
                return self.send(h, 400, {"error": "NotFound",
                                          "message": f"Post not found: {one['uri']}"})
            return self.send(h, 200, self.threads[one["uri"]])
        if nsid == "app.bsky.feed.getRepostedBy":
            return self.send(h, 200, self.reposts.get(one["uri"]) or
                             {"uri": one["uri"], "repostedBy": []})
        if nsid == "app.bsky.actor.getProfiles":
            found = [self.profiles[a] for a in q.get("actors", []) if a in self.profiles]
            return self.send(h, 200, {"profiles": found})
        return self.send(h, 501, {"error": "MethodNotImplemented",
                                  "message": "Method Not Implemented"})

    def search(self, q: dict[str, str]) -> dict[str, Any]:
        query = Query(q["q"])
        hits = sorted((v for v in self.pool.values()
                       if query.matches(v["record"]["text"])
                       and (self.visible_until is None or sort_key(v) <= self.visible_until)
                       and sort_key(v) >= q.get("since", "")
                       and sort_key(v) < q.get("until", "9999")),
                      key=sort_key, reverse=True)
        start, size = int(q.get("cursor") or 0), int(q.get("limit") or 25)
        body: dict[str, Any] = {"hitsTotal": len(hits), "posts": hits[start:start + size]}
        if start + size < len(hits):
            body["cursor"] = str(start + size)
        return body

    def send(self, h: BaseHTTPRequestHandler, status: int, body: Any,
             headers: dict[str, str] | None = None, raw: bool = False) -> None:
        data = body if raw else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("content-type", "application/json; charset=utf-8")
        h.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)


@pytest.fixture
def bsky(settings):
    fake = FakeBluesky()
    settings.bluesky_handle = HANDLE
    settings.bluesky_app_password = Secret(PASSWORD)
    settings.bluesky_service = fake.url
    yield fake
    fake.close()


@pytest.fixture
def brands(sqlite_store):
    sqlite_store.add_brand("Acme", ACME)
    sqlite_store.add_brand("Zephyr", ZEPHYR)
    return sqlite_store


def stored(store) -> tuple[int, int, int]:
    s = store.status()
    return s["posts"], s["authors"], s["interactions"]


@pytest.mark.parametrize("name, model", [
    ("searchPosts.json", models.AppBskyFeedSearchPosts.Response),
    ("getProfiles.json", models.AppBskyActorGetProfiles.Response),
    ("createSession.json", models.ComAtprotoServerCreateSession.Response),
    ("getPostThread.json", models.AppBskyFeedGetPostThread.Response),
    ("getRepostedBy.json", models.AppBskyFeedGetRepostedBy.Response),
])
def test_fixtures_follow_the_lexicons(name, model):
    body = load(name)
    bodies = body.values() if name in ("getPostThread.json", "getRepostedBy.json") else [body]
    for one in bodies:
        assert get_or_create(one, model, strict=True, strict_string_format=True) is not None
    for view in load("searchPosts.json")["posts"]:
        get_or_create(view["record"], models.AppBskyFeedPost.Record, strict=True,
                      strict_string_format=True)


def test_search_stores_hits_threads_reposts_and_profiles(brands, bsky, make):
    result = one_pass(brands, make("bluesky"))
    assert result.failures == []
    assert [u.label for u in result.units] == [
        "search Acme: acme", "search Acme: #acmeair", "search Zephyr: zephyr"]
    assert stored(brands) == (POSTS, AUTHORS, INTERACTIONS)
    assert brands.status()["per_brand"] == {"Acme": 9, "Zephyr": 3}
    assert bsky.logins == 1
    assert all(s["sort"] == "latest" for s in bsky.searches())
    with brands.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT handle, followers FROM authors WHERE platform = 'bluesky'").fetchall()
        kinds = conn.exec_driver_sql(
            "SELECT kind, COUNT(*) FROM interactions GROUP BY kind").fetchall()
        texts = {r[0] for r in conn.exec_driver_sql("SELECT text FROM posts")}
    assert dict(rows)["acmeair.bsky.social"] == 48210  # from getProfiles, not the basic view
    assert all(followers is not None for _, followers in rows)
    assert dict(kinds) == {"reply": 6, "quote": 1, "mention": 1, "repost": 3}
    assert "The acme anvil review is finally out, and it is heavy" not in texts  # NOT applied
    assert "5 days?! I have a wedding tomorrow" in texts  # a reply from a thread


def test_pages_and_a_second_run_adds_nothing(brands, bsky, make):
    first = one_pass(brands, make("bluesky", max_results=2))
    assert first.inserted == POSTS and first.failures == []
    acme = [s for s in bsky.searches() if s["q"] == "acme"]
    assert [s.get("cursor") for s in acme] == [None, "2", "4"]  # 6 hits, 2 a page
    cursor = SearchCursor.load(brands.get_cursor("bluesky", "search:acme"))
    assert cursor.since == "2025-03-10T14:00:00.000Z" and cursor.until is None
    before, bsky.log = brands.status(), []
    again = one_pass(brands, make("bluesky", max_results=2))
    assert again.inserted == 0 and brands.status() == before
    assert all(s["since"] for s in bsky.searches())  # only what is new was asked for


def test_a_later_run_fetches_only_new_posts(brands, bsky, make):
    bsky.visible_until = "2025-03-10T11:00:00.000Z"
    first = one_pass(brands, make("bluesky"))
    bsky.visible_until, bsky.log = None, []
    second = one_pass(brands, make("bluesky"))
    assert first.inserted + second.inserted == POSTS == brands.status()["posts"]
    assert second.fetched < first.fetched + second.fetched - 3
    searched = {s["q"]: s["since"] for s in bsky.searches()}
    assert searched["zephyr"] == "2025-03-10T10:40:00.000Z"  # Z2, the newest of the first run


def test_rate_limit_waits_for_the_announced_reset(brands, bsky, make, sleeps, notes):
    bsky.plan = [None, "429"]  # the login succeeds, the first search is refused once
    result = one_pass(brands, make("bluesky"), notes)
    assert any(119 <= s <= 122 for s in sleeps)
    assert any("Bluesky rate limit reached" in m and "waiting until" in m for m in notes)
    assert result.rate_limited == 1 and result.inserted == POSTS


def test_server_errors_and_dropped_connections_are_retried(brands, bsky, make, sleeps, notes):
    bsky.plan = [None, "500", "502", "drop", "bad-json"]
    result = one_pass(brands, make("bluesky"), notes)
    assert result.failures == [] and result.inserted == POSTS
    assert sum("retrying in" in m for m in notes) == 4


def test_a_refused_login_stops_the_source_naming_the_env_vars(brands, bsky, make, settings):
    settings.bluesky_app_password = Secret("wrong")
    result = one_pass(brands, make("bluesky"))
    assert "UNDERTOW_BLUESKY_HANDLE" in result.error
    assert "UNDERTOW_BLUESKY_APP_PASSWORD" in result.error
    assert "Invalid identifier or password" in result.error
    assert brands.status()["posts"] == 0


@pytest.mark.parametrize("fault", ["503", "drop"])
def test_a_failed_login_fails_once_for_the_run_not_once_per_term(
        brands, bsky, make, sleeps, notes, fault):
    bsky.plan = [fault] * 20  # the service is down: every request fails
    result = one_pass(brands, make("bluesky"), notes)
    logins = [nsid for nsid, _ in bsky.log if nsid == "com.atproto.server.createSession"]
    assert len(logins) == 6  # one login with its retries, not one per search term
    assert len(sleeps) == 5
    assert [u.label for u in result.units] == ["search Acme: acme"]  # the other terms skipped
    [failure] = result.failures
    assert "Bluesky login failed 6 times" in failure
    assert "skipping Bluesky for the rest of this run: check UNDERTOW_BLUESKY_SERVICE" in failure
    assert sum("failed:" in m for m in notes) == 1
    bsky.plan = []
    assert one_pass(brands, make("bluesky")).inserted == POSTS  # the next run tries again


def test_missing_credentials_are_a_config_error(make, settings):
    settings.bluesky_handle = ""
    settings.bluesky_app_password = Secret("")
    with pytest.raises(ConfigError, match="UNDERTOW_BLUESKY_HANDLE and "
                                          "UNDERTOW_BLUESKY_APP_PASSWORD"):
        make("bluesky")


def test_a_malformed_post_is_skipped_with_its_uri_and_a_missing_thread_costs_only_itself(
        brands, bsky, make):
    p8 = next(v for v in bsky.pool.values() if v["record"]["text"].startswith("Acme a retrouvé"))
    bsky.pool[p8["uri"]] = {**p8, "record": {**p8["record"], "createdAt": "yesterday"}}
    deleted = next(iter(bsky.threads))
    del bsky.threads[deleted]  # the thread answers 400 NotFound
    result = one_pass(brands, make("bluesky"))
    assert result.failures == []
    assert any(p8["uri"] in s for s in result.skipped)
    assert any(f"thread of {deleted}: not fetched" in s and "NotFound" in s
               for s in result.skipped)
    assert brands.status()["posts"] == POSTS - 1 - 3  # P8, and R1, R1a, R2 of P1's thread


def test_undertow_collect_platform_bluesky(cli, brands, bsky):
    runner = CliRunner()
    first = runner.invoke(cli, ["collect", "--platform", "bluesky"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert f"Done: {POSTS} new posts" in first.output
    assert "Bluesky: search Acme: #acmeair ..." in first.output
    assert stored(brands) == (POSTS, AUTHORS, INTERACTIONS)
    second = runner.invoke(cli, ["collect", "--platform", "bluesky"], catch_exceptions=False)
    assert second.exit_code == 0 and "Done: 0 new posts" in second.output
    assert stored(brands) == (POSTS, AUTHORS, INTERACTIONS)


def test_collect_with_bluesky_down_goes_on_to_x_and_says_each_warning_once(
        cli, brands, bsky, x_api, sleeps, caplog):
    bsky.plan = ["drop"] * 20  # every connection to the service dies
    caplog.set_level(logging.INFO)
    result = CliRunner().invoke(cli, ["collect", "--platform", "bluesky", "--platform", "x"],
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert len(bsky.log) == 6 and len(x_api.searches) == 2  # one login, then both X brands
    retries = [line for line in result.output.splitlines() if "retrying in" in line]
    assert len(retries) == 5 and len(set(retries)) == 5
    assert not [r for r in caplog.records if r.name == "listener.collectors.retry"]
    assert result.output.count("check UNDERTOW_BLUESKY_SERVICE") == 2  # progress, summary


def test_search_terms_are_the_positive_terms():
    assert search_terms(Query(ACME)) == ["acme", "#acmeair"]
    assert search_terms(Query('(delta OR "delta air") AND plane* NOT (#x OR y)')) == [
        "delta", '"delta air"', "plane"]


def test_mapping_reads_replies_quotes_and_mentions_from_the_records():
    views = load("searchPosts.json")["posts"]
    batch, report = map_post_views(views, datetime(2025, 3, 11, tzinfo=UTC))
    assert report.skipped == [] and len(batch.posts) == len(views)
    by_text = {p.text: p for p in batch.posts}
    quote = by_text["This is exactly why I stopped flying Acme."]
    flew = next(p for p in batch.posts if p.text.startswith("Flew @acmeair"))
    assert quote.parent_native_id == flew.native_id
    assert flew.url.startswith("https://bsky.app/profile/alice.bsky.social/post/")
    edges = {(i.kind, i.source_author_native_id, i.target_author_native_id)
             for i in batch.interactions}
    assert ("quote", quote.author_native_id, flew.author_native_id) in edges
    mention = next(i for i in batch.interactions if i.kind == "mention")
    assert mention.source_post_native_id == flew.native_id
    # The reply that also @mentions the replied-to author gives one reply edge, no mention.
    reply = by_text["@carol.example.com same on AC 120 #acmeair"]
    assert [i.kind for i in batch.interactions if i.source_post_native_id == reply.native_id] \
        == ["reply"]
    assert by_text["Acme a retrouvé ma valise 🎉"].lang == "fr"


def test_reposts_are_dated_when_seen_and_authors_merge():
    seen = datetime(2025, 3, 11, tzinfo=UTC)
    uri, body = next(iter(load("getRepostedBy.json").items()))
    batch = map_reposted_by(body, seen)
    assert {(i.kind, i.target_author_native_id, i.created_at) for i in batch.interactions} == {
        ("repost", author_of(uri), seen)}
    assert len(batch.interactions) == 2
    merged = merge_authors([Author("bluesky", "did:plc:a", handle="a.bsky.social"),
                            Author("bluesky", "did:plc:a", followers=12)])
    assert [(a.handle, a.followers) for a in merged] == [("a.bsky.social", 12)]


def test_credentials_never_reach_the_log(brands, bsky, make, caplog):
    caplog.set_level(logging.DEBUG)
    one_pass(brands, make("bluesky"))
    assert "HTTP Request: GET" in caplog.text  # httpx did log its requests
    for secret in (PASSWORD, bsky.session["accessJwt"], bsky.session["refreshJwt"]):
        assert secret not in caplog.text
