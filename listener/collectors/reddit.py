"""Reddit through praw: search per brand, watched subreddits, full comment trees.

Reddit listings run newest first and cannot start "after time T", so each unit's cursor keeps
`since`, the `created_utc` of the newest thing a *finished* sweep saw. A sweep walks down from the
newest item until it passes `since` less an overlap (search indexes posts with a delay, so the
last hour before the cursor is read again; upserts make that harmless). While a sweep is
unfinished (the thread cap of a search, or a kill) the cursor also keeps `after`, the fullname of
the last thing saved, and `newest`, the next sweep's `since`: the next pass asks the listing for
what comes after that thing (`params={"after": ...}`) and walks on to the same floor, so no
thread of the sweep is skipped and none is read twice. Each page carries that cursor, so a kill
costs at most the page in hand. A listing holds at most ~1,000 items, and Reddit may answer an
`after` it no longer lists (deleted, or pushed past those ~1,000 by newer posts) with an empty
page, so a resumed sweep that gets nothing at all reads the listing again from the top.
Old cursors (`since` alone) still load.

Its compliance check (`RedditChecker`, Reddit's terms: drop what its author deleted or moderators
removed) asks /api/info through the same praw client.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import praw
import prawcore
from praw.exceptions import RedditAPIException

from listener.collectors.base import (
    KEEP,
    NO_ANSWER,
    NOT_AN_ID,
    ChecksCompliance,
    Collector,
    Page,
    SweepState,
    Unit,
    Verdict,
)
from listener.collectors.retry import Fault, RetryPolicy, Unavailable, connection_fault
from listener.errors import AuthError, ConfigError, SourceError
from listener.mapping.praw_objects import map_praw, thing_data
from listener.post import Batch, utcnow
from listener.query import Query
from listener.settings import Setting, Settings
from listener.store import Brand
from listener.store.compliance import StoredPost

__all__ = ["RedditChecker", "RedditCollector", "SweepCursor", "reddit_verdict"]

log = logging.getLogger(__name__)

ENV_ID = "UNDERTOW_REDDIT_CLIENT_ID"
ENV_SECRET = "UNDERTOW_REDDIT_CLIENT_SECRET"
ENV_AGENT = "UNDERTOW_REDDIT_USER_AGENT"
# praw's two hosts: the API, and the site that issues its tokens.
OAUTH_URL, SITE_URL = "https://oauth.reddit.com", "https://www.reddit.com"
_GONE = ("[deleted]", "[removed]")
_END = object()
_LISTING_PAGE = 100  # what praw asks for per request


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """'a, r/b' or ['a', 'b'] -> ('a', 'b')."""
    items = value.split(",") if isinstance(value, str) else (value or ())
    return tuple(n.strip().removeprefix("r/") for n in items if n.strip())


@dataclass(frozen=True)
class SweepCursor(SweepState):
    """A unit's cursor: `since`, and while a sweep is unfinished `after` (the fullname of the last
    thing saved) and `newest` (the newest `created_utc` it saw)."""

    since: float | None = None
    after: str | None = None
    newest: float | None = None


class RedditCollector(Collector, ChecksCompliance):
    name = "reddit"
    title = "Reddit"
    config = (
        Setting("reddit_client_id", "Reddit app client id", required=True),
        Setting("reddit_client_secret", "Reddit app secret", secret=True, required=True),
        Setting("reddit_user_agent", "Reddit requires a descriptive user agent",
                default="undertow/0.1 (social listening)"),
        Setting("reddit_subreddits", "comma-separated subreddits brand searches are limited to",
                shown_default="all of Reddit"),
        Setting("reddit_watch", "comma-separated subreddits whose every new post and comment "
                                "is collected"),
        Setting("reddit_base_url", "Reddit API and token address (one server for both), for "
                                   "replays and self-hosted instances",
                shown_default=f"`{OAUTH_URL}`, tokens from `{SITE_URL}`"),
    )
    # OAuth clients get about 100 requests a minute; a comment tree costs one or more each.
    default_interval = 300.0

    def __init__(self, reddit: praw.Reddit, policy: RetryPolicy, *,
                 subreddits: Sequence[str] = (), watch: Sequence[str] = (),
                 max_items: int = 1000, max_threads: int = 100, more_limit: int = 32,
                 overlap: float = 3600.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.reddit = reddit
        self.policy = policy
        self.subreddits = tuple(subreddits)
        self.watch = tuple(watch)
        self.max_items = max_items
        self.max_threads = max_threads
        self.more_limit = more_limit
        self.overlap = overlap
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, policy: RetryPolicy) -> RedditCollector:
        missing = [env for env, value in ((ENV_ID, settings.reddit_client_id),
                                          (ENV_SECRET, settings.reddit_client_secret.get()))
                   if not value]
        if missing:
            raise ConfigError(f"Reddit needs app credentials: set {' and '.join(missing)} "
                              "(reddit.com/prefs/apps > create app > type 'script')")
        base = settings.reddit_base_url.rstrip("/")
        reddit = praw.Reddit(
            client_id=settings.reddit_client_id,
            client_secret=settings.reddit_client_secret.get(),
            user_agent=settings.reddit_user_agent,
            check_for_updates=False,
            check_for_async=False,
            oauth_url=base or OAUTH_URL,
            reddit_url=base or SITE_URL,
        )
        return cls(reddit, policy, subreddits=_names(settings.reddit_subreddits),
                   watch=_names(settings.reddit_watch))

    @staticmethod
    def classify(exc: BaseException) -> Fault | None:
        if isinstance(exc, prawcore.TooManyRequests):
            headers = exc.response.headers
            wait = headers.get("x-ratelimit-reset") or exc.retry_after
            return Fault("rate_limit", "429 Too Many Requests",
                         time.time() + float(wait) if wait else None)
        if isinstance(exc, prawcore.ServerError | prawcore.BadJSON) or (
                # The token endpoint's 5xx reaches us as a bare ResponseException.
                isinstance(exc, prawcore.ResponseException)
                and exc.response.status_code >= 500):
            return Fault("transient", str(exc))
        if isinstance(exc, prawcore.RequestException):  # no answer: the connection failed
            return Fault(connection_fault(exc).kind, str(exc))
        if isinstance(exc, prawcore.OAuthException | prawcore.InvalidToken) or (
                isinstance(exc, prawcore.ResponseException)
                and exc.response.status_code == 401):
            return Fault("auth", f"Reddit refused the app credentials ({exc}): set {ENV_ID} and "
                                 f"{ENV_SECRET} to a 'script' app's id and secret")
        if isinstance(exc, prawcore.Redirect):
            return Fault("fatal", "no such subreddit")
        if isinstance(exc, prawcore.NotFound):
            return Fault("fatal", "404 Not Found (deleted, or a banned subreddit)")
        if isinstance(exc, prawcore.Forbidden):
            return Fault("fatal", "403 Forbidden: a private, quarantined or banned subreddit")
        if isinstance(exc, prawcore.ResponseException | RedditAPIException):
            return Fault("fatal", str(exc))
        return None

    def units(self, brands: Sequence[Brand], *, brand_filter: bool = False) -> list[Unit]:
        scope = "+".join(self.subreddits) or "all"
        where = f" in r/{scope}" if self.subreddits else ""
        units = [Unit(key=f"search:{scope}:{b.query}", label=f"search {b.name}{where}",
                      brand=b.name, params={"kind": "search", "scope": scope, "query": b.query})
                 for b in brands]
        if not brand_filter:
            for sub in self.watch:
                units.append(Unit(f"new:{sub}", f"r/{sub} new submissions",
                                  params={"kind": "new", "sub": sub}))
                units.append(Unit(f"comments:{sub}", f"r/{sub} new comments",
                                  params={"kind": "comments", "sub": sub}))
        return units

    def fetch(self, unit: Unit, cursor: str | None) -> Iterator[Page]:
        start = state = SweepCursor.load(cursor)
        p = unit.params
        floor = None if state.since is None else state.since - self.overlap
        things = self._walk(self._items(p, state.after, unit.label), floor)
        newest = state.newest if state.newest is not None else state.since
        threads = 0
        chunk: list[Any] = []
        for thing in things:
            created = vars(thing).get("created_utc")
            if isinstance(created, int | float):  # a malformed one is skipped by the mapper
                newest = created if newest is None else max(newest, created)
            state = SweepCursor(state.since, vars(thing).get("name") or state.after, newest)
            if p["kind"] != "search":
                chunk.append(thing)
                if len(chunk) == _LISTING_PAGE:
                    yield self._page(chunk, state)
                    chunk = []
                continue
            comments, problem = self._tree(thing)
            page = self._page([thing, *comments], state)
            if problem:
                page.report.skipped.append(f"t3 {thing.id}: {problem}")
            yield page
            threads += 1
            if threads >= self.max_threads and next(things, None) is not None:
                log.info("Reddit %s: thread cap (%d) reached; the next pass continues the sweep",
                         unit.label, self.max_threads)
                yield Page(Batch(), more=True)
                return
        done = SweepCursor(since=newest)
        if chunk:
            yield self._page(chunk, done)
        elif done != start:
            yield Page(Batch(), cursor=done.dump())

    def _items(self, p: dict[str, Any], after: str | None, what: str) -> Iterator[Any]:
        """The unit's listing, from the thing after `after` (the top when None or gone)."""
        items = self._listing(p, after, what)
        first = next(items, _END)
        if first is _END and after:
            log.warning("Reddit %s: the listing holds nothing after %s (deleted, or past its "
                        "~1,000 items): reading the sweep again from the top", what, after)
            items = self._listing(p, None, what)
            first = next(items, _END)
        if first is not _END:
            yield first
            yield from items

    def _listing(self, p: dict[str, Any], after: str | None, what: str) -> Iterator[Any]:
        """The listing's items, newest first; each request retried."""
        params = {"params": {"after": after}} if after else {}
        if p["kind"] == "search":
            listing = self.reddit.subreddit(p["scope"]).search(
                Query(p["query"]).to_reddit(), sort="new", syntax="lucene", time_filter="all",
                limit=self.max_items, **params)
        elif p["kind"] == "new":
            listing = self.reddit.subreddit(p["sub"]).new(limit=self.max_items, **params)
        else:
            listing = self.reddit.subreddit(p["sub"]).comments(limit=self.max_items, **params)
        while (thing := self.policy.call(lambda: next(listing, _END), what)) is not _END:
            yield thing

    @staticmethod
    def _walk(items: Iterator[Any], floor: float | None) -> Iterator[Any]:
        """The items down to the floor (the cursor less the overlap)."""
        for thing in items:
            created = vars(thing).get("created_utc")
            if floor is not None and isinstance(created, int | float) and created < floor:
                return
            yield thing

    def _tree(self, submission: Any) -> tuple[list[Any], str | None]:
        """The comments of a submission, resolving up to `more_limit` "load more" stubs.

        A tree that fails to load (after retries) keeps what did load, and the submission is
        kept either way: one broken thread must not cost the rest of the sweep.
        """
        what = f"comments of {submission.id}"
        try:
            forest = self.policy.call(lambda: submission.comments, what)
        except (AuthError, Unavailable):
            raise
        except SourceError as exc:
            return [], f"comment tree not fetched: {exc}"
        problem = None
        try:
            self.policy.call(lambda: forest.replace_more(limit=self.more_limit), what)
        except (AuthError, Unavailable):
            raise
        except SourceError as exc:
            problem = f"some 'load more' comments not fetched: {exc}"
        return [c for c in forest.list() if isinstance(c, praw.models.Comment)], problem

    def _page(self, things: list[Any], state: SweepCursor) -> Page:
        batch, report = map_praw(things, collected_at=self.clock())
        return Page(batch, report, state.dump(), fetched=len(things))

    def compliance_checker(self, countries: Iterable[str] = ()) -> RedditChecker:
        return RedditChecker(self)


