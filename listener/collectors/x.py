"""X (Twitter) API v2 through tweepy: recent search per brand, and the filtered stream.

Search walks newest to oldest in pages. Its cursor records what is safely stored:
`since_id` (everything up to it is saved) and, while a sweep is still in progress (a kill, or the
per-pass page cap), `until_id` (the oldest tweet saved so far) and `newest_id` (where the next
sweep starts once this one is done). A resumed run asks for `since_id < id < until_id`, so a kill
mid-sweep neither loses the older tweets nor refetches the ones already saved, and every read
counts against a paid monthly quota, so refetching matters.

Its compliance check (`XChecker`, X's developer terms: drop deleted, protected and withheld
tweets) asks the batch lookup through the same client and the same quota bookkeeping.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
import tweepy

from listener.collectors.base import (
    KEEP,
    NO_ANSWER,
    NOT_AN_ID,
    ChecksCompliance,
    Collector,
    Page,
    Streams,
    SweepState,
    Unit,
    Verdict,
)
from listener.collectors.retry import Fault, RetryPolicy, connection_fault
from listener.errors import AuthError, ConfigError, QueryError
from listener.mapping.report import MapReport
from listener.mapping.x import map_page
from listener.post import Batch, utcnow
from listener.query import Query
from listener.settings import Setting, Settings
from listener.store import Brand
from listener.store.compliance import StoredPost

__all__ = ["EXPANSIONS", "TWEET_FIELDS", "USER_FIELDS", "SearchCursor", "XChecker",
           "XCollector", "x_verdicts"]

log = logging.getLogger(__name__)

ENV = "UNDERTOW_X_BEARER_TOKEN"
API = "https://api.twitter.com"  # tweepy's fixed host; UNDERTOW_X_BASE_URL replaces it
# What reach and the graph need: the author, referenced tweets and their authors, mentions,
# public metrics of tweets and users.
EXPANSIONS = ["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id",
              "entities.mentions.username", "in_reply_to_user_id"]
TWEET_FIELDS = ["author_id", "conversation_id", "created_at", "entities", "in_reply_to_user_id",
                "lang", "public_metrics", "referenced_tweets"]
USER_FIELDS = ["created_at", "name", "public_metrics", "username", "verified"]
_ID_IN_LINE = re.compile(rb'"id"\s*:\s*"(\d+)"')
_TWEET_ID = re.compile(r"\d{1,19}")


class _MaskTokens(logging.Filter):
    """tweepy logs each request's headers at DEBUG, bearer token included: mask the token."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(token in text for token in self.tokens):
            for token in self.tokens:
                text = text.replace(token, "***")
            record.msg, record.args = text, ()
        return True


_MASK = _MaskTokens()
logging.getLogger("tweepy.client").addFilter(_MASK)


