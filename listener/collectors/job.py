"""The collect and listen jobs: collectors -> store, one page and its cursor per transaction.

This is the only place that commits what collectors fetch. Each page is written together with
the cursor value that is true once it is saved (`Store.write_with_cursor`), so a crash, kill or
Ctrl-C at any point loses nothing already saved and the next run resumes exactly there.
A stop request (Ctrl-C, SIGTERM) is honoured between pages: the page in hand is committed first.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from listener.collectors import registry
from listener.collectors.base import Collector, Page, Streams
from listener.collectors.retry import RetryPolicy, Stopped, Unavailable
from listener.errors import AuthError, ConfigError, UndertowError
from listener.logs import db_unavailable, event
from listener.mapping.report import describe
from listener.post import Batch
from listener.service import ServiceState
from listener.settings import Settings
from listener.store import Brand, Store
from listener.store.db import unavailable
from listener.store.metrics import record_source_pass

__all__ = [
    "SourceResult",
    "Summary",
    "UnitResult",
    "build_collectors",
    "collect",
    "listen",
    "run_pass",
    "stop_on_signals",
]

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


def n(value: int) -> str:
    return f"{value:,}"


@dataclass
class UnitResult:
    label: str
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)
    error: str | None = None
    more: bool = False  # stopped at the source's page cap with more to read


@dataclass
class SourceResult:
    name: str
    title: str
    units: list[UnitResult] = field(default_factory=list)
    error: str | None = None  # the whole source stopped (credentials refused)
    rate_limited: int = 0
    waited: float = 0.0

    @property
    def inserted(self) -> int:
        return sum(u.inserted for u in self.units)

    @property
    def behind(self) -> bool:
        """A unit stopped at its page cap mid-sweep (after a restart, or a burst)."""
        return any(u.more for u in self.units)

    @property
    def fetched(self) -> int:
        return sum(u.fetched for u in self.units)

    @property
    def skipped(self) -> list[str]:
        return [s for u in self.units for s in u.skipped]

    @property
    def failures(self) -> list[str]:
        own = [self.error] if self.error else []
        return own + [f"{u.label}: {u.error}" for u in self.units if u.error]


@dataclass
class Summary:
    sources: list[SourceResult] = field(default_factory=list)
    seconds: float = 0.0
    stopped: bool = False

    @property
    def inserted(self) -> int:
        return sum(s.inserted for s in self.sources)

    @property
    def fetched(self) -> int:
        return sum(s.fetched for s in self.sources)

    @property
    def failures(self) -> list[str]:
        return [f"{s.title}: {f}" for s in self.sources for f in s.failures]

    def lines(self) -> list[str]:
        per = ", ".join(f"{s.title} {n(s.inserted)}" for s in self.sources) or "no sources"
        head = "Stopped" if self.stopped else "Done"
        out = [f"{head}: {n(self.inserted)} new posts ({n(self.fetched)} fetched) in "
               + f"{self.seconds:,.1f} s: {per}"]
        for s in self.sources:
            if s.rate_limited:
                out.append(f"  {s.title}: waited {s.waited:,.0f} s on {n(s.rate_limited)} "
                           "rate-limit resets")
            if s.skipped:
                out.append(f"  {s.title}: {n(len(s.skipped))} items skipped or incomplete "
                           "(malformed, withheld by the API, or not loadable), e.g. "
                           + "; ".join(s.skipped[:3]))
        out += [f"  failed: {f}" for f in self.failures]
        return out


def build_collectors(settings: Settings, platforms: Sequence[str], echo: Echo,
                     stop: threading.Event) -> list[Collector]:
    """The named collectors (all registered ones when none are named), ready to run.

    A source asked for by name must be configured; when none are named, unconfigured sources
    are skipped with a note saying what to set.
    """
    names = list(platforms) or registry.available()
    built: list[Collector] = []
    missing: list[str] = []
    for name in names:
        cls = registry.load(name)
        policy = RetryPolicy(cls.title, cls.classify, notify=echo, stop=stop)
        try:
            built.append(cls.from_settings(settings, policy))
        except ConfigError as exc:
            if platforms:
                raise
            missing.append(f"{cls.title}: {exc}")
    if not built:
        raise ConfigError("No source is configured:\n  " + "\n  ".join(missing))
    for note in missing:
        echo(f"Skipped {note}")
    return built


def _brands(store: Store, names: Sequence[str]) -> list[Brand]:
    return [store.brand(name) for name in names] if names else store.brands()


def run_pass(store: Store, collector: Collector, brands: Sequence[Brand], echo: Echo,
             stop: threading.Event, *, brand_filter: bool = False) -> SourceResult:
    """One pass of one source over its units; credentials refused stop the source.

    A server found down (unreachable, or its login failed) is reported once and its remaining
    units are skipped for this pass; the next pass tries it again.
    """
    result = SourceResult(collector.name, collector.title)
    policy = collector.policy
    policy.down.clear()
    waited, limited = policy.waited, policy.rate_limited
    try:
        units = collector.units(brands, brand_filter=brand_filter)
        if not units:
            echo(f"{collector.title}: nothing to collect: no brands yet "
                 "(undertow brand add NAME --query '...')")
        for unit in units:
            if stop.is_set():
                break
            if unit.service in policy.down:
                continue  # reported when it went down
            ur = UnitResult(unit.label)
            result.units.append(ur)
            echo(f"{collector.title}: {unit.label} ...")
            try:
                for page in collector.fetch(unit, store.get_cursor(collector.name, unit.key)):
                    if page.more:
                        ur.more = True
                        continue
                    _commit(store, collector, unit.key, page, ur)
                    if page.fetched:
                        echo(f"{collector.title}: {unit.label}: {n(ur.fetched)} fetched, "
                             f"{n(ur.inserted)} new so far")
                    if stop.is_set():
                        break
            except AuthError:
                raise
            except UndertowError as exc:
                ur.error = str(exc)
                if isinstance(exc, Unavailable):
                    where = f" on {exc.scope}" if exc.scope else ""
                    ur.error += (f"; skipping {collector.title}{where} for the rest of this run: "
                                 f"check {collector.check_when_down}")
                echo(f"{collector.title}: {unit.label}: failed: {ur.error}")
                continue
            except Exception as exc:  # noqa: BLE001 - the per-source boundary: other units go on
                if unavailable(exc):  # away, not a bug: one line, and the pass stops here
                    ur.error = db_unavailable(
                        f"{collector.title}: {unit.label}", exc,
                        "the rest of this pass is skipped; the next pass resumes from its "
                        "last page", echo=echo, source=collector.name)
                    break
                # A bug or a payload no mapper foresaw: this unit stops here (its cursor stays
                # at the last committed page, so the next pass retries it), the rest is read.
                log.exception("%s %s failed", collector.title, unit.label)
                ur.error = f"unexpected {describe(exc)}; the next pass retries from its last page"
                echo(f"{collector.title}: {unit.label}: failed: {ur.error}")
                continue
            echo(f"{collector.title}: {unit.label}: {n(ur.inserted)} new, {n(ur.updated)} "
                 "already stored")
    except AuthError as exc:
        result.error = str(exc)
        echo(f"{collector.title}: stopped: {exc}")
    except Stopped:
        pass
    result.waited = policy.waited - waited
    result.rate_limited = policy.rate_limited - limited
    return result


def _commit(store: Store, collector: Collector, key: str | None, page: Page,
            ur: UnitResult) -> None:
    if page.cursor is not None and key is not None:
        written = store.write_with_cursor(page.batch, collector.name, key, page.cursor)
    else:
        written = store.write(page.batch)
    ur.fetched += page.fetched
    ur.inserted += written.inserted
    ur.updated += written.updated
    skipped = page.report.skipped + written.skipped
    for item in skipped:
        log.warning("%s %s: skipped %s", collector.title, ur.label, item)
    ur.skipped += skipped


def collect(store: Store, settings: Settings, *, platforms: Sequence[str] = (),
            brand_names: Sequence[str] = (), echo: Echo = print,
            stop: threading.Event | None = None) -> Summary:
    """One pass over every selected source."""
    stop = stop or threading.Event()
    started = time.monotonic()
    brands = _brands(store, brand_names)
    collectors = build_collectors(settings, platforms, echo, stop)
    summary = Summary()
    for collector in collectors:
        if stop.is_set():
            break
        result = run_pass(store, collector, brands, echo, stop, brand_filter=bool(brand_names))
        _record(store, None, result)
        summary.sources.append(result)
    summary.seconds = time.monotonic() - started
    summary.stopped = stop.is_set()
    return summary


def listen(store: Store, settings: Settings, *, platforms: Sequence[str] = (),
           intervals: dict[str, float] | None = None, stream: bool = False,
           echo: Echo = print, stop: threading.Event | None = None,
           after_pass: Callable[[int], None] | None = None, pipeline_every: float = 30.0,
           state: ServiceState | None = None) -> Summary:
    """Collect on a schedule (and, with `stream`, from live streams) until `stop` is set.

    Each pass reads the brands afresh, so a brand added meanwhile is collected from the next
    pass on; stream rules are synced when listening starts. `after_pass(new_posts)` runs the
    downstream stages (scoring, ranking, detection, alert emails) after every poll pass, and
    every `pipeline_every` seconds while streamed posts keep arriving: a live stream must not
    wait for the next poll (15 minutes for X) to be scored and alerted on. `state` receives
    what happens, for the health and metrics endpoint.
    """
    stop = stop or threading.Event()
    started = time.monotonic()
    brands = store.brands()
    collectors = build_collectors(settings, platforms, echo, stop)
    totals = {c.name: SourceResult(c.name, c.title) for c in collectors}
    every = {c.name: float((intervals or {}).get(c.name, c.default_interval)) for c in collectors}
    due = {c.name: started for c in collectors}
    inbox: queue.Queue[tuple[Collector, Page | BaseException]] = queue.Queue()
    streams = []
    for c in collectors if stream else ():
        if not isinstance(c, Streams):
            echo(f"{c.title} has no live stream; it is polled every {every[c.name]:,.0f} s")
            continue
        streams.append(threading.Thread(target=_stream_worker, args=(c, brands, stop, inbox),
                                        name=f"{c.name}-stream", daemon=True))
        streams[-1].start()
    by_name = {c.name: c for c in collectors}
    runs = _PipelineRunner(after_pass, stop, state)
    # Streamed pages are committed by their own thread, as they arrive: neither a poll pass
    # (a Reddit sweep takes seconds) nor the pipeline holds them back.
    writer = threading.Thread(target=_write_streamed, name="stream-writer", daemon=True,
                              args=(store, inbox, totals, echo, stop, state, streams, runs))
    if streams:
        writer.start()

    while not stop.is_set() and (due or any(t.is_alive() for t in streams)):
        if state is not None:
            state.beat()
        name = min(due, key=due.__getitem__) if due else None
        wait = due[name] - time.monotonic() if name else 1.0
        if wait > 0:
            stop.wait(min(wait, pipeline_every, 1.0) if streams else wait)
            # Start to start: a run that took longer than the period (scoring a backlog) is
            # followed at once, not after another idle period while posts pile up.
            if runs.pending and time.monotonic() - runs.last_begin >= pipeline_every:
                runs.start()
            continue
        try:
            brands = store.brands()
        except Exception as exc:  # the database is away (a restart): this pass waits for it
            if not unavailable(exc):
                raise
            retry_s = min(every[name], DB_RETRY_S)
            db_unavailable(f"{by_name[name].title}: reading the brands", exc,
                           f"trying again in {retry_s:.0f} s", retry_in_s=retry_s, echo=echo,
                           source=name)
            due[name] = time.monotonic() + retry_s
            continue
        result = run_pass(store, by_name[name], brands, echo, stop)
        _record(store, state, result)
        _merge(totals[name], result)
        if result.error:
            del due[name]
            continue
        runs.add(result.inserted)
        runs.start(after_poll=True)
        # A sweep cut by the page cap is continued at once (the API's rate-limit headers still
        # pace each request): after a restart the stream's lost tweets are only in search, and
        # at its interval a capped search reads less per minute than a busy brand gets.
        wait_s = min(every[name], CATCH_UP_S) if result.behind else every[name]
        due[name] = time.monotonic() + wait_s
        at = datetime.fromtimestamp(time.time() + wait_s, UTC).strftime("%H:%M:%S UTC")
        more = " (catching up: more to read)" if result.behind else ""
        echo(f"{by_name[name].title}: {n(result.inserted)} new posts this pass{more}; "
             f"next pass at {at}")
    if streams:
        writer.join()
    runs.join()
    _drain(store, inbox, totals, echo, stop, until=None, state=state)
    return Summary(list(totals.values()), time.monotonic() - started, stopped=stop.is_set())


def _write_streamed(store: Store, inbox: queue.Queue, totals: dict[str, SourceResult],
                    echo: Echo, stop: threading.Event, state: ServiceState | None,
                    streams: list[threading.Thread], runs: _PipelineRunner) -> None:
    """The stream writer: commit streamed pages until a stop (or every stream has ended)."""
    while not stop.is_set() and (any(t.is_alive() for t in streams) or not inbox.empty()):
        runs.add(_drain(store, inbox, totals, echo, stop, until=time.monotonic() + 0.5,
                        state=state))


class _PipelineRunner:
    """Runs `after_pass` (score, rank, detect, alerts) in its own thread, one run at a time.

    Collection goes on meanwhile: streamed pages are committed as they arrive instead of
    waiting in memory for a long scoring run to end, so they are stored within a second, a
    kill -9 loses none of them, and a pipeline that falls behind shows as a growing unscored
    backlog in the store (the metrics' `undertow_posts_unscored`), never as a hidden queue.
    A poll pass asks for a run even without new posts (alert emails are retried then); one
    that ends while a run is going asks for another right after it.
    """

    def __init__(self, after_pass: Callable[[int], None] | None, stop: threading.Event,
                 state: ServiceState | None) -> None:
        self.after_pass, self.stop, self.state = after_pass, stop, state
        self.pending = 0  # new posts no run has seen yet
        self.last_begin = self.last_end = time.monotonic()
        self._again = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def add(self, new_posts: int) -> None:
        with self._lock:
            self.pending += new_posts

    def start(self, after_poll: bool = False) -> None:
        if self.after_pass is None or self.stop.is_set():  # stopping: the next start catches up
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = self._again or after_poll
                return
            self._thread = threading.Thread(target=self._loop, name="pipeline", daemon=True)
            self._thread.start()

    def join(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        while not self.stop.is_set():
            with self._lock:
                new, self.pending, self._again = self.pending, 0, False
            self._run(new)
            with self._lock:
                if not self._again:
                    return

    def _run(self, new: int) -> None:
        began = self.last_begin = time.monotonic()
        ok = True
        try:
            self.after_pass(new)
        except Exception:  # noqa: BLE001 - the stages report their own failures; keep listening
            ok = False
            log.exception("the pipeline after collection failed; the next run retries it")
        finally:
            ended = time.monotonic()
            event("pipeline_run", new_posts=new, ok=ok, seconds=round(ended - began, 3))
            self.last_end = ended
            if self.state is not None:
                self.state.pipeline_run(ended - began, ok)


def _record(store: Store, state: ServiceState | None, result: SourceResult) -> None:
    """A pass's outcome for `undertow status` (in the store) and the metrics (in `state`)."""
    ok = result.error is None and not any(u.error for u in result.units)
    failure = result.error or next((u.error for u in result.units if u.error), None)
    try:
        record_source_pass(store, result.name, ok=ok, new_posts=result.inserted, error=failure)
    except Exception as exc:  # noqa: BLE001 - bookkeeping must not stop collection
        if unavailable(exc):
            db_unavailable(f"{result.title}: recording the pass for `undertow status`", exc,
                           "the next pass records its own", source=result.name)
        else:
            log.warning("could not record the %s pass: %s", result.title, exc)
    if state is not None:
        state.source_pass(result.name, ok=ok, new_posts=result.inserted, behind=result.behind)
    event("source_pass", source=result.name, ok=ok, new_posts=result.inserted,
          fetched=result.fetched, rate_limited=result.rate_limited, behind=result.behind,
          error=failure)


def _merge(total: SourceResult, result: SourceResult) -> None:
    total.units += result.units
    total.error = result.error or total.error
    total.rate_limited += result.rate_limited
    total.waited += result.waited


def _stream_worker(collector: Collector, brands: Sequence[Brand], stop: threading.Event,
                   inbox: queue.Queue) -> None:
    try:
        collector.stream(brands, stop, lambda page: inbox.put((collector, page)))
    except Stopped:
        pass
    except Exception as exc:  # noqa: BLE001 - the main loop owns the output and reports it
        inbox.put((collector, exc))


def _drain(store: Store, inbox: queue.Queue, totals: dict[str, SourceResult], echo: Echo,
           stop: threading.Event, until: float | None,
           state: ServiceState | None = None) -> int:
    """Commit streamed pages until `until` (None: only what is already queued) or a stop;
    returns how many new posts they stored."""
    stored = 0
    while True:
        timeout = None if until is None else until - time.monotonic()
        if until is not None and (timeout <= 0 or stop.is_set()):
            return stored
        try:
            if until is None:
                collector, item = inbox.get_nowait()
            else:
                collector, item = inbox.get(timeout=min(timeout, 0.5))
        except queue.Empty:
            if until is None:
                return stored
            continue
        for source, page in _coalesce((collector, item), inbox):
            stored += _commit_retrying(store, source, page, totals, echo, stop, state)


DB_RETRY_S = 5.0  # a pass that found the database away is tried again this soon
CATCH_UP_S = 1.0  # a pass that stopped at its page cap is continued this soon
STREAM_BATCH = 500  # streamed pages committed in one transaction when they queue up


def _coalesce(first: tuple[Collector, Page | BaseException],
              inbox: queue.Queue) -> list[tuple[Collector, Page | BaseException]]:
    """`first` and whatever else is already queued (up to STREAM_BATCH), consecutive pages of
    one source merged into one: at 100 posts/s one commit per tweet is what falls behind."""
    items = [first]
    while len(items) < STREAM_BATCH:
        try:
            items.append(inbox.get_nowait())
        except queue.Empty:
            break
    out: list[tuple[Collector, Page | BaseException]] = []
    for collector, item in items:
        if not isinstance(item, Page):
            out.append((collector, item))
            continue
        if not out or out[-1][0] is not collector or not isinstance(out[-1][1], Page):
            out.append((collector, Page(Batch())))
        merged = out[-1][1]
        merged.batch.extend(item.batch)
        merged.report.merge(item.report)
        merged.fetched += item.fetched
        merged.brands = tuple(dict.fromkeys(merged.brands + item.brands))
    return out


def _commit_retrying(store: Store, collector: Collector, item: Page | BaseException,
                     totals: dict[str, SourceResult], echo: Echo, stop: threading.Event,
                     state: ServiceState | None) -> int:
    """Commit a streamed page, retrying while the database is away (a restart, a failover):
    the page exists only in memory, so it is not given up until a stop."""
    delay = 1.0
    while True:
        try:
            return _commit_streamed(store, collector, item, totals, echo, state)
        except Exception as exc:
            if stop.is_set():
                raise
            posts = getattr(item, "fetched", 0)
            if unavailable(exc):
                db_unavailable(f"{collector.title} stream: could not store {posts} posts", exc,
                               f"holding them, retrying in {delay:.0f} s", retry_in_s=delay,
                               echo=echo, source=collector.name, posts=posts)
            else:
                echo(f"{collector.title} stream: could not store {posts} posts "
                     f"({type(exc).__name__}); retrying in {delay:.0f} s")
            stop.wait(delay)
            delay = min(delay * 2, 30.0)


def _commit_streamed(store: Store, collector: Collector, item: Page | BaseException,
                     totals: dict[str, SourceResult], echo: Echo,
                     state: ServiceState | None) -> int:
    """Commit one streamed page (or report the stream's failure); returns its new posts."""
    total = totals[collector.name]
    if isinstance(item, BaseException):
        total.units.append(UnitResult("stream", error=str(item)))
        if isinstance(item, AuthError):
            total.error = str(item)
        echo(f"{collector.title} stream stopped: {item}")
        return 0
    unit = next((u for u in total.units if u.label == "stream" and not u.error), None)
    if unit is None:
        unit = UnitResult("stream")
        total.units.append(unit)
    before = unit.inserted
    _commit(store, collector, None, item, unit)
    added = unit.inserted - before
    if state is not None:
        state.streamed(collector.name, added)
    if added:
        tags = f" ({', '.join(item.brands)})" if item.brands else ""
        echo(f"{collector.title} stream: {n(added)} new post{'s' if added > 1 else ''}{tags}; "
             f"{n(unit.inserted)} so far")
    return added


@contextmanager
def stop_on_signals(stop: threading.Event, echo: Echo) -> Iterator[None]:
    """First Ctrl-C or SIGTERM: finish the page in hand, commit, stop. A second Ctrl-C: abort."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        echo(f"Stopping after the current page is saved ({signal.Signals(signum).name}); "
             "press Ctrl-C again to abort")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
