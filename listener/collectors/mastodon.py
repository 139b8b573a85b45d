"""Mastodon through Mastodon.py: hashtag timelines and status search on configured instances.

Each instance is asked separately (federation means each sees a different slice). A brand's
one-word terms become hashtag timelines (public on most instances, no token needed); with an
access token for the instance, each term is also a full-text status search (Mastodon 4.2+
searches only posts whose authors opted in). Hits are matched against the brand queries locally.

Both listings run newest first with no "after time T" start, so a unit's cursor keeps, like
X's, `since_id` (every status up to it is saved) and, while a sweep is unfinished (a kill, or
the page cap), where the sweep stands and `newest` (the since_id of the next sweep). A hashtag
timeline pages down by max_id, so it keeps `max_id`, the oldest status saved so far. Status
search promises no order, so it pages by offset within a window fixed for the sweep: after its
first page the window is `since_id < id < newest` (statuses newer than that are the next
sweep's), so a later page's offset still counts what was read even when new statuses were
posted meanwhile, and the cursor keeps `offset`. Each page carries the cursor that holds once it
is saved, so a killed sweep neither loses statuses nor refetches more than a page; a sweep that
ends moves the cursor to `{"since_id": newest}`. Old cursors (`since_id` alone) still load.

For the hits of a page the collector also fetches each reply's parent (so the reply points at a
stored post) and who boosted each boosted hit (reblogged_by), before the page is committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from listener.collectors.base import Collector, Page, SweepState, Unit
from listener.collectors.bluesky import search_terms
from listener.collectors.retry import Fault, RetryPolicy, Unavailable, connection_fault
from listener.errors import AuthError, ConfigError, SourceError
from listener.mapping.mastodon import map_statuses, status_text
from listener.mapping.report import MapReport
from listener.post import Batch, utcnow
from listener.query import Query
from listener.settings import Setting, Settings
from listener.store import Brand

__all__ = ["MastodonCollector", "SweepCursor", "instance_url", "parse_tokens"]

log = logging.getLogger(__name__)

ENV_INSTANCES = "UNDERTOW_MASTODON_INSTANCES"
ENV_TOKEN = "UNDERTOW_MASTODON_ACCESS_TOKEN"
USER_AGENT = "undertow/0.1 (social listening)"
_PAGE = 40  # the most statuses Mastodon returns per request
ASSUMED_VERSION = "4.2.0"  # full-text status search (opt-in) arrived in 4.2


def instance_url(text: str) -> str:
    """'mastodon.social' -> 'https://mastodon.social'; an explicit scheme is kept."""
    text = text.strip().rstrip("/")
    return text if "://" in text else f"https://{text}"


def parse_tokens(value: str, hosts: Sequence[str]) -> dict[str, str]:
    """Access tokens by host: 'TOKEN' (every instance) or 'host=TOKEN, host2=TOKEN2'.

    A token belongs to one account on one instance, so several instances need one each.
    """
    value = value.strip()
    if not value:
        return {}
    if "=" not in value:
        return dict.fromkeys(hosts, value)
    tokens = {}
    for part in value.split(","):
        host, _, token = part.partition("=")
        if host.strip() and token.strip():
            tokens[urlparse(instance_url(host)).netloc] = token.strip()
    return tokens


def _id_order(status_id: str) -> tuple[int, str]:
    """Ids grow with time: numeric on Mastodon, fixed-width strings on other servers."""
    return len(status_id), status_id


@dataclass(frozen=True)
class SweepCursor(SweepState):
    """A unit's cursor: `since_id`, and while a sweep is unfinished `newest` with `max_id`
    (hashtag timelines) or `offset` (status search) of what is read so far."""

    since_id: str | None = None
    newest: str | None = None
    max_id: str | None = None
    offset: int = 0


class MastodonCollector(Collector):
    name = "mastodon"
    title = "Mastodon"
    config = (
        Setting("mastodon_instances", "comma-separated instances to read (addresses: a replay "
                                      "or self-hosted instance is one like any other)",
                required=True),
        Setting("mastodon_access_token", "one token, or `host=TOKEN, host2=TOKEN2` (full-text "
                                         "search needs one)", secret=True),
    )
    check_when_down = f"{ENV_INSTANCES} and the network connection"
    # Mastodon allows 300 requests per 5 minutes per account or IP, per instance.
    default_interval = 600.0

    def __init__(self, apis: Mapping[str, Mastodon], policy: RetryPolicy, *,
                 searchable: Sequence[str] = (), max_pages: int = 10, limit: int = _PAGE,
                 max_parents: int = 50, max_boosts: int = 50,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.apis = dict(apis)  # host -> client
        self.searchable = set(searchable)  # hosts with a token: full-text search allowed
        self.policy = policy
        self.max_pages = max_pages
        self.limit = limit
        self.max_parents = max_parents  # parent lookups per unit per pass
        self.max_boosts = max_boosts  # reblogged_by lookups per unit per pass
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, policy: RetryPolicy) -> MastodonCollector:
        urls = [instance_url(i) for i in settings.mastodon_instances.split(",") if i.strip()]
        if not urls:
            raise ConfigError(f"Mastodon needs the instances to listen on: set {ENV_INSTANCES} "
                              "(e.g. mastodon.social, fosstodon.org); add "
                              f"{ENV_TOKEN} for full-text search")
        hosts = [urlparse(u).netloc for u in urls]
        tokens = parse_tokens(settings.mastodon_access_token.get(), hosts)
        apis = {host: Mastodon(api_base_url=url, access_token=tokens.get(host),
                               ratelimit_method="throw", request_timeout=30,
                               user_agent=USER_AGENT, version_check_mode="created",
                               # Stated, not probed: probing costs a request per instance and,
                               # when /api/v1/instance fails, Mastodon.py recurses without end.
                               mastodon_version=ASSUMED_VERSION)
                for host, url in zip(hosts, urls, strict=True)}
        return cls(apis, policy, searchable=list(tokens))

    @staticmethod
    def classify(exc: BaseException) -> Fault | None:
        if isinstance(exc, MastodonRatelimitError):
            return Fault("rate_limit", "429 Too Many Requests", getattr(exc, "reset_at", None))
        if isinstance(exc, MastodonServerError):
            return Fault("transient", " ".join(str(a) for a in exc.args[1:3]) or str(exc))
        if isinstance(exc, MastodonNetworkError):
            return Fault(connection_fault(exc).kind, str(exc))
        if isinstance(exc, MastodonUnauthorizedError):
            return Fault("auth", f"Mastodon refused the request (401 {_detail(exc)}): set "
                                 f"{ENV_TOKEN} to an access token of an account on that "
                                 "instance (Preferences > Development > New application, "
                                 "scope read)")
        if isinstance(exc, MastodonNotFoundError):
            return Fault("fatal", f"404 Not Found ({_detail(exc)})")
        if isinstance(exc, MastodonAPIError):
            if len(exc.args) > 1 and isinstance(exc.args[1], int):
                return Fault("fatal", f"{exc.args[1]} {_detail(exc)}")
            return Fault("transient", "truncated or invalid JSON response")
        return None

    def units(self, brands: Sequence[Brand], *, brand_filter: bool = False) -> list[Unit]:
        units: dict[str, Unit] = {}
        for host in self.apis:
            for b in brands:
                for term in search_terms(Query(b.query)):
                    tag = term.lstrip("#").lower()
                    wanted = []
                    if not term.startswith(("@", '"')) and tag.isalnum():
                        wanted.append((f"tag:{host}:{tag}", f"#{tag} on {host}",
                                       {"kind": "tag", "tag": tag}))
                    if host in self.searchable:
                        wanted.append((f"search:{host}:{term}", f"search {term} on {host}",
                                       {"kind": "search", "q": term}))
                    for key, label, params in wanted:
                        if key not in units:
                            units[key] = Unit(key, f"{b.name}: {label}", b.name,
                                              {**params, "host": host, "queries": []}, host)
                        units[key].params["queries"].append(b.query)
        return list(units.values())

    def fetch(self, unit: Unit, cursor: str | None) -> Iterator[Page]:
        state = SweepCursor.load(cursor)
        host = unit.params["host"]
        queries = [Query(q) for q in unit.params["queries"]]
        budget = {"parents": self.max_parents, "boosts": self.max_boosts}
        previous: list[str] = []
        for _ in range(self.max_pages):
            statuses = self._call(host, lambda s=state: self._listing(unit, s), unit.label)
            ids = [str(s["id"]) for s in statuses if s.get("id") is not None]
            newest = max([state.newest or state.since_id or "", *ids], key=_id_order) or None
            last = len(statuses) < self.limit or not ids
            if ids and ids == previous:  # else every pass would be "behind" and poll at once
                log.warning("Mastodon %s: the same page twice (the server ignores max_id or "
                            "offset): ending the sweep here", unit.label)
                statuses, last = [], True
            previous = ids
            if last:
                after = SweepCursor(since_id=newest)
            elif unit.params["kind"] == "tag":
                after = replace(state, newest=newest, max_id=min(ids, key=_id_order))
            else:  # the next page is in the window `since_id < id < newest`: skip what it read
                above = sum(1 for i in ids if _id_order(i) >= _id_order(newest or ""))
                after = replace(state, newest=newest, offset=state.offset + len(statuses) - above)
            if statuses or after != state:
                hits = [s for s in statuses if any(q.matches(status_text(s)) for q in queries)]
                batch, report = self._expand(host, statuses, hits, budget)
                yield Page(batch, report, after.dump(), fetched=len(statuses))
            if last:
                return
            state = after
        log.info("Mastodon %s: page cap (%d) reached; the next pass continues the sweep",
                 unit.label, self.max_pages)
        yield Page(Batch(), more=True)

    def _listing(self, unit: Unit, state: SweepCursor) -> list[Any]:
        api, p = self.apis[unit.params["host"]], unit.params
        if p["kind"] == "tag":
            return list(api.timeline_hashtag(p["tag"], since_id=state.since_id,
                                             max_id=state.max_id, limit=self.limit))
        found = api.search_v2(p["q"], resolve=False, result_type="statuses",
                              min_id=state.since_id, max_id=state.newest,
                              offset=state.offset or None, limit=self.limit,
                              exclude_unreviewed=False)
        return list(found.get("statuses") or [])

    def _call(self, host: str, fn: Callable[[], Any], what: str) -> Any:
        """policy.call, with the rate-limit reset Mastodon.py read from the headers attached to
        its exception (classify sees only the exception)."""
        api = self.apis[host]

        def attempt() -> Any:
            try:
                return fn()
            except MastodonRatelimitError as exc:
                exc.reset_at = api.ratelimit_reset
                raise

        return self.policy.call(attempt, what, host)

    def _expand(self, host: str, page: list[Any], hits: list[Any],
                budget: dict[str, int]) -> tuple[Batch, MapReport]:
        """The hits, their parents and who boosted them, mapped together."""
        report = MapReport()
        have = {str(s.get("id")) for s in page}
        parents: list[Any] = []
        boosts: dict[str, list[Any]] = {}
        for status in hits:
            parent_id = status.get("in_reply_to_id")
            if parent_id is not None and str(parent_id) not in have and budget["parents"] > 0:
                budget["parents"] -= 1
                have.add(str(parent_id))
                found = self._optional(host, lambda i=parent_id: self.apis[host].status(i),
                                       f"parent {parent_id} of status {status['id']}", report)
                if found is not None:
                    parents.append(found)
            if (status.get("reblogs_count") or 0) > 0 and budget["boosts"] > 0:
                budget["boosts"] -= 1
                found = self._optional(
                    host, lambda i=status["id"]: self.apis[host].status_reblogged_by(i),
                    f"boosts of status {status['id']}", report)
                boosts[str(status["id"])] = list(found or [])
        batch, mapped = map_statuses([*hits, *parents], host, self.clock(), boosts)
        mapped.merge(report)
        return batch, mapped

    def _optional(self, host: str, fn: Callable[[], Any], what: str,
                  report: MapReport) -> Any | None:
        """A lookup whose failure (a deleted or private status) costs only what it adds."""
        try:
            return self._call(host, fn, what)
        except (AuthError, Unavailable):
            raise
        except SourceError as exc:
            report.skipped.append(f"{what}: not fetched: {exc}")
            return None


def _detail(exc: BaseException) -> str:
    """Mastodon.py raises (message, status, reason, error); the server's error says most."""
    args = [a for a in exc.args if a]
    return str(args[-1]) if args else type(exc).__name__