def reddit_verdict(kind: str, data: dict[str, Any]) -> Verdict:
    """What to do with a stored submission (t3) or comment (t1), given Reddit's current data."""
    body = data.get("body") if kind == "t1" else data.get("selftext")
    category = data.get("removed_by_category")
    if body in _GONE or category:
        by_author = body == "[deleted]" or category in ("deleted", "author")
        return Verdict("remove", "deleted by its author" if by_author
                       else "removed by moderators or Reddit")
    if data.get("author") in (None, "", *_GONE):
        fresh = {k: v for k, v in data.items() if k != "author_fullname"}
        return Verdict("unlink", "account deleted", {**fresh, "author": "[deleted]"})
    return KEEP


class RedditChecker:
    """One /api/info request per call (praw sends up to 100 fullnames in one)."""

    platform = "reddit"

    def __init__(self, collector: RedditCollector) -> None:
        self.title = collector.title
        self.policy = collector.policy
        self.reddit = collector.reddit

    def check(self, posts: Sequence[StoredPost]) -> dict[int, Verdict]:
        names = [p.native_id for p in posts if p.native_id[:3] in ("t1_", "t3_")]
        found: dict[str, Verdict] = {}
        if names:
            things = self.policy.call(lambda: list(self.reddit.info(fullnames=names)),
                                      f"lookup of {len(names)} posts")
            for thing in things:
                kind, data = thing_data(thing)
                found[str(data.get("name"))] = reddit_verdict(kind, data)
        out: dict[int, Verdict] = {}
        for p in posts:
            verdict = found.get(p.native_id) or Verdict(
                "keep", NO_ANSWER if p.native_id in names else NOT_AN_ID)
            if verdict.action == "unlink" and p.anonymous:
                verdict = KEEP  # stored without its author already
            out[p.id] = verdict
        return out