class _Rebased(requests.Session):
    """A session that sends what tweepy addresses to api.twitter.com to `base` instead
    (tweepy has no base-URL option): a replay server or a compatible self-hosted API."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith(API):
            url = self.base + url[len(API):]
        return super().request(method, url, *args, **kwargs)


def _rebase(client: Any, base: str) -> Any:
    if base.rstrip("/") != API:
        client.session = _Rebased(base)
    return client


def _newer(a: str | None, b: str | None) -> str | None:
    """The larger of two tweet ids (ids are time-ordered snowflakes)."""
    if not a or not b:
        return a or b
    return a if int(a) >= int(b) else b


@dataclass(frozen=True)
class SearchCursor(SweepState):
    since_id: str | None = None
    until_id: str | None = None
    newest_id: str | None = None


class _Stream(tweepy.StreamingClient):
    """tweepy's stream with its own retry loop cut short: every drop returns to our loop,
    which waits per RetryPolicy and reconnects, so backoff lives in one place."""

    def __init__(self, token: str, on_line: Callable[[bytes], None], stop: threading.Event,
                 base_url: str = API) -> None:
        super().__init__(token, return_type=requests.Response, wait_on_rate_limit=False)
        _rebase(self, base_url)
        self._on_line = on_line
        self._stop = stop
        self.status: int | str | None = None
        self.exception: Exception | None = None
        self.received = 0

    def on_data(self, raw_data: bytes) -> None:
        self.received += 1
        self._on_line(raw_data)
        if self._stop.is_set():
            self.disconnect()

    def on_keep_alive(self) -> None:
        if self._stop.is_set():
            self.disconnect()

    def on_request_error(self, status_code: int) -> None:
        self.status = status_code
        self.disconnect()

    def on_connection_error(self) -> None:
        self.status = "connection error"
        self.disconnect()

    def on_closed(self, response: requests.Response) -> None:
        self.status = "closed by X"
        self.disconnect()

    def on_exception(self, exception: Exception) -> None:
        self.exception = exception


class XCollector(Collector, Streams, ChecksCompliance):
    name = "x"
    title = "X"
    config = (
        Setting("x_bearer_token", "X API v2 bearer token", secret=True, required=True),
        Setting("x_backfill_hours", "how far back a brand's first X search looks", float, 0.0,
                shown_default="7 days"),
        Setting("x_base_url", "X API address, for replays and self-hosted instances",
                default=API),
    )
    # Recent search allows 450 requests / 15 min per app, but paid tiers cap tweets read per
    # month; a quarter-hour keeps a brand current without spending the cap on empty polls.
    default_interval = 900.0

    def __init__(self, bearer_token: str, policy: RetryPolicy, *, max_results: int = 100,
                 max_pages: int = 10, backfill_hours: float = 0, base_url: str = API,
                 clock: Callable[[], datetime] = utcnow) -> None:
        _MASK.tokens.add(bearer_token)
        self.bearer_token = bearer_token
        self.policy = policy
        self.max_results = max_results
        self.max_pages = max_pages
        self.backfill_hours = backfill_hours
        self.base_url = base_url
        self.clock = clock
        self.client = _rebase(tweepy.Client(bearer_token=bearer_token,
                                            return_type=requests.Response,
                                            wait_on_rate_limit=False), base_url)
        # Per endpoint, the reset time of a window the last response said was used up.
        self._reset_at: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings, policy: RetryPolicy) -> XCollector:
        token = settings.x_bearer_token.get()
        if not token:
            raise ConfigError(f"X needs an app bearer token: set {ENV} (developer.x.com > your "
                              "project's app > Keys and tokens > Bearer Token)")
        return cls(token, policy, backfill_hours=settings.x_backfill_hours or 0,
                   base_url=settings.x_base_url or API)

    def _spend(self, endpoint: str, request: Callable[[], requests.Response]) -> dict[str, Any]:
        """One request against X's per-endpoint window: when the last answer said none are
        left, wait for its reset first (each read counts against a paid quota: never spend one
        on a sure 429)."""
        reset_at = self._reset_at.pop(endpoint, None)
        if reset_at is not None:
            self.policy.wait_until(reset_at, endpoint)
        response = request()
        if response.headers.get("x-rate-limit-remaining") == "0":
            reset = float(response.headers.get("x-rate-limit-reset") or 0)
            if reset:
                self._reset_at[endpoint] = reset
        return response.json()

    @staticmethod
    def classify(exc: BaseException) -> Fault | None:
        if isinstance(exc, tweepy.TooManyRequests):
            return Fault("rate_limit", "429 Too Many Requests", exc.reset_time)
        if isinstance(exc, tweepy.TwitterServerError):
            return Fault("transient", str(exc).splitlines()[0])
        if isinstance(exc, tweepy.Unauthorized):
            return Fault("auth", f"X refused the bearer token (401 Unauthorized): set {ENV} to a "
                                 "valid app bearer token")
        if isinstance(exc, tweepy.Forbidden):
            detail = "; ".join(exc.api_messages) or "403 Forbidden"
            return Fault("auth", f"X refused access ({detail}): check the access level of the "
                                 f"app whose token is in {ENV}")
        if isinstance(exc, tweepy.HTTPException):
            return Fault("fatal", str(exc).replace("\n", " "))
        if isinstance(exc, requests.JSONDecodeError):
            return Fault("transient", "truncated or invalid JSON response")
        if isinstance(exc, requests.ConnectionError | requests.Timeout):
            return connection_fault(exc)
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):
            return Fault("transient", "truncated response")
        return None

    # -- recent search ----------------------------------------------------------------------

    def units(self, brands: Sequence[Brand], *, brand_filter: bool = False) -> list[Unit]:
        return [Unit(key=f"search:{b.query}", label=f"search {b.name}", brand=b.name,
                     params={"query": b.query}) for b in brands]

    def fetch(self, unit: Unit, cursor: str | None) -> Iterator[Page]:
        state = SearchCursor.load(cursor)
        params: dict[str, Any] = {
            "query": Query(unit.params["query"]).to_x(),
            "max_results": self.max_results,
            "expansions": EXPANSIONS,
            "tweet_fields": TWEET_FIELDS,
            "user_fields": USER_FIELDS,
        }
        if state.since_id:
            params["since_id"] = state.since_id
        elif self.backfill_hours:
            params["start_time"] = self.clock() - timedelta(hours=self.backfill_hours)
        if state.until_id:
            params["until_id"] = state.until_id
        for _ in range(self.max_pages):
            body = self.policy.call(lambda: self._search(params), unit.label)
            meta = body.get("meta") or {}
            batch, report = map_page(body, collected_at=self.clock())
            newest = _newer(state.newest_id, meta.get("newest_id"))
            token = meta.get("next_token")
            if token:
                state = SearchCursor(state.since_id, meta.get("oldest_id") or state.until_id,
                                     newest)
            else:
                state = SearchCursor(since_id=newest or state.since_id)
            data = body.get("data") or []
            yield Page(batch, report, state.dump(), fetched=len(data))
            if not token:
                return
            params["next_token"] = token
        log.info("X %s: page cap (%d) reached; the next pass continues the sweep",
                 unit.label, self.max_pages)
        yield Page(Batch(), more=True)

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        body = self._spend("search", lambda: self.client.search_recent_tweets(**params))
        body.pop("__twarc", None)  # never sent by X; only twarc-saved files have it
        return body

    # -- compliance -------------------------------------------------------------------------

    def lookup(self, ids: list[str]) -> dict[str, Any]:
        """GET /2/tweets?ids=...: the tweets that are still there, and errors for the rest.

        Only `withheld` is asked for: the verdict needs no more, and paid tiers count reads."""
        return self._spend("tweet lookup",
                           lambda: self.client.get_tweets(ids=ids, tweet_fields=["withheld"]))

    def compliance_checker(self, countries: Iterable[str] = ()) -> XChecker:
        return XChecker(self, countries)

    # -- filtered stream --------------------------------------------------------------------

    def sync_rules(self, brands: Sequence[Brand]) -> None:
        """Make the app's stream rules exactly one per brand (tag = brand name)."""
        rules_client = _rebase(tweepy.StreamingClient(
            self.bearer_token, return_type=requests.Response, wait_on_rate_limit=False),
            self.base_url)
        desired: set[tuple[str, str]] = set()
        for b in brands:
            try:
                desired.add((Query(b.query).to_x(), b.name))
            except QueryError as exc:
                self.policy.notify(f"X stream: brand {b.name} left out: {exc}")
        # Its own scope: the polling passes' "X is down" marks must not stop the live stream.
        body = self.policy.call(lambda: rules_client.get_rules().json(), "stream rules", "stream")
        existing = {(r["value"], r.get("tag")): r["id"] for r in body.get("data") or []}
        stale = [rule_id for key, rule_id in existing.items() if key not in desired]
        missing = sorted(desired - existing.keys())
        if stale:
            self.policy.call(lambda: rules_client.delete_rules(stale).json(), "stream rules",
                             "stream")
        if missing:
            added = self.policy.call(
                lambda: rules_client.add_rules(
                    [tweepy.StreamRule(value=v, tag=t) for v, t in missing]).json(),
                "stream rules", "stream")
            for err in added.get("errors") or []:
                self.policy.notify(f"X refused a stream rule: {err.get('value', '?')}: "
                                   f"{err.get('title') or err.get('details') or err}")
        log.info("X stream rules: %d kept, %d removed, %d added",
                 len(existing) - len(stale), len(stale), len(missing))

    def stream(self, brands: Sequence[Brand], stop: threading.Event,
               emit: Callable[[Page], None]) -> None:
        self.sync_rules(brands)
        attempt = 0
        while not stop.is_set():
            client = _Stream(self.bearer_token, lambda raw: emit(self._stream_page(raw)), stop,
                             self.base_url)
            self.policy.notify("X stream: connecting")
            client.filter(expansions=EXPANSIONS, tweet_fields=TWEET_FIELDS, user_fields=USER_FIELDS)
            if stop.is_set():
                return
            if client.exception is not None:  # a bug, not a network fault: do not loop on it
                raise client.exception
            if client.status in (401, 403):
                raise AuthError(f"X refused the stream connection ({client.status}): set {ENV} "
                                "to the bearer token of an app with filtered-stream access")
            attempt = 0 if client.received else attempt + 1
            kind = "rate_limit" if client.status == 429 else "transient"
            self.policy.reconnect(Fault(kind, f"stream dropped ({client.status})"), attempt,
                                  "stream")

    def _stream_page(self, raw: bytes) -> Page:
        try:
            item = json.loads(raw)
        except ValueError:
            item = None
        if isinstance(item, dict):
            try:
                batch, report = map_page(item, collected_at=self.clock())
            except (AttributeError, KeyError, TypeError, ValueError):
                item = None  # valid JSON, but not the shape of a tweet
        if not isinstance(item, dict):
            found = _ID_IN_LINE.search(raw)
            tweet = found.group(1).decode() if found else "?"
            start = raw[:60].decode("utf-8", "replace")
            reason = f"tweet {tweet}: malformed stream line ({len(raw)} bytes): {start}"
            return Page(Batch(), MapReport(skipped=[reason]), fetched=1)
        tags = tuple(r["tag"] for r in item.get("matching_rules") or [] if r.get("tag"))
        return Page(batch, report, fetched=1, brands=tags)


