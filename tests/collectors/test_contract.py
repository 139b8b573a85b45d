"""The one contract every registered collector keeps, run over each of them.

- Killed at random points (an HTTP request, or inside the store's transaction after the rows are
  written), then resumed: exactly what a clean run stores.
- Run twice: the second run stores nothing new and changes nothing.
- 5xx and 429 answers are waited out and retried: the same data as a clean run.
- Its server down (a closed port on this machine): the source is reported once, nothing is stored,
  no cursor moves.

Every source is served its recorded, true-wire-format responses by the fakes the per-collector
tests use (tests/collectors/fake_apis.py, FakeBluesky, FakeMastodon, FakeSite), at the address
its base-URL setting names. A newly registered collector fails here until it gets a `Source`.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from atproto_client.request import Request

from listener.collectors import registry
from listener.settings import Secret, Settings
from listener.store import Store
from tests.collectors import test_bluesky, test_mastodon, test_news
from tests.collectors.fake_apis import FakeReddit, FakeX, Killed, kill_commits, one_pass, snapshot

X_REPLAY = "http://x-replay.test"  # UNDERTOW_X_BASE_URL: tweepy's requests go here
REDDIT_REPLAY = "http://reddit-replay.test"  # UNDERTOW_REDDIT_BASE_URL: API and token both
KILLS = 4


@dataclass
class Source:
    """How one collector is served and configured for the contract."""

    brands: list[tuple[str, str]]
    serve: Callable[[Any, Settings, Any], Any]  # (http mock, settings, fixtures) -> the fake
    point_at: Callable[[Settings, str], None]  # send the collector to this address instead
    options: dict[str, Any] = field(default_factory=dict)
    # Where a source resumes mid-sweep: items it served, and at most how many a kill refetches.
    served: Callable[[Any], int] | None = None
    refetch_per_kill: int = 0


def _x(http, settings, fixtures):
    data = fixtures / "twarc_csv_v2" / "test-data"
    settings.x_base_url = X_REPLAY
    return FakeX(http, {"#brexit": _pages(data / "brexit.jsonl"),
                        "#kpop": _pages(data / "kpop.jsonl")}, api=f"{X_REPLAY}/2")


def _pages(path):
    from tests.collectors.fake_apis import read_pages

    return read_pages(path)


def _reddit(http, settings, fixtures):
    settings.reddit_base_url = REDDIT_REPLAY
    settings.reddit_watch = "askreddit"
    settings.reddit_subreddits = "DebunkThis"  # keeps the run small: 9 threads, 2 listings
    return FakeReddit(http, fixtures / "praw_cassettes", fixtures / "reddit_threads",
                      oauth=REDDIT_REPLAY, site=REDDIT_REPLAY)


def _bluesky(http, settings, fixtures):
    fake = test_bluesky.FakeBluesky()
    settings.bluesky_handle = test_bluesky.HANDLE
    settings.bluesky_app_password = Secret(test_bluesky.PASSWORD)
    settings.bluesky_service = fake.url
    return fake


def _mastodon(http, settings, fixtures):
    settings.mastodon_instances = test_mastodon.BASE
    settings.mastodon_access_token = Secret(test_mastodon.TOKEN)
    fake = test_mastodon.FakeMastodon(http, fixtures / "mastodonpy_cassettes")
    # A reply whose parent is fetched separately: the lookups are part of the contract too.
    fake.derive(test_mastodon.PLANE, in_reply_to_id=test_mastodon.TOOT,
                in_reply_to_account_id=fake.statuses[test_mastodon.TOOT]["account"]["id"])
    return fake


def _news(http, settings, fixtures):
    settings.news_feeds = f"{test_news.RSS}, {test_news.ATOM}"
    return test_news.FakeSite(http)


def _set(name: str) -> Callable[[Settings, str], None]:
    return lambda settings, url: setattr(settings, name, url)


SOURCES: dict[str, Source] = {
    # X resumes with since_id/until_id: a kill costs at most the page in hand (10 tweets).
    "x": Source([("Brexit", "#brexit"), ("Kpop", "#kpop")], _x, _set("x_base_url"),
                {"max_results": 10}, served=lambda fake: fake.served, refetch_per_kill=10),
    "reddit": Source([("Brexit", "#brexit"), ("Kpop", "#kpop"), ("Debunk", "debunk")], _reddit,
                     _set("reddit_base_url")),
    "bluesky": Source([("Acme", test_bluesky.ACME), ("Zephyr", test_bluesky.ZEPHYR)], _bluesky,
                      _set("bluesky_service"), {"max_results": 2}),
    "mastodon": Source([("Ham", test_mastodon.HAM), ("TV", test_mastodon.TV)], _mastodon,
                       _set("mastodon_instances"), {"limit": 2}),
    "news": Source([("Acme", test_news.ACME), ("Zephyr", test_news.ZEPHYR)], _news,
                   lambda settings, url: setattr(settings, "news_feeds",
                                                 f"{url}/rss.xml, {url}/feed.atom")),
}


@pytest.fixture(params=registry.available())
def source(request, http, settings, fixtures):
    """(name, Source, fake) for each registered collector, its fake serving."""
    name = request.param
    if name not in SOURCES:
        pytest.fail(f"collector {name!r} has no Source in tests/collectors/test_contract.py")
    spec = SOURCES[name]
    fake = spec.serve(http, settings, fixtures)
    yield name, spec, fake
    if hasattr(fake, "close"):
        fake.close()


@pytest.fixture
def requests_made(monkeypatch) -> dict:
    """Counts every HTTP request the clients send (requests and atproto's httpx), and raises
    `Killed` at the n-th one from now when `counter["kill"] = n`."""
    counter: dict = {"sent": 0, "kill": None}

    def counted(real):
        def send(*args, **kwargs):
            counter["sent"] += 1
            if counter["kill"] is not None:
                counter["kill"] -= 1
                if counter["kill"] <= 0:
                    counter["kill"] = None
                    raise Killed("killed at a request")
            return real(*args, **kwargs)
        return send

    monkeypatch.setattr(requests.Session, "send", counted(requests.Session.send))
    monkeypatch.setattr(Request, "_send_request", counted(Request._send_request))
    return counter


def with_brands(store: Store, spec: Source) -> Store:
    for brand, query in spec.brands:
        store.add_brand(brand, query)
    return store


def open_store(path, spec: Source) -> Store:
    return with_brands(Store.open(f"sqlite:///{path}"), spec)


def collect(store, source, make):
    name, spec, _ = source
    return one_pass(store, make(name, **spec.options))


@pytest.mark.parametrize("seed", [1, 2])
def test_killed_at_random_points_then_resumed_equals_a_clean_run(
        seed, source, store, tmp_path, make, monkeypatch, requests_made):
    spec, fake = source[1], source[2]
    clean = open_store(tmp_path / "clean.db", spec)
    assert collect(clean, source, make).failures == []
    expected, sent = snapshot(clean), requests_made["sent"]
    assert expected["posts"] and sent > 1
    served_clean = spec.served(fake) if spec.served else 0

    rng = random.Random(seed)
    with_brands(store, spec)  # SQLite and PostgreSQL
    countdown = kill_commits(monkeypatch)
    kills = attempts = 0
    while kills < KILLS and attempts < 20:  # a run that escapes its kill finishes the work
        attempts += 1
        if rng.random() < 0.6:
            requests_made["kill"] = rng.randint(1, sent)
        else:
            countdown["commit"] = rng.randint(1, 4)
        try:
            collect(store, source, make)
        except Killed:
            kills += 1
        requests_made["kill"] = countdown["commit"] = None
    assert kills == KILLS
    assert collect(store, source, make).failures == []  # resumed without interruption
    assert snapshot(store) == expected
    assert store.status() == clean.status()
    if spec.served:
        refetched = spec.served(fake) - 2 * served_clean
        assert 0 <= refetched <= kills * spec.refetch_per_kill


def test_a_killed_commit_leaves_neither_posts_nor_cursor(source, store, make, monkeypatch):
    name, spec, _ = source
    with_brands(store, spec)
    kill_commits(monkeypatch)["commit"] = 1
    with pytest.raises(Killed):
        collect(store, source, make)
    assert store.status()["posts"] == 0
    for unit in make(name, **spec.options).units(store.brands()):
        assert store.get_cursor(name, unit.key) is None


def test_a_second_run_stores_nothing_new(source, store, make):
    with_brands(store, source[1])
    first = collect(store, source, make)
    assert first.failures == [] and first.inserted > 0
    stored = snapshot(store), store.status()
    second = collect(store, source, make)
    assert second.failures == [] and second.inserted == 0
    assert (snapshot(store), store.status()) == stored


@pytest.mark.parametrize("fault", ["503", "429"])
def test_server_errors_and_rate_limits_are_waited_out(fault, source, tmp_path, make, sleeps):
    spec, fake = source[1], source[2]
    clean = open_store(tmp_path / "clean.db", spec)
    assert collect(clean, source, make).failures == []
    sleeps.clear()
    store = open_store(tmp_path / "faulty.db", spec)
    # The second request: past the login or token request (praw reads a 5xx from Reddit's
    # token endpoint as a refusal, not a fault to retry).
    fake.plan = [None, fault]
    result = collect(store, source, make)
    assert fake.plan == []  # the fault was served
    assert result.failures == []
    assert snapshot(store) == snapshot(clean)
    assert sleeps  # a backoff or the announced reset, then the request again
    if fault == "429":
        assert result.rate_limited >= 1 and result.waited > 0


def test_a_down_server_is_reported_once_and_nothing_moves(source, store, make, settings,
                                                          http, sleeps, requests_made):
    name, spec, _ = source
    with_brands(store, spec)
    down = f"http://127.0.0.1:{_closed_port()}"
    spec.point_at(settings, down)
    http.add_passthru(down)  # a real connection attempt, refused by this machine
    collector = make(name, **spec.options)
    result = one_pass(store, collector)
    assert len(result.failures) == 1, result.failures
    assert "check " in result.failures[0]
    assert store.status()["posts"] == 0
    for unit in collector.units(store.brands()):
        assert store.get_cursor(name, unit.key) is None
    # One unit's attempts, not every unit's (a client may retry a few times inside each).
    assert requests_made["sent"] <= 3 * collector.policy.max_attempts


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
