"""The news collector: real requests and feedparser against two feeds served by `responses`.

tests/fixtures/news holds an RSS 2.0 feed (as the RSS Advisory Board's specification describes
it, with the Dublin Core creator most publishers add) and an Atom 1.0 feed (RFC 4287). The fake
site answers conditional GETs as a web server does: the RSS feed sends an ETag and a
Last-Modified, the Atom feed only a Last-Modified, and each answers 304 when they still hold.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import feedparser
import pytest
import requests
import responses
from click.testing import CliRunner

from listener.collectors import job
from listener.errors import ConfigError
from listener.mapping.news import map_feed, outlet
from tests.collectors.fake_apis import Killed, one_pass, refused

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "news"
RSS, ATOM = "https://skyward.example/rss.xml", "https://runway.example/feed.atom"
ACME, ZEPHYR = '(acme OR #acmeair) -"acme anvil"', "zephyr"
# RSS: the Lyon outage, the Porto route and the Wi-Fi item match (the Anvil review is excluded by
# NOT, the live page has no date); Atom: "Zephyr vs Acme" and the lounges post.
POSTS = 5


class FakeSite:
    """The two feeds; `bodies` may be edited to publish; faults scripted per request."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.bodies = {RSS: (FIXTURES / "skyward.rss.xml").read_bytes(),
                       ATOM: (FIXTURES / "runway.atom.xml").read_bytes()}
        self.modified = {RSS: datetime(2025, 3, 10, 9, 5, tzinfo=UTC),
                         ATOM: datetime(2025, 3, 10, 12, 30, tzinfo=UTC)}
        self.plan: list[str | None] = []
        self.kill_at: int | None = None
        self.log: list[tuple[str, dict[str, str], int]] = []
        for url in self.bodies:
            rsps.add_callback(responses.GET, url, self._serve)

    def publish(self, url: str, item: str, when: datetime) -> None:
        self.bodies[url] = self.bodies[url].replace(b"<item>", item.encode() + b"<item>", 1)
        self.modified[url] = when

    def _serve(self, request):
        url = request.url
        status = self._answer(request)
        self.log.append((url, dict(request.headers), status[0]))
        return status

    def _answer(self, request):
        url = request.url
        if self.kill_at is not None and len(self.log) + 1 >= self.kill_at:
            self.kill_at = None
            raise Killed("killed at a request")
        step = self.plan.pop(0) if self.plan else None
        if step == "conn":
            raise requests.ConnectionError("connection reset by peer")
        if step == "429":
            return (429, {"retry-after": "120", "content-type": "text/plain"}, "slow down")
        if step == "html":
            return (200, {"content-type": "text/html"}, "<html><body>Moved</body></html>")
        if step:
            return (int(step), {"content-type": "text/plain"}, "error")
        body = self.bodies[url]
        headers = {"last-modified": format_datetime(self.modified[url], usegmt=True),
                   "content-type": "application/rss+xml" if url == RSS
                   else "application/atom+xml"}
        if url == RSS:
            headers["etag"] = f'"{hashlib.sha1(body).hexdigest()[:16]}"'
        fresh = (request.headers.get("if-none-match") == headers.get("etag") if url == RSS
                 else request.headers.get("if-modified-since") == headers["last-modified"])
        if fresh:
            return (304, {k: v for k, v in headers.items() if k != "content-type"}, "")
        return (200, headers, body)


@pytest.fixture
def site(http, settings) -> FakeSite:
    settings.news_feeds = f"{RSS}, {ATOM}"
    return FakeSite(http)


@pytest.fixture
def brands(sqlite_store):
    sqlite_store.add_brand("Acme", ACME)
    sqlite_store.add_brand("Zephyr", ZEPHYR)
    return sqlite_store


def texts(store) -> set[str]:
    with store.engine.connect() as conn:
        return {r[0].split("\n")[0] for r in conn.exec_driver_sql("SELECT text FROM posts")}


