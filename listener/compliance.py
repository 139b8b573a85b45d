"""`undertow compliance`: re-check stored posts with their platform and remove what is gone.

X's developer terms require deleting content that its author deleted or made private, and
honouring withholding; Reddit's require deleting content deleted by its author or removed. A
sweep walks the stored posts of a platform in batches of 100, asks the platform about each batch
(X: the batch lookup GET /2/tweets?ids=...; Reddit: /api/info by fullname), decides per post
(`x_verdicts`, `reddit_verdict`: pure, tested on recorded responses), and commits the batch's
removals together with the sweep cursor. A killed or `--limit`ed run therefore resumes after
the last batch it committed, and once a sweep reaches the end the next run starts over.

What is decided, and why:
- X: a tweet in the response's `errors` as not found (deleted, or its account deactivated),
  not authorised (protected), suspended or unavailable is removed. A returned tweet that is
  withheld everywhere (copyright, or country code XX/XY) or in one of the countries the data is
  shown in (`--country`) is removed; withheld only elsewhere, it is kept.
- Reddit: a submission or comment whose body reads [deleted] or [removed], or that Reddit marks
  `removed_by_category`, is removed. When only the author reads [deleted] (the account was
  deleted; the text stays public on Reddit), the post stays under the anonymous "[deleted]"
  author, as the collectors store such posts, its raw payload becomes Reddit's current one, and
  the interactions that named the former author go.
- Neither answered nor reported as gone (an answer can be incomplete; a private subreddit's
  posts are not returned): kept, counted, and asked about again in the next sweep. Removing on
  an ambiguous answer could destroy data for nothing.
- Ids that are not the platform's (simulated demo posts, some file imports) are never sent.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from listener.collectors import registry
from listener.collectors.retry import RetryPolicy, Stopped
from listener.errors import AuthError, ConfigError, SourceError
from listener.mapping.praw_objects import thing_data
from listener.post import stable_id, utcnow
from listener.settings import Settings
from listener.store import Store
from listener.store import compliance as sql

__all__ = ["BATCH", "PLATFORMS", "Report", "RedditChecker", "Verdict", "XChecker",
           "check_platform", "reddit_verdict", "run", "x_verdicts"]

BATCH = 100  # what both lookups take per request
PLATFORMS = ("x", "reddit")
Echo = Callable[[str], None]

NO_ANSWER = "not answered (asked again next sweep)"
NOT_AN_ID = "not a platform id (simulated or imported): not checked"
_TWEET_ID = re.compile(r"\d{1,19}")
_GONE = ("[deleted]", "[removed]")


def n(value: int) -> str:
    return f"{value:,}"


@dataclass(frozen=True)
class Verdict:
    action: Literal["keep", "remove", "unlink"]
    # Why: the report groups by it; empty for a plain "still there".
    reason: str = ""
    # For "unlink": the payload the platform returns now, stored in place of the old one.
    fresh: dict[str, Any] | None = None


KEEP = Verdict("keep")


# -- decisions (pure) -------------------------------------------------------------------------

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


# -- checkers: one API call per batch, through the source's RetryPolicy --------------------------

class Checker(Protocol):
    platform: str
    title: str
    policy: RetryPolicy

    def check(self, posts: Sequence[sql.StoredPost]) -> dict[int, Verdict]: ...


class XChecker:
    platform = "x"

    def __init__(self, collector: Any, countries: Iterable[str] = ()) -> None:
        self.title = collector.title
        self.policy = collector.policy
        self.client = collector.client  # the collector's tweepy Client (token masked in logs)
        self.countries = {c.strip().upper() for c in countries if c.strip()}
        self._reset_at: float | None = None

    def check(self, posts: Sequence[sql.StoredPost]) -> dict[int, Verdict]:
        ids = [p.native_id for p in posts if _TWEET_ID.fullmatch(p.native_id)]
        answers: dict[str, Verdict] = {}
        if ids:
            body = self.policy.call(lambda: self._lookup(ids), f"lookup of {len(ids)} tweets")
            answers = x_verdicts(ids, body, self.countries)
        return {p.id: answers.get(p.native_id, Verdict("keep", NOT_AN_ID)) for p in posts}

    def _lookup(self, ids: list[str]) -> dict[str, Any]:
        if self._reset_at is not None:  # the last answer said no requests are left
            reset_at, self._reset_at = self._reset_at, None
            self.policy.wait_until(reset_at, "tweet lookup")
        # Only `withheld` is asked for: the answer needs no more, and paid tiers count reads.
        response = self.client.get_tweets(ids=ids, tweet_fields=["withheld"])
        if response.headers.get("x-rate-limit-remaining") == "0":
            self._reset_at = float(response.headers.get("x-rate-limit-reset") or 0) or None
        return response.json()


class RedditChecker:
    platform = "reddit"

    def __init__(self, collector: Any, countries: Iterable[str] = ()) -> None:
        self.title = collector.title
        self.policy = collector.policy
        self.reddit = collector.reddit
        self.anonymous = stable_id("reddit", sql.DELETED_AUTHOR)

    def check(self, posts: Sequence[sql.StoredPost]) -> dict[int, Verdict]:
        names = [p.native_id for p in posts if p.native_id[:3] in ("t1_", "t3_")]
        found: dict[str, Verdict] = {}
        if names:
            # One request per call: praw sends up to 100 fullnames in one /api/info request.
            things = self.policy.call(lambda: list(self.reddit.info(fullnames=names)),
                                      f"lookup of {len(names)} posts")
            for thing in things:
                kind, data = thing_data(thing)
                found[str(data.get("name"))] = reddit_verdict(kind, data)
        out: dict[int, Verdict] = {}
        for p in posts:
            verdict = found.get(p.native_id) or Verdict(
                "keep", NO_ANSWER if p.native_id in names else NOT_AN_ID)
            if verdict.action == "unlink" and p.author_id == self.anonymous:
                verdict = KEEP  # stored without its author already
            out[p.id] = verdict
        return out


CHECKERS: dict[str, type[XChecker] | type[RedditChecker]] = {"x": XChecker,
                                                             "reddit": RedditChecker}


# -- the job ---------------------------------------------------------------------------------------

@dataclass
class Report:
    platform: str
    title: str
    checked: int = 0
    removed: Counter = field(default_factory=Counter)  # reason -> posts
    unlinked: int = 0
    kept: Counter = field(default_factory=Counter)  # notable reason -> posts kept
    rows: Counter = field(default_factory=Counter)  # table -> rows deleted or changed
    remaining: int = 0  # posts still to check in this sweep
    sweep_complete: bool = False
    seconds: float = 0.0
    waited: float = 0.0
    rate_limited: int = 0
    error: str | None = None

    def lines(self) -> list[str]:
        if self.error and not self.checked:
            return [f"{self.title}: not checked: {self.error}"]
        removed = sum(self.removed.values())
        why = ", ".join(f"{r} {n(c)}" for r, c in self.removed.most_common())
        head = (f"{self.title}: checked {n(self.checked)} stored posts in {self.seconds:,.1f} s; "
                f"removed {n(removed)}" + (f" ({why})" if why else ""))
        if self.unlinked:
            head += f"; {n(self.unlinked)} kept without their author (account deleted)"
        out = [head]
        out += [f"  {n(c)} {r}" for r, c in self.kept.most_common()]
        if self.rows:
            out.append("  rows removed or changed: " + ", ".join(
                f"{n(c)} {t}" for t, c in sorted(self.rows.items()) if c))
        if self.rate_limited:
            out.append(f"  waited {self.waited:,.0f} s on {n(self.rate_limited)} rate-limit resets")
        if self.error:
            out.append(f"  stopped: {self.error}")
        elif self.sweep_complete:
            out.append("  sweep complete: the next run starts a new one")
        else:
            out.append(f"  {n(self.remaining)} posts left in this sweep: the next run continues")
        return out


def check_platform(store: Store, checker: Checker, *, limit: int | None = None,
                   batch: int = BATCH, echo: Echo = print,
                   stop: threading.Event | None = None) -> Report:
    """Continue this platform's sweep: at most `limit` posts (None: to the end of the sweep)."""
    stop = stop or threading.Event()
    platform = checker.platform
    report = Report(platform, checker.title)
    started = time.monotonic()
    waited, limited = checker.policy.waited, checker.policy.rate_limited
    state = sql.get_state(store, platform)
    after = state.get("after")
    total = sql.count_posts(store, platform)
    left = sql.count_posts(store, platform, after) if after is not None else total
    echo(f"{checker.title}: checking {n(left)} of {n(total)} stored posts"
         + (" (continuing the sweep)" if after is not None else ""))
    batches = 0
    try:
        while not stop.is_set():
            size = batch if limit is None else min(batch, limit - report.checked)
            if size <= 0:
                break
            posts = sql.next_posts(store, platform, after, size)
            if not posts:
                if after is not None and report.checked == 0:
                    after, state = None, {}  # the last sweep ended exactly at its end
                    continue
                sql.save_state(store, platform, {"last_sweep_completed": utcnow().isoformat()})
                report.sweep_complete = True
                break
            verdicts = checker.check(posts)
            after = posts[-1].id
            state = {"after": after,
                     "sweep_started": state.get("sweep_started") or utcnow().isoformat()}
            remove = [p for p in posts if verdicts[p.id].action == "remove"]
            unlink = {p.id: verdicts[p.id].fresh for p in posts
                      if verdicts[p.id].action == "unlink"}
            report.rows.update(sql.apply_batch(store, platform, remove=remove, unlink=unlink,
                                               state=state))
            _tally(report, posts, verdicts)
            batches += 1
            if remove or unlink or batches % 10 == 0:
                echo(f"{checker.title}: checked {n(report.checked)}, removed "
                     f"{n(sum(report.removed.values()))} so far")
    except (AuthError, SourceError) as exc:
        report.error = str(exc)
    except Stopped:
        pass
    if not report.sweep_complete and not report.error:
        report.remaining = sql.count_posts(store, platform, after)
        if report.remaining == 0 and not stop.is_set():
            sql.save_state(store, platform, {"last_sweep_completed": utcnow().isoformat()})
            report.sweep_complete = True
    report.seconds = time.monotonic() - started
    report.waited = checker.policy.waited - waited
    report.rate_limited = checker.policy.rate_limited - limited
    return report