# -- compliance: what X's lookup says about stored tweets (pure decisions, then the checker) -----

def _error_verdict(err: dict[str, Any]) -> Verdict:
    kind = str(err.get("type") or "").rsplit("/", 1)[-1]
    words = f"{err.get('title') or ''} {err.get('detail') or ''}".lower()
    if "withheld" in words:
        return Verdict("remove", "withheld")
    if "suspended" in words:
        return Verdict("remove", "account suspended")
    if kind == "resource-not-found":
        return Verdict("remove", "deleted")
    if kind == "not-authorized-for-resource":
        return Verdict("remove", "protected")
    if kind == "resource-unavailable":
        return Verdict("remove", "unavailable")
    return Verdict("keep", f"unexplained error {err.get('title') or kind or '?'!r}: kept")


def _withheld_verdict(withheld: dict[str, Any] | None, countries: set[str]) -> Verdict:
    if not withheld:
        return KEEP
    codes = {str(c).upper() for c in withheld.get("country_codes") or []}
    if withheld.get("copyright") or codes & {"XX", "XY"}:
        return Verdict("remove", "withheld everywhere")
    here = codes & countries
    if here:
        return Verdict("remove", f"withheld in {', '.join(sorted(here))}")
    return Verdict("keep", "withheld only in other countries: kept")


