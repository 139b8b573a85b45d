"""The Mastodon collector through the real Mastodon.py client, against recorded server responses.

The statuses and accounts are the ones in the vcrpy cassettes Mastodon.py recorded against a test
instance (../shared/data/fixtures/mastodonpy_cassettes, read from there). `responses` serves them
to Mastodon.py's own requests session, answering a hashtag timeline, a status search, a status
lookup or a reblogged_by list as the API does, from the recorded statuses only (filtered by tag or
text, newest first, bounded by since_id/min_id/max_id, paged). The recording has no hashtags,
replies or boosts; the tests that need them derive them from recorded statuses and say so.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses
import yaml
from click.testing import CliRunner

from listener.collectors.mastodon import instance_url, parse_tokens
from listener.errors import ConfigError
from listener.mapping.mastodon import html_to_text, map_statuses, qualify, status_text
from listener.query import Query
from listener.settings import Secret
from tests.collectors.fake_apis import Killed, one_pass, passes_until_caught_up, refused

BASE = "http://localhost:3000"
HOST = "localhost:3000"
TOKEN = "test-access-token"
HAM, TV = "ham OR jeep", "television OR plane"
TOOT = "117020583223442465"  # "Toot!" by mastodonpy_test
PLANE = "117020588242324937"  # "on the internet, nobody knows you're a plane" by admin
HAM_ID = "117020574694606796"  # "I have never stolen a ham in my life." by admin


def recorded_statuses(cassettes: Path) -> dict[str, dict]:
    """Every status the cassettes hold (timelines, lookups, notifications), by id."""
    return copy.deepcopy(_recorded(cassettes))


@functools.cache
def _recorded(cassettes: Path) -> dict[str, dict]:
    pool: dict[str, dict] = {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(cassettes.glob("*.yaml")):
        for it in yaml.load(path.read_text(), Loader=loader)["interactions"]:
            try:
                body = json.loads(it["response"]["body"]["string"])
            except ValueError:
                continue
            for item in body if isinstance(body, list) else [body]:
                if isinstance(item, dict) and isinstance(item.get("status"), dict):
                    item = item["status"]  # a notification
                if isinstance(item, dict) and "content" in item and "account" in item:
                    pool.setdefault(item["id"], item)
    return pool


class FakeMastodon:
    """A Mastodon instance answering from the recorded statuses; faults scripted per request."""

    def __init__(self, rsps: responses.RequestsMock, cassettes: Path) -> None:
        self.statuses = recorded_statuses(cassettes)
        self.boosts: dict[str, list[dict]] = {}  # status id -> accounts that boosted it
        self.visible_until: int | None = None  # statuses with larger ids are "not posted yet"
        self.plan: list[str | None] = []
        self.kill_at: int | None = None
        self.log: list[tuple[str, dict[str, str], bool]] = []
        api = re.escape(BASE) + r"/api/"
        rsps.add_callback(responses.GET, re.compile(api + r"v1/timelines/tag/\w+"), self._tag)
        rsps.add_callback(responses.GET, re.compile(api + r"v2/search.*"), self._search)
        rsps.add_callback(responses.GET, re.compile(api + r"v1/statuses/\d+/reblogged_by.*"),
                          self._reblogged_by)
        rsps.add_callback(responses.GET, re.compile(api + r"v1/statuses/\d+$"), self._status)

    def requests(self, kind: str) -> list[dict[str, str]]:
        return [q for path, q, _ in self.log if kind in path]

    def _begin(self, request):
        url = urlparse(request.url)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.log.append((url.path, q, "authorization" in request.headers))
        if self.kill_at is not None and len(self.log) >= self.kill_at:
            self.kill_at = None
            raise Killed(f"killed at request {len(self.log)}")
        step = self.plan.pop(0) if self.plan else None
        if step == "conn":
            raise requests.ConnectionError("connection reset by peer")
        if step == "bad-json":
            return (200, {"content-type": "application/json"}, '[{"id": "1170'), q, url.path
        if step == "429":
            reset = (datetime.now(UTC) + timedelta(seconds=120)).isoformat().replace("+00:00", "Z")
            return (429, {"content-type": "application/json", "x-ratelimit-limit": "300",
                          "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
                    json.dumps({"error": "Too many requests"})), q, url.path
        if step:
            error = {"401": "The access token is invalid"}.get(step, "Service Unavailable")
            return (int(step), {"content-type": "application/json"},
                    json.dumps({"error": error})), q, url.path
        return None, q, url.path

    def _ok(self, body: Any):
        return (200, {"content-type": "application/json; charset=utf-8",
                      "x-ratelimit-limit": "300", "x-ratelimit-remaining": "299"},
                json.dumps(body))

    def _listing(self, keep, q: dict[str, str], with_offset: bool = False) -> list[dict]:
        low = max(int(q.get("since_id", 0)), int(q.get("min_id", 0)))
        high = min(int(q.get("max_id", 1 << 64)), (self.visible_until or (1 << 64)) + 1)
        found = sorted((s for s in self.statuses.values()
                        if keep(s) and low < int(s["id"]) < high),
                       key=lambda s: -int(s["id"]))
        start = int(q.get("offset", 0)) if with_offset else 0
        return found[start:start + int(q.get("limit", 20))]

    def _tag(self, request):
        fault, q, path = self._begin(request)
        if fault:
            return fault
        tag = path.rsplit("/", 1)[-1].lower()
        return self._ok(self._listing(
            lambda s: tag in {t["name"].lower() for t in s.get("tags") or []}, q))

    def _search(self, request):
        fault, q, _ = self._begin(request)
        if fault:
            return fault
        statuses = []
        if "authorization" in request.headers and q.get("type") in (None, "statuses"):
            query = Query(q["q"])
            statuses = self._listing(lambda s: query.matches(status_text(s)), q, True)
        return self._ok({"accounts": [], "statuses": statuses, "hashtags": []})

    def _status(self, request):
        fault, _, path = self._begin(request)
        if fault:
            return fault
        found = self.statuses.get(path.rsplit("/", 1)[-1])
        if found is None:
            return (404, {"content-type": "application/json"},
                    json.dumps({"error": "Record not found"}))
        return self._ok(found)

    def _reblogged_by(self, request):
        fault, _, path = self._begin(request)
        return fault or self._ok(self.boosts.get(path.split("/")[-2], []))

    def derive(self, status_id: str, **changes: Any) -> dict:
        """A recorded status with some fields changed, for what the recording lacks."""
        status = copy.deepcopy(self.statuses[status_id])
        status.update(changes)
        self.statuses[status_id] = status
        return status

    def tag(self, status_id: str, name: str) -> None:
        """Give a recorded status a hashtag, as Mastodon renders one."""
        s = self.statuses[status_id]
        link = (f' <a href="{BASE}/tags/{name}" class="mention hashtag" rel="tag">'
                f"#<span>{name}</span></a>")
        self.derive(status_id, content=s["content"].replace("</p>", link + "</p>"),
                    tags=[{"name": name, "url": f"{BASE}/tags/{name}"}])


@pytest.fixture
def cassettes(fixtures) -> Path:
    return fixtures / "mastodonpy_cassettes"


@pytest.fixture
def masto(http, cassettes, settings) -> FakeMastodon:
    settings.mastodon_instances = BASE
    settings.mastodon_access_token = Secret(TOKEN)
    return FakeMastodon(http, cassettes)


@pytest.fixture
def brands(sqlite_store):
    sqlite_store.add_brand("Ham", HAM)
    sqlite_store.add_brand("TV", TV)
    return sqlite_store


def stored(store) -> tuple[int, int, int]:
    s = store.status()
    return s["posts"], s["authors"], s["interactions"]


def expected(cassettes: Path, *queries: str) -> set[str]:
    """The uris of the recorded statuses that match one of `queries`."""
    qs = [Query(q) for q in queries]
    return {s["uri"] for s in recorded_statuses(cassettes).values()
            if any(q.matches(status_text(s)) for q in qs)}


def test_search_stores_the_matching_recorded_statuses(brands, masto, make, cassettes):
    result = one_pass(brands, make("mastodon"))
    assert result.failures == []
    wanted = expected(cassettes, HAM, TV)
    assert len(wanted) == 5  # two ham statuses, the jeep, television and plane
    with brands.engine.connect() as conn:
        uris = {r[0] for r in conn.exec_driver_sql("SELECT native_id FROM posts")}
        authors = dict(conn.exec_driver_sql(
            "SELECT native_id, followers FROM authors").fetchall())
        edges = conn.exec_driver_sql("SELECT kind FROM interactions").fetchall()
    assert uris == wanted
    # Instance-qualified handles; the mentioned account is known by its handle only.
    assert authors == {"admin@localhost:3000": 1, "mastodonpy_test@localhost:3000": None}
    assert edges == [("mention",)]  # "@mastodonpy_test beep beep I'm a jeep"
    assert brands.status()["per_brand"] == {"Ham": 3, "TV": 2}
    searches = masto.requests("/api/v2/search")
    assert {s["q"] for s in searches} == {"ham", "jeep", "television", "plane"}
    assert all(s["type"] == "statuses" and "resolve" not in s for s in searches)
    assert all(auth for path, _, auth in masto.log)


def test_without_a_token_hashtag_timelines_only(brands, masto, make, settings):
    settings.mastodon_access_token = Secret("")
    masto.tag(HAM_ID, "ham")
    masto.tag(PLANE, "Plane")
    result = one_pass(brands, make("mastodon"))
    assert [u.label for u in result.units] == [
        "Ham: #ham on localhost:3000", "Ham: #jeep on localhost:3000",
        "TV: #television on localhost:3000", "TV: #plane on localhost:3000"]
    assert not masto.requests("/api/v2/search")
    assert brands.status()["posts"] == 2
    assert not any(auth for _, _, auth in masto.log)


def test_a_reply_brings_its_parent_and_a_boosted_hit_its_boosters(brands, masto, make, cassettes):
    toot = masto.statuses[TOOT]
    masto.derive(PLANE, in_reply_to_id=TOOT, in_reply_to_account_id=toot["account"]["id"])
    masto.derive(HAM_ID, reblogs_count=1)
    masto.boosts[HAM_ID] = [toot["account"]]
    result = one_pass(brands, make("mastodon"))
    assert result.failures == []
    assert ("/api/v1/statuses/" + TOOT) in [path for path, _, _ in masto.log]
    with brands.engine.connect() as conn:
        edges = set(conn.exec_driver_sql(
            "SELECT i.kind, s.native_id, t.native_id FROM interactions i "
            "JOIN authors s ON s.id = i.source_author_id "
            "JOIN authors t ON t.id = i.target_author_id"))
        parent = conn.exec_driver_sql(
            "SELECT parent_native_id FROM posts WHERE native_id = ?",
            (masto.statuses[PLANE]["uri"],)).scalar()
    assert parent == toot["uri"]
    assert edges == {("mention", "admin@localhost:3000", "mastodonpy_test@localhost:3000"),
                     ("reply", "admin@localhost:3000", "mastodonpy_test@localhost:3000"),
                     ("repost", "mastodonpy_test@localhost:3000", "admin@localhost:3000")}
    assert brands.status()["posts"] == len(expected(cassettes, HAM, TV)) + 1  # the parent


def test_a_second_run_asks_only_for_newer_statuses_and_adds_nothing(brands, masto, make):
    masto.visible_until = int(PLANE)
    first = one_pass(brands, make("mastodon"))
    masto.visible_until, masto.log = None, []
    second = one_pass(brands, make("mastodon"))
    assert (first.inserted, second.inserted) == (3, 2)  # television and a ham came later
    ham = next(q for q in masto.requests("/api/v2/search") if q["q"] == "ham")
    assert ham["min_id"] == HAM_ID  # the newest ham status the first run saw
    before, masto.log = brands.status(), []
    third = one_pass(brands, make("mastodon"))
    assert third.inserted == 0 and brands.status() == before


def test_pages_follow_max_id_on_timelines(brands, masto, make):
    for status_id in masto.statuses:
        masto.tag(status_id, "ham")
    result = one_pass(brands, make("mastodon", limit=4, searchable=set()))
    pages = masto.requests("/timelines/tag/ham")
    assert [p.get("max_id") for p in pages][:2] == [None, min(
        sorted(masto.statuses, key=int, reverse=True)[:4], key=int)]
    assert result.units[0].fetched == len(masto.statuses)
    assert brands.status()["posts"] == len(masto.statuses)  # "ham" matches "#ham" too


def test_rate_limit_waits_for_the_announced_reset(brands, masto, make, sleeps, notes):
    masto.plan = ["429"]
    result = one_pass(brands, make("mastodon"), notes)
    assert any(115 <= s <= 122 for s in sleeps), sleeps
    assert any("Mastodon rate limit reached" in m for m in notes)
    assert result.rate_limited == 1 and result.failures == []


def test_server_errors_are_retried(brands, masto, make, sleeps, notes):
    masto.plan = ["503", "conn", "bad-json"]
    result = one_pass(brands, make("mastodon"), notes)
    assert result.failures == [] and brands.status()["posts"] == 5
    assert sum("retrying in" in m for m in notes) == 3


def test_an_unreachable_instance_is_tried_once_and_the_others_go_on(
        brands, masto, make, settings, http, sleeps, cassettes):
    settings.mastodon_instances = f"http://down.example, {BASE}"
    settings.mastodon_access_token = Secret(f"down.example=other-token, {HOST}={TOKEN}")
    tries = []

    def refuse(request):
        tries.append(request.url)
        raise refused()

    http.add_callback(responses.GET, re.compile(r"http://down\.example/.*"), refuse)
    result = one_pass(brands, make("mastodon"))
    # Mastodon.py asks for /api/v2/instance (timeline access) before each hashtag timeline.
    listings = [url for url in tries if "/api/v2/instance" not in url]
    assert len(listings) == 6  # one unit with its retries, not every unit on that instance
    [failure] = result.failures
    assert "skipping Mastodon on down.example for the rest of this run: check " \
           "UNDERTOW_MASTODON_INSTANCES" in failure
    assert brands.status()["posts"] == len(expected(cassettes, HAM, TV))


def test_a_refused_token_stops_the_source_naming_the_env_var(brands, masto, make):
    masto.plan = ["401"]
    result = one_pass(brands, make("mastodon"))
    assert "UNDERTOW_MASTODON_ACCESS_TOKEN" in result.error
    assert "401 Unauthorized" in result.error


def test_missing_instances_are_a_config_error(make, settings):
    settings.mastodon_instances = ""
    settings.mastodon_access_token = Secret("")
    with pytest.raises(ConfigError, match="set UNDERTOW_MASTODON_INSTANCES"):
        make("mastodon")


def test_a_malformed_status_is_skipped_with_its_id(brands, masto, make):
    masto.derive(HAM_ID, created_at="yesterday")
    result = one_pass(brands, make("mastodon"))
    assert any(HAM_ID in s for s in result.skipped)
    assert brands.status()["posts"] == 4


def test_undertow_collect_platform_mastodon(cli, brands, masto):
    runner = CliRunner()
    first = runner.invoke(cli, ["collect", "--platform", "mastodon"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "Done: 5 new posts" in first.output
    assert "Mastodon: Ham: search ham on localhost:3000 ..." in first.output
    second = runner.invoke(cli, ["collect", "--platform", "mastodon"], catch_exceptions=False)
    assert second.exit_code == 0 and "Done: 0 new posts" in second.output
    assert stored(brands) == (5, 2, 1)


def test_recorded_html_becomes_the_text_a_reader_sees(cassettes):
    statuses = recorded_statuses(cassettes)
    assert html_to_text(statuses["117020588169351887"]["content"]) == \
        "@mastodonpy_test beep beep I'm a jeep"
    assert html_to_text("<p>one<br>two</p><p>three &amp; four</p>") == \
        "one\ntwo\n\nthree & four"


def test_a_boost_maps_to_the_boosted_post_and_a_repost(cassettes):
    statuses = recorded_statuses(cassettes)
    original, booster = statuses[HAM_ID], statuses[TOOT]["account"]
    boost = {**statuses[TOOT], "id": "117020600000000000", "content": "", "reblog": original,
             "uri": statuses[TOOT]["uri"] + "/activity"}  # derived: the recording has none
    batch, report = map_statuses([boost], HOST, datetime(2026, 8, 2, tzinfo=UTC))
    assert report.skipped == []
    assert [p.native_id for p in batch.posts] == [original["uri"]]
    (edge,) = batch.interactions
    assert (edge.kind, edge.source_author_native_id, edge.target_author_native_id) == (
        "repost", qualify(booster["acct"], HOST), "admin@localhost:3000")
    assert edge.target_post_native_id == original["uri"]


def test_instances_and_tokens_settings():
    assert instance_url("mastodon.social") == "https://mastodon.social"
    assert instance_url("http://localhost:3000/") == "http://localhost:3000"
    assert parse_tokens("abc", ["a.social", "b.social"]) == {"a.social": "abc", "b.social": "abc"}
    assert parse_tokens("a.social=x, https://b.social=y", []) == {"a.social": "x", "b.social": "y"}
    assert qualify("bob@example.org", HOST) == "bob@example.org"
    assert qualify("@alice", "mastodon.social") == "alice@mastodon.social"



def test_a_quote_post_has_the_quoted_post_as_parent_and_no_re_line():
    from listener.mapping.mastodon import map_statuses

    quoted = {"id": "1", "uri": "https://a.example/users/ann/statuses/1",
              "url": "https://a.example/@ann/1", "created_at": "2025-10-01T10:00:00Z",
              "content": "<p>Acme lost my bag</p>", "account": {"acct": "ann", "id": "10"}}
    quoting = {"id": "2", "uri": "https://m.example/users/bob/statuses/2",
               "created_at": "2025-10-01T11:00:00Z", "account": {"acct": "bob", "id": "20"},
               "content": '<p>Same here</p><p class="quote-inline">RE: <a href="https://a.example'
                          '/@ann/1">https://a.example/@ann/1</a></p>',
               "quote": {"state": "accepted", "quoted_status": quoted}}
    batch, report = map_statuses([quoting], "m.example")
    posts = {p.native_id: p for p in batch.posts}
    assert report.skipped == []
    assert posts[quoting["uri"]].text == "Same here"
    assert posts[quoting["uri"]].parent_native_id == quoted["uri"]
    assert [i.kind for i in batch.interactions] == ["quote"]


# -- a sweep cut by the page cap is continued, not skipped ---------------------------------------

def native_ids(store) -> set[str]:
    with store.engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql("SELECT native_id FROM posts")}


def uncapped(store_templates, tmp_path, make, **options) -> set[str]:
    """What one pass without a page cap stores, in a store of its own."""
    store = store_templates.sqlite_store(tmp_path / "uncapped.db")
    try:
        store.add_brand("Ham", HAM)
        store.add_brand("TV", TV)
        result = one_pass(store, make("mastodon", max_pages=100, **options))
        assert not result.behind and result.failures == []
        return native_ids(store)
    finally:
        store.close()


def unit_of(result, label: str):
    return next(u for u in result.units if u.label == label)


def test_a_capped_timeline_sweep_is_continued_by_the_next_pass(
        brands, masto, make, settings, store_templates, tmp_path):
    settings.mastodon_access_token = Secret("")  # hashtag timelines only
    for status_id in masto.statuses:
        masto.tag(status_id, "ham")
    want = uncapped(store_templates, tmp_path, make, limit=2)
    assert len(want) == len(masto.statuses) == 10
    masto.log = []
    results = passes_until_caught_up(brands, make("mastodon", limit=2, max_pages=2))
    assert [r.behind for r in results] == [True, True, False]  # 4 + 4 + 2 statuses
    assert results[0].units[0].more and results[0].inserted == 4
    assert native_ids(brands) == want and brands.status()["posts"] == len(want)
    # Each status was read once: the second pass went on below the oldest the first one saved.
    pages = masto.requests("/timelines/tag/ham")
    newest_first = sorted(masto.statuses, key=int, reverse=True)
    assert pages[2]["max_id"] == newest_first[3] and "since_id" not in pages[2]
    assert len(pages) == 6  # 5 pages of 2, then an empty one that ends the sweep
    cursor = json.loads(brands.get_cursor("mastodon", f"tag:{HOST}:ham"))
    assert cursor == {"since_id": newest_first[0]}


def test_a_capped_search_sweep_keeps_its_offset_while_new_statuses_arrive(
        brands, masto, make, store_templates, tmp_path):
    for status_id in masto.statuses:  # every status mentions ham (derived: the recording's few)
        s = masto.statuses[status_id]
        masto.derive(status_id, content=s["content"].replace("</p>", " ham</p>", 1))
    want = uncapped(store_templates, tmp_path, make, limit=2)
    assert len(want) == 10
    newest_first = sorted(masto.statuses, key=int, reverse=True)
    masto.visible_until, masto.log = int(newest_first[4]), []  # the 4 newest come later
    collector = make("mastodon", limit=2, max_pages=2)
    first = one_pass(brands, collector)
    assert first.behind and first.inserted == 4
    ham = f"search:{HOST}:ham"
    assert json.loads(brands.get_cursor("mastodon", ham)) == {
        "newest": newest_first[4], "offset": 3}  # 4 read; the next page skips 3 below newest
    masto.visible_until = None  # posted mid-sweep: the next sweep's, not an offset shift
    rest = passes_until_caught_up(brands, collector)
    searches = [q for q in masto.requests("/api/v2/search") if q["q"] == "ham"]
    assert searches[2] == {**searches[2], "max_id": newest_first[4], "offset": "3"}
    assert json.loads(brands.get_cursor("mastodon", ham)) == {"since_id": newest_first[4]}
    label = f"Ham: search ham on {HOST}"
    assert unit_of(rest[0], label).fetched == 2  # the sweep's older two, none of the new ones
    later = passes_until_caught_up(brands, collector)  # the next sweep: what came meanwhile
    assert unit_of(later[0], label).fetched == 4
    assert native_ids(brands) == want and brands.status()["posts"] == len(want)
    assert json.loads(brands.get_cursor("mastodon", ham)) == {"since_id": newest_first[0]}


def test_an_old_cursor_loads_and_a_capped_sweep_from_it_misses_nothing(brands, masto, make):
    collector = make("mastodon", limit=2, max_pages=1, searchable=set())
    for status_id in masto.statuses:
        masto.tag(status_id, "ham")
    oldest_first = sorted(masto.statuses, key=int)
    key = f"tag:{HOST}:ham"
    brands.set_cursor("mastodon", key, json.dumps({"since_id": oldest_first[4]}))
    results = passes_until_caught_up(brands, collector)
    assert [r.behind for r in results] == [True, True, False]  # 2 + 2 + 1 newer statuses
    assert native_ids(brands) == {masto.statuses[i]["uri"] for i in oldest_first[5:]}
    assert json.loads(brands.get_cursor("mastodon", key)) == {"since_id": oldest_first[-1]}


def test_a_kill_mid_sweep_resumes_at_the_last_saved_page(brands, masto, make, settings):
    settings.mastodon_access_token = Secret("")
    for status_id in masto.statuses:
        masto.tag(status_id, "ham")
    masto.kill_at = 3  # the third timeline request: two pages of #ham are saved
    with pytest.raises(Killed):
        one_pass(brands, make("mastodon", limit=2))
    assert brands.status()["posts"] == 4
    masto.log = []
    one_pass(brands, make("mastodon", limit=2))
    newest_first = sorted(masto.statuses, key=int, reverse=True)
    first = masto.requests("/timelines/tag/ham")[0]
    assert first["max_id"] == newest_first[3]  # not the top again: nothing refetched
    assert brands.status()["posts"] == 10


def test_a_server_that_ignores_offset_ends_the_sweep_instead_of_catching_up_forever(
        brands, masto, make, monkeypatch, caplog):
    for status_id in masto.statuses:
        s = masto.statuses[status_id]
        masto.derive(status_id, content=s["content"].replace("</p>", " ham</p>", 1))
    listing = masto._listing
    monkeypatch.setattr(masto, "_listing", lambda keep, q, with_offset=False: listing(
        keep, {k: v for k, v in q.items() if k not in ("offset", "max_id")}))
    result = one_pass(brands, make("mastodon", limit=2, max_pages=3))
    assert not result.behind and "the same page twice" in caplog.text
    ham = json.loads(brands.get_cursor("mastodon", f"search:{HOST}:ham"))
    assert ham == {"since_id": max(masto.statuses, key=int)}
