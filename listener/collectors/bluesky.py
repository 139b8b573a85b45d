"""Bluesky through the atproto SDK: post search per brand term, with threads, reposts and profiles.

app.bsky.feed.searchPosts leaves query syntax unspecified (no documented OR), so each positive
term of a brand query is its own search unit and every hit is matched against the brand queries
locally, which also applies their NOT and AND parts. Search runs newest first (`sort=latest`);
the cursor keeps, like X's, `since` (every post up to that sort time is saved) and, while a sweep
is unfinished (a kill, or the page cap), `until` (the oldest sort time saved) and `newest`; a
resumed sweep asks for `since <= sortAt < until`, so it neither loses nor refetches much.

For each page of hits the collector adds what reach and the graph need, before the page and its
cursor are committed together: the thread of each hit that has replies (getPostThread: replies
are stored as posts, like a Reddit comment tree), who reposted it (getRepostedBy), and every
author's profile with follower counts (getProfiles, 25 a call). Replies, quotes and mentions come
from the post records themselves (listener.mapping.bluesky).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from atproto_client import Client, models
from atproto_client.exceptions import (
    BadRequestError,
    NetworkError,
    RateLimitExceededError,
    RequestException,
    UnauthorizedError,
)
from atproto_client.request import Request

from listener.collectors.base import Collector, Page, SweepState, Unit
from listener.collectors.retry import Fault, RetryPolicy, Unavailable, connection_fault
from listener.errors import AuthError, ConfigError, SourceError
from listener.mapping.bluesky import (
    map_post_views,
    map_profiles,
    map_reposted_by,
    map_thread,
    merge_authors,
    sort_at,
)
from listener.mapping.report import MapReport
from listener.post import Batch, utcnow
from listener.query import Not, Query, Term
from listener.settings import Setting, Settings
from listener.store import Brand

__all__ = ["BlueskyCollector", "SearchCursor", "search_terms"]

log = logging.getLogger(__name__)

ENV_HANDLE = "UNDERTOW_BLUESKY_HANDLE"
ENV_PASSWORD = "UNDERTOW_BLUESKY_APP_PASSWORD"
ENV_SERVICE = "UNDERTOW_BLUESKY_SERVICE"
DEFAULT_SERVICE = "https://bsky.social"
_PROFILES_PER_CALL = 25  # app.bsky.actor.getProfiles accepts at most 25 actors


def search_terms(query: Query) -> list[str]:
    """The terms a post must contain for `query` to match it (those not under a NOT), as search
    strings: phrases quoted, a trailing '*' dropped. Sources without boolean search run one search
    per term and match the whole query locally."""
    out: list[str] = []
    stack = [query.root]
    while stack:
        node = stack.pop()
        if isinstance(node, Not):
            continue
        if isinstance(node, Term):
            text = node.text.rstrip("*")
            text = f'"{text}"' if node.phrase else text
            if text not in out:
                out.append(text)
            continue
        stack.extend(reversed(node.children))  # type: ignore[attr-defined]
    return out


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class SearchCursor(SweepState):
    since: str | None = None
    until: str | None = None
    newest: str | None = None


class _BadBody(Exception):
    """The service answered 2xx with a body that is not a JSON object (truncated, a proxy page)."""


class BlueskyCollector(Collector):
    name = "bluesky"
    title = "Bluesky"
    config = (
        Setting("bluesky_handle", "Bluesky account Undertow searches as", required=True),
        Setting("bluesky_app_password", "a Bluesky app password", secret=True, required=True),
        Setting("bluesky_service", "PDS address, also for replays and self-hosted instances",
                shown_default=f"`{DEFAULT_SERVICE}`"),
    )
    check_when_down = f"{ENV_SERVICE} (empty means {DEFAULT_SERVICE}) and the network connection"
    # Bluesky's PDS allows 3,000 requests per 5 minutes per IP; a page of hits costs 2-10 with
    # its threads, reposts and profiles, so 10 minutes keeps brands current well inside that.
    default_interval = 600.0

    def __init__(self, client: Client, handle: str, password: str, policy: RetryPolicy, *,
                 max_results: int = 100, max_pages: int = 10, max_threads: int = 50,
                 max_reposts: int = 50, thread_depth: int = 10,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.client = client
        self.handle = handle
        self._password = password
        self.policy = policy
        self.max_results = max_results
        self.max_pages = max_pages
        self.max_threads = max_threads  # getPostThread calls per unit per pass
        self.max_reposts = max_reposts  # getRepostedBy calls per unit per pass
        self.thread_depth = thread_depth
        self.clock = clock
        self._logged_in = False

    @classmethod
    def from_settings(cls, settings: Settings, policy: RetryPolicy) -> BlueskyCollector:
        handle, password = settings.bluesky_handle, settings.bluesky_app_password.get()
        missing = [env for env, value in ((ENV_HANDLE, handle), (ENV_PASSWORD, password))
                   if not value]
        if missing:
            raise ConfigError(f"Bluesky needs an account to search with: set "
                              f"{' and '.join(missing)} (bsky.app > Settings > Privacy and "
                              "security > App passwords > Add App Password)")
        service = settings.bluesky_service or DEFAULT_SERVICE
        client = Client(base_url=service, request=Request(timeout=30.0))
        return cls(client, handle.removeprefix("@"), password, policy)

    @staticmethod
    def classify(exc: BaseException) -> Fault | None:
        if isinstance(exc, RateLimitExceededError):
            reset = exc.reset_at.timestamp() if exc.reset_at else None
            if reset is None and exc.retry_after is not None:
                reset = time.time() + exc.retry_after
            return Fault("rate_limit", "429 Too Many Requests", reset)
        if isinstance(exc, UnauthorizedError) or (
                isinstance(exc, BadRequestError) and "Token" in str(exc)):
            return Fault("auth", f"Bluesky refused the login ({exc}): set {ENV_HANDLE} to the "
                                 f"account's handle and {ENV_PASSWORD} to one of its app "
                                 "passwords")
        if isinstance(exc, NetworkError):  # transport failures and 409/413/502
            if exc.response:
                return Fault("transient", str(exc))
            return connection_fault(exc.__cause__ or exc)
        if isinstance(exc, httpx.TransportError):  # e.g. the connection dropped mid-response
            return connection_fault(exc)
        if isinstance(exc, RequestException) and exc.response is not None \
                and exc.response.status_code >= 500:
            return Fault("transient", str(exc))
        if isinstance(exc, RequestException | BadRequestError):
            return Fault("fatal", str(exc))
        if isinstance(exc, _BadBody):
            return Fault("transient", "truncated or invalid JSON response")
        return None

    def units(self, brands: Sequence[Brand], *, brand_filter: bool = False) -> list[Unit]:
        units: dict[str, Unit] = {}
        for b in brands:
            for term in search_terms(Query(b.query)):
                key = f"search:{term}"
                if key not in units:
                    units[key] = Unit(key, f"search {b.name}: {term}", b.name,
                                      {"term": term, "queries": []})
                units[key].params["queries"].append(b.query)
        return list(units.values())

    # -- requests ---------------------------------------------------------------------------

    def _query(self, nsid: str, params: Any, what: str) -> dict[str, Any]:
        self._login()

        def call() -> dict[str, Any]:
            try:
                response = self.client.invoke_query(nsid, params=params)
            except ValueError as exc:  # the SDK could not parse the JSON body
                raise _BadBody(str(exc)) from exc
            if not isinstance(response.content, dict):
                raise _BadBody(f"{type(response.content).__name__} body")
            return response.content

        return self.policy.call(call, what)

    def _login(self) -> None:
        """One session per collector: createSession is limited to 30 per 5 minutes per account,
        and the SDK refreshes the session itself before it expires. A failed login fails the
        whole run, else every search term would log in again through the full backoff."""
        if self._logged_in:
            return
        try:
            self.policy.call(lambda: self.client.login(self.handle, self._password,
                                                       fetch_bsky_profile=False), "login")
        except (AuthError, Unavailable):
            raise
        except SourceError as exc:
            raise self.policy.give_up(str(exc)) from exc
        self._logged_in = True

    # -- search -----------------------------------------------------------------------------

    def fetch(self, unit: Unit, cursor: str | None) -> Iterator[Page]:
        state = SearchCursor.load(cursor)
        queries = [Query(q) for q in unit.params["queries"]]
        budget = {"threads": self.max_threads, "reposts": self.max_reposts}
        # The window is fixed for the sweep; the API's cursor is an offset into it.
        window = {"q": unit.params["term"], "sort": "latest", "limit": self.max_results,
                  "since": state.since, "until": state.until}
        api_cursor: str | None = None
        for _ in range(self.max_pages):
            params = models.AppBskyFeedSearchPosts.Params(**window, cursor=api_cursor)
            body = self._query("app.bsky.feed.searchPosts", params, unit.label)
            views = [v for v in body.get("posts") or [] if isinstance(v, dict)]
            hits = [v for v in views if any(q.matches(_searchable(v)) for q in queries)]
            batch, report = self._expand(hits, budget, unit.label)
            times = [t for t in map(sort_at, views) if t is not None]
            newest = max([*times, *_parsed(state.newest)], default=None)
            api_cursor = body.get("cursor")
            if api_cursor and views:
                # `until` is exclusive: one millisecond past the oldest saved keeps its peers.
                until = _iso(min(times) + timedelta(milliseconds=1)) if times else state.until
                state = SearchCursor(state.since, until, _iso(newest) if newest else None)
            else:
                state = SearchCursor(since=_iso(newest) if newest else state.since)
            yield Page(batch, report, state.dump(), fetched=len(views))
            if not api_cursor or not views:
                return
        log.info("Bluesky %s: page cap (%d) reached; the next pass continues the sweep",
                 unit.label, self.max_pages)
        yield Page(Batch(), more=True)

    def _expand(self, hits: list[dict[str, Any]], budget: dict[str, int],
                what: str) -> tuple[Batch, MapReport]:
        """The hits with their threads, reposters and authors' profiles, as one batch."""
        stamp = self.clock()
        batch, report = map_post_views(hits, stamp)
        for view in hits:
            uri = view.get("uri")
            if not uri:
                continue
            if (view.get("replyCount") or 0) > 0 and budget["threads"] > 0:
                budget["threads"] -= 1
                params = models.AppBskyFeedGetPostThread.Params(
                    uri=uri, depth=self.thread_depth, parent_height=0)
                body = self._optional("app.bsky.feed.getPostThread", params,
                                      f"thread of {uri}", report)
                if body is not None:
                    thread, thread_report = map_thread(body, stamp)
                    batch.extend(thread)
                    report.merge(thread_report)
            if (view.get("repostCount") or 0) > 0 and budget["reposts"] > 0:
                budget["reposts"] -= 1
                params = models.AppBskyFeedGetRepostedBy.Params(uri=uri, limit=100)
                body = self._optional("app.bsky.feed.getRepostedBy", params,
                                      f"reposts of {uri}", report)
                if body is not None:
                    batch.extend(map_reposted_by(body, stamp))
        # Mentioned and replied-to accounts too: often the brand's own, whose reach matters.
        dids = list(dict.fromkeys([*(a.native_id for a in batch.authors),
                                   *(i.target_author_native_id for i in batch.interactions)]))
        for start in range(0, len(dids), _PROFILES_PER_CALL):
            params = models.AppBskyActorGetProfiles.Params(
                actors=dids[start:start + _PROFILES_PER_CALL])
            body = self._optional("app.bsky.actor.getProfiles", params, f"{what}: profiles",
                                  report)
            if body is not None:
                batch.authors.extend(map_profiles(body))
        batch.authors = merge_authors(batch.authors)
        return batch, report

    def _optional(self, nsid: str, params: Any, what: str,
                  report: MapReport) -> dict[str, Any] | None:
        """A lookup whose failure (a deleted post, a blocked thread) costs only what it adds."""
        try:
            return self._query(nsid, params, what)
        except (AuthError, Unavailable):
            raise
        except SourceError as exc:
            report.skipped.append(f"{what}: not fetched: {exc}")
            return None


def _searchable(view: dict[str, Any]) -> str:
    """What a brand query is matched against: the text, plus tags kept outside it."""
    record = view.get("record") or {}
    tags = " ".join(f"#{t}" for t in record.get("tags") or [] if isinstance(t, str))
    return f"{record.get('text') or ''} {tags}"


def _parsed(value: str | None) -> list[datetime]:
    return [datetime.fromisoformat(value.replace("Z", "+00:00"))] if value else []