def x_verdicts(ids: Sequence[str], body: dict[str, Any],
               countries: Iterable[str] = ()) -> dict[str, Verdict]:
    """What to do with each requested tweet, from one GET /2/tweets?ids=... response body.

    Only errors about the requested ids count (not those about expansions in `includes`).
    """
    wanted = {c.upper() for c in countries}
    tweets = {str(t.get("id")): t for t in body.get("data") or [] if isinstance(t, dict)}
    problems: dict[str, dict[str, Any]] = {}
    for err in body.get("errors") or []:
        if err.get("resource_type", "tweet") != "tweet" or err.get("parameter", "ids") != "ids":
            continue
        problems[str(err.get("resource_id") or err.get("value") or "")] = err
    out: dict[str, Verdict] = {}
    for tid in ids:
        if tid in tweets:
            out[tid] = _withheld_verdict(tweets[tid].get("withheld"), wanted)
        elif tid in problems:
            out[tid] = _error_verdict(problems[tid])
        else:
            out[tid] = Verdict("keep", NO_ANSWER)
    return out


class XChecker:
    """One batch lookup per call, through the collector (its token stays masked in logs)."""

    platform = "x"

    def __init__(self, collector: XCollector, countries: Iterable[str] = ()) -> None:
        self.title = collector.title
        self.policy = collector.policy
        self.collector = collector
        self.countries = {c.strip().upper() for c in countries if c.strip()}

    def check(self, posts: Sequence[StoredPost]) -> dict[int, Verdict]:
        ids = [p.native_id for p in posts if _TWEET_ID.fullmatch(p.native_id)]
        answers: dict[str, Verdict] = {}
        if ids:
            body = self.policy.call(lambda: self.collector.lookup(ids),
                                    f"lookup of {len(ids)} tweets")
            answers = x_verdicts(ids, body, self.countries)
        return {p.id: answers.get(p.native_id, Verdict("keep", NOT_AN_ID)) for p in posts}
