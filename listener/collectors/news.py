"""News and blogs: configured RSS/Atom feeds, entries matched against the brand queries locally.

Each feed is one unit. Polling is a conditional GET: the cursor keeps the feed's last ETag and
Last-Modified, sent back as If-None-Match / If-Modified-Since, so an unchanged feed costs one
304 and no parsing (unless the brands changed since: a new brand gets the whole feed). The feed is fetched with requests (timeouts, status codes and Retry-After go
through the one RetryPolicy) and parsed by feedparser from the bytes, never from a URL, so
feedparser itself makes no request. Stored entries are posts of platform "news" by the outlet.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

import feedparser
import requests

from listener.collectors.base import Collector, Page, Unit
from listener.collectors.retry import Fault, RetryPolicy, connection_fault
from listener.errors import ConfigError, SourceError
from listener.mapping.news import map_feed
from listener.post import utcnow
from listener.query import Query
from listener.settings import Setting, Settings
from listener.store import Brand

__all__ = ["NewsCollector"]

ENV_FEEDS = "UNDERTOW_NEWS_FEEDS"
USER_AGENT = "undertow/0.1 (social listening; feed reader)"
ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
          "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5")


def _retry_at(value: str | None) -> float | None:
    """Retry-After as a unix time: seconds or an HTTP date."""
    if not value:
        return None
    try:
        return time.time() + float(value)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _site(url: str) -> str:
    """A feed's server: feeds on one site are down together."""
    return urlparse(url).netloc


class NewsCollector(Collector):
    name = "news"
    title = "News"
    config = (
        Setting("news_feeds", "RSS/Atom addresses, comma- or newline-separated", required=True),
    )
    check_when_down = f"{ENV_FEEDS} and the network connection"
    # Feeds change a few times an hour; a conditional GET every 15 minutes is polite.
    default_interval = 900.0

    def __init__(self, feeds: Sequence[str], policy: RetryPolicy, *,
                 session: requests.Session | None = None, timeout: float = 30.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.feeds = list(dict.fromkeys(feeds))
        self.policy = policy
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": ACCEPT})
        self.timeout = timeout
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, policy: RetryPolicy) -> NewsCollector:
        feeds = [f.strip() for f in settings.news_feeds.replace("\n", ",").split(",")
                 if f.strip()]
        if not feeds:
            raise ConfigError(f"News needs the feeds to poll: set {ENV_FEEDS} to RSS or Atom "
                              "addresses, separated by commas")
        bad = [f for f in feeds if urlparse(f).scheme not in ("http", "https")]
        if bad:
            raise ConfigError(f"{ENV_FEEDS}: not an http(s) address: {', '.join(bad)}")
        return cls(feeds, policy)

    @staticmethod
    def classify(exc: BaseException) -> Fault | None:
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            status, headers = exc.response.status_code, exc.response.headers
            reason = f"{status} {exc.response.reason or ''}".strip()
            if status == 429 or (status == 503 and headers.get("retry-after")):
                return Fault("rate_limit", reason, _retry_at(headers.get("retry-after")))
            if status >= 500:
                return Fault("transient", reason)
            hint = {401: "the feed needs a login", 403: "the site refuses this reader",
                    404: "no feed at this address", 410: "the feed was removed"}.get(status)
            return Fault("fatal", f"{reason}: {hint}; check {ENV_FEEDS}" if hint else reason)
        if isinstance(exc, requests.ConnectionError | requests.Timeout):
            return connection_fault(exc)
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):
            return Fault("transient", "truncated response")
        return None

    def units(self, brands: Sequence[Brand], *, brand_filter: bool = False) -> list[Unit]:
        if not brands:
            return []
        if not brand_filter:
            return [Unit(f"feed:{url}", f"feed {url}", None,
                         {"url": url, "queries": [b.query for b in brands]}, _site(url))
                    for url in self.feeds]
        # One brand's collection keeps its own validators: the feed's ETag says nothing about
        # which brands were matched against it.
        return [Unit(f"feed:{url}|{b.query}", f"feed {url} for {b.name}", b.name,
                     {"url": url, "queries": [b.query]}, _site(url))
                for b in brands for url in self.feeds]

    def fetch(self, unit: Unit, cursor: str | None) -> Iterator[Page]:
        url = unit.params["url"]
        validators = json.loads(cursor) if cursor else {}
        # An unchanged feed is new to a brand added since: then fetch it whole.
        queries_key = hashlib.blake2b("\n".join(sorted(unit.params["queries"])).encode(),
                                      digest_size=6).hexdigest()
        if validators.get("queries") != queries_key:
            validators = {}
        headers = {}
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("modified"):
            headers["If-Modified-Since"] = validators["modified"]
        response = self.policy.call(lambda: self._get(url, headers), unit.label, unit.service)
        if response.status_code == 304:
            return
        parsed = feedparser.parse(io.BytesIO(response.content), response_headers={
            "content-location": response.url,
            "content-type": response.headers.get("content-type", "application/xml")})
        # A feed with no items yet is still a feed (feedparser names its version).
        if parsed.get("bozo") and not parsed.get("entries") and not parsed.get("version"):
            raise SourceError(f"{url} is not an RSS or Atom feed: "
                              f"{parsed.get('bozo_exception') or 'unreadable'}")
        queries = [Query(q) for q in unit.params["queries"]]
        batch, report = map_feed(parsed, url, self.clock(),
                                 keep=lambda text: any(q.matches(text) for q in queries))
        state = {k: v for k, v in (("etag", response.headers.get("etag")),
                                   ("modified", response.headers.get("last-modified")),
                                   ("queries", queries_key)) if v}
        yield Page(batch, report, json.dumps(state, sort_keys=True),
                   fetched=len(parsed.get("entries") or []))

    def _get(self, url: str, headers: dict[str, str]) -> requests.Response:
        response = self.session.get(url, headers=headers, timeout=self.timeout)
        response.raise_for_status()
        return response