def test_feeds_fill_the_store_with_matching_entries_by_the_outlet(brands, site, make):
    result = one_pass(brands, make("news"))
    assert result.failures == []
    assert [u.fetched for u in result.units] == [6, 3]
    status = brands.status()
    assert (status["posts"], status["authors"], status["interactions"]) == (POSTS, 2, 0)
    assert status["per_platform"] == {"news": POSTS}
    assert status["per_brand"] == {"Acme": 4, "Zephyr": 2}
    assert "Review: the Acme Anvil 3000 is heavy, and that is the point" not in texts(brands)
    assert result.skipped == ["entry https://www.skyward.example/live/acme-air: no date"]
    with brands.engine.connect() as conn:
        authors = set(conn.exec_driver_sql("SELECT native_id, display_name FROM authors"))
        outage = conn.exec_driver_sql(
            "SELECT text, lang, created_at, url FROM posts WHERE native_id LIKE '%lyon'").one()
        bare = conn.exec_driver_sql(
            "SELECT native_id FROM posts WHERE text LIKE 'Acme Air adds Wi-Fi%'").scalar()
    assert authors == {("skyward.example", "Skyward Travel News"),
                       ("runway.example", "Runway Weekly")}
    assert outage[0] == ("Acme Air baggage system outage strands passengers in Lyon\n\n"
                         "Hundreds of bags missed their flights on Monday after Acme Air's "
                         "sorting system failed at Lyon Saint-Exupéry.\n\nThe airline says "
                         "bags & passengers will be reunited within 48 hours.")
    assert outage[1] == "en" and str(outage[2]).startswith("2025-03-10 08:40:00")
    assert bare == "skyward.example/skyward-2025-0308-17"  # a bare guid, scoped to the outlet


def test_polling_is_a_conditional_get_and_a_second_run_adds_nothing(brands, site, make):
    one_pass(brands, make("news"))
    before, site.log = brands.status(), []
    again = one_pass(brands, make("news"))
    assert again.inserted == 0 and brands.status() == before
    (rss_url, rss_headers, rss_status), (_, atom_headers, atom_status) = site.log
    assert (rss_status, atom_status) == (304, 304)
    assert rss_headers["If-None-Match"].startswith('"')
    assert atom_headers["If-Modified-Since"] == "Mon, 10 Mar 2025 12:30:00 GMT"
    assert "If-None-Match" not in atom_headers  # the Atom feed sent no ETag


def test_a_new_entry_is_fetched_and_a_new_brand_reads_the_whole_feed(brands, site, make):
    one_pass(brands, make("news"))
    site.publish(RSS, "<item><title>Acme Air names a new CEO</title>"
                      "<link>https://www.skyward.example/2025/03/11/acme-ceo</link>"
                      "<pubDate>Tue, 11 Mar 2025 06:00:00 GMT</pubDate></item>",
                 datetime(2025, 3, 11, 6, 1, tzinfo=UTC))
    second = one_pass(brands, make("news"))
    assert second.inserted == 1 and [s for _, _, s in site.log[-2:]] == [200, 304]
    brands.add_brand("Strikes", "strike*")
    site.log = []
    third = one_pass(brands, make("news"))
    assert [s for _, _, s in site.log] == [200, 200]  # no validators: the brands changed
    assert third.inserted == 1  # the French airport strikes


def test_a_brand_filtered_run_keeps_its_own_validators(brands, site, make):
    collector = make("news")
    units = collector.units(brands.brands(), brand_filter=True)
    assert [u.label for u in units] == [
        f"feed {RSS} for Acme", f"feed {ATOM} for Acme",
        f"feed {RSS} for Zephyr", f"feed {ATOM} for Zephyr"]
    assert len({u.key for u in units} | {u.key for u in collector.units(brands.brands())}) == 6


def test_rate_limits_and_server_errors_are_waited_out(brands, site, make, sleeps, notes):
    site.plan = ["429", "503", "conn"]
    result = one_pass(brands, make("news"), notes)
    assert result.failures == [] and brands.status()["posts"] == POSTS
    assert any(119 <= s <= 121 for s in sleeps)
    assert any("News rate limit reached" in m for m in notes)
    assert sum("retrying in" in m for m in notes) == 2