def _tally(report: Report, posts: Sequence[sql.StoredPost], verdicts: dict[int, Verdict]) -> None:
    report.checked += len(posts)
    for p in posts:
        v = verdicts[p.id]
        if v.action == "remove":
            report.removed[v.reason] += 1
        elif v.action == "unlink":
            report.unlinked += 1
        elif v.reason:
            report.kept[v.reason] += 1


def run(store: Store, settings: Settings, *, platform: str | None = None,
        limit: int | None = None, countries: Iterable[str] = (), echo: Echo = print,
        stop: threading.Event | None = None) -> list[Report]:
    """Check X and Reddit (or one of them). Without `platform`, a platform with no stored posts
    is skipped and one without credentials is reported as not checked."""
    stop = stop or threading.Event()
    if platform is not None and platform not in CHECKERS:
        raise ConfigError(f"No compliance check for {platform!r}; available: "
                          f"{', '.join(PLATFORMS)}")
    reports: list[Report] = []
    for name in [platform] if platform else PLATFORMS:
        if stop.is_set():
            break
        stored = sql.count_posts(store, name)
        if platform is None and stored == 0:
            continue
        cls = registry.load(name)
        policy = RetryPolicy(cls.title, cls.classify, notify=echo, stop=stop)
        try:
            collector = cls.from_settings(settings, policy)
        except ConfigError as exc:
            if platform is not None:
                raise
            reports.append(Report(name, cls.title, remaining=stored,
                                  error=f"{exc} ({n(stored)} stored posts)"))
            continue
        checker = CHECKERS[name](collector, countries)
        reports.append(check_platform(store, checker, limit=limit, echo=echo, stop=stop))
    return reports
