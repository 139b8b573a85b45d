"""`undertow compliance`: re-check stored posts with their platform and remove what is gone.

X's developer terms require deleting content that its author deleted or made private, and
honouring withholding; Reddit's require deleting content deleted by its author or removed. A
sweep walks the stored posts of a platform in batches of 100, asks the platform about each batch
(X: the batch lookup GET /2/tweets?ids=...; Reddit: /api/info by fullname), decides per post
(`x_verdicts`, `reddit_verdict`: pure, tested on recorded responses), and commits the batch's
removals together with the sweep cursor. Which platforms are checked is read from the registry:
a collector that subclasses `ChecksCompliance` brings its checker (X's and Reddit's live in
listener/collectors/x.py and reddit.py, with their pure verdict functions). A killed or `--limit`ed run therefore resumes after
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

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from listener.collectors import registry
from listener.collectors.base import Checker, ChecksCompliance, Verdict
from listener.collectors.retry import RetryPolicy, Stopped
from listener.errors import AuthError, ConfigError, SourceError
from listener.post import utcnow
from listener.settings import Settings
from listener.store import Store
from listener.store import compliance as sql

__all__ = ["BATCH", "Report", "check_platform", "platforms", "run"]

BATCH = 100  # what both lookups take per request
Echo = Callable[[str], None]


def n(value: int) -> str:
    return f"{value:,}"


def platforms() -> list[str]:
    """The registered collectors that check compliance, e.g. ['reddit', 'x']."""
    return registry.with_ability(ChecksCompliance)


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
    """Check every platform that can be checked (or one). Without `platform`, a platform with no
    stored posts is skipped and one without credentials is reported as not checked."""
    stop = stop or threading.Event()
    checked = platforms()
    if platform is not None and platform not in checked:
        raise ConfigError(f"No compliance check for {platform!r}; available: "
                          f"{', '.join(checked)}")
    reports: list[Report] = []
    for name in [platform] if platform else checked:
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
        checker = collector.compliance_checker(countries)
        reports.append(check_platform(store, checker, limit=limit, echo=echo, stop=stop))
    return reports