def test_a_missing_or_broken_feed_fails_only_itself(brands, site, make):
    site.plan = ["404", "html"]
    result = one_pass(brands, make("news"))
    assert "404 Not Found: no feed at this address; check UNDERTOW_NEWS_FEEDS" \
        in result.units[0].error
    assert "is not an RSS or Atom feed" in result.units[1].error
    assert brands.status()["posts"] == 0
    again = one_pass(brands, make("news"))  # no cursor was saved: the next run reads both
    assert again.failures == [] and again.inserted == POSTS


def test_an_unreachable_site_is_tried_once_per_run(brands, site, make, http, sleeps):
    http.replace(responses.GET, RSS, body=refused())
    collector = make("news")
    notes = []
    result = job.run_pass(brands, collector, brands.brands(), notes.append, threading.Event(),
                          brand_filter=True)  # one unit per feed and brand
    assert [u.label for u in result.units] == [
        f"feed {RSS} for Acme", f"feed {ATOM} for Acme", f"feed {ATOM} for Zephyr"]
    assert len(http.calls) == 6 + 2  # the RSS site with its retries once; the Atom feed twice
    [failure] = result.failures
    assert "skipping News on skyward.example for the rest of this run: check " \
           "UNDERTOW_NEWS_FEEDS" in failure
    assert brands.status()["posts"] == 2  # the Atom feed's two matching entries


def test_settings_errors_name_the_env_var(make, settings):
    settings.news_feeds = ""
    with pytest.raises(ConfigError, match="set UNDERTOW_NEWS_FEEDS"):
        make("news")
    settings.news_feeds = "skyward.example/rss.xml"
    with pytest.raises(ConfigError, match="not an http"):
        make("news")


def test_undertow_collect_platform_news(cli, brands, site):
    runner = CliRunner()
    first = runner.invoke(cli, ["collect", "--platform", "news"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert f"Done: {POSTS} new posts (9 fetched)" in first.output
    assert f"News: feed {RSS} ..." in first.output
    second = runner.invoke(cli, ["collect", "--platform", "news"], catch_exceptions=False)
    assert second.exit_code == 0 and "Done: 0 new posts (0 fetched)" in second.output
    assert brands.status()["posts"] == POSTS


def test_mapping_without_a_filter_and_the_outlet_name():
    parsed = feedparser.parse((FIXTURES / "runway.atom.xml").read_bytes())
    batch, report = map_feed(parsed, ATOM, datetime(2025, 3, 11, tzinfo=UTC))
    assert report.skipped == [] and len(batch.posts) == 3
    assert batch.posts[1].created_at == datetime(2025, 3, 8, 8, 0, tzinfo=UTC)  # +01:00
    assert json.loads(json.dumps(batch.posts[0].raw))["feed"] == ATOM
    assert outlet({"link": "https://www.BBC.co.uk/news"}, RSS) == "bbc.co.uk"
    assert outlet({}, "https://feeds.example.org/x.xml") == "feeds.example.org"


def test_real_length_guids_and_an_empty_feed_on_both_databases(store, site, make):
    """A 140-character guid (seen in real feeds) no longer stops the pass on PostgreSQL, and a
    feed that parses but has no items yet is a feed, not an error."""
    store.add_brand("Acme", ACME)
    guid = "https://www.skyward.example/2025/03/10/" + "acme-air-" * 11 + "?rss=1"
    assert len(guid) >= 134
    site.publish(RSS, f"<item><title>Acme Air adds a route</title><guid>{guid}</guid>"
                 "<link>https://news.partner.example/acme-route</link>"
                 "<pubDate>Mon, 10 Mar 2025 10:00:00 GMT</pubDate></item>",
                 datetime(2025, 3, 10, 10, 0, tzinfo=UTC))
    site.bodies[ATOM] = (b'<?xml version="1.0" encoding="utf-8"?><feed xmlns='
                         b'"http://www.w3.org/2005/Atom"><title>Runway Weekly</title>'
                         b'<id>urn:runway</id><updated>2025-03-10T12:30:00Z</updated></feed>')
    result = one_pass(store, make("news"))
    assert result.failures == []
    with store.engine.connect() as conn:
        row = conn.exec_driver_sql(
            f"SELECT p.native_id, a.native_id FROM posts p JOIN authors a ON a.id = p.author_id "
            f"WHERE p.native_id = '{guid}'").one()
    assert row == (guid, "news.partner.example")  # the item's own outlet, not the channel's
