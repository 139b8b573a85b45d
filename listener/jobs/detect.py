"""`undertow detect`: feed new brand mentions to the early-warning detector, keep alerts current.

Incremental: the detector's state, the stream time it reached and the newest score it had seen
are kept in the store's meta table. Each run reads the mentions posted after that stream time,
and first the *late* ones: posted before it but scored since the last run (a backfill, an
archive import, a search that indexes late, a post scored late). Those are fed to the detector
in their own time order and judged in event time (graph.detector); a mention older than the
detector's horizon (`max_age_h`, 48 h) counts in the volume history only. Each story the detector
opens or updates becomes one alert row, whose lifecycle (acknowledged, resolved, cooldown) lives
in `listener.store.alerts`.

Speed (`bench/detect_speed.py` times a 1M-post replay): a big run reads and maps posts in a
child process while this one detects; complaint themes are matched on negative posts only; a
page's alerts are written in one transaction; the state is saved every `CHECKPOINT_S` and at
the end rather than after every page.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import multiprocessing
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from graph.detector import SignalPost
from listener import story_numbers
from listener.alerts.evidence import MAX_ROOTS, MAX_THEMES, Evidence, Theme
from listener.jobs.coordination import flagged_clusters, story_coordination
from listener.post import stable_id
from listener.store import Store
from listener.store import detect_reads as reads
from listener.store.alerts import StoryUpdate, alerts_in_play, retitle, upsert_stories
from listener.store.detect_reads import Engine
from listener.store.locks import job_lock
from listener.store.sql import as_utc

log = logging.getLogger(__name__)
STATE_KEY, CURSOR_KEY, SCORED_KEY = "detect_state", "detect_cursor", "detect_scored_through"
PAGE = 20000
CHECKPOINT_S = 30.0  # save the detector's state at least this often (wall clock) during a run
CHILD_MIN = 100_000  # posts to read before a child process reads them (it takes ~0.5 s to start)
GC_THRESHOLDS = (50_000, 20, 100)  # the cycle collector's, during a run of CHILD_MIN posts or more
TOP_INFLUENCERS = 25  # authors ranked this high count as influencers
# A top influencer's negative post opens a story once it has drawn this many reactions: fewer
# turned every complaint of a prolific account into an alert (the demo week had 150 of them).
MIN_INFLUENCER_EVENTS = 20


@dataclass
class DetectReport:
    posts: int = 0
    opened: int = 0
    updated: int = 0
    watching: int = 0  # stories below the reporting level, recorded as watch items
    resolved: int = 0  # alerts whose story stopped growing, resolved by the detector
    late: int = 0  # mentions posted before the last run's stream time, scored since
    seconds: float = 0.0
    waiting_from: str | None = None  # the first mention still waiting for its score


@lru_cache(maxsize=1 << 16)
def _themes(text: str) -> tuple[str, ...]:
    """Themes of a text, cached: reposts carry their root's text, and a viral one recurs a lot."""
    from nlp.themes import themes

    return themes(text)


# The reader process maps rows to plain tuples in SignalPost's field order and the parent
# rebuilds them with SignalPost._make: building and pickling a NamedTuple per mention in the
# reader cost 2.5x the mapping itself (bench/detector_records.py). The two orders are checked
# here, so a field added to either type fails at import, not silently.
_SIGNAL_ORDER = ("id", "brand", "at", "negative", "author", "followers", "parent", "root",
                 "themes")
_ROW_ORDER = ("post_id", "brand", "at", "label", "author_id", "followers", "platform",
              "parent_native_id", "text", "gold_reason", "theme", "created_at")
if SignalPost._fields != _SIGNAL_ORDER or reads.MentionRow._fields != _ROW_ORDER:
    raise ImportError("SignalPost or MentionRow changed: update listener/jobs/detect.py")
_LABEL, _CREATED_AT = _ROW_ORDER.index("label"), _ROW_ORDER.index("created_at")


_BRAND_NAMES: dict[str, str] = {}


def _signal(row: tuple) -> tuple:
    """A MentionRow as SignalPost's fields (`_SIGNAL_ORDER`)."""
    (post_id, brand, at, label, author_id, followers, platform, parent_native_id, text,
     gold_reason, theme, _created_at) = row  # _ROW_ORDER
    # One string per brand name, not one per row: a page pickles it once, and the detector's
    # dict lookups by brand compare it by identity.
    brand = _BRAND_NAMES.get(brand) or _BRAND_NAMES.setdefault(brand, brand)
    negative = label == "negative"
    # The theme `undertow themes` found first (it works for any brand); a human-annotated
    # reason where the job has not run; the keyword taxonomy only where neither exists.
    # Themes only matter on negative posts: the regexes are the costliest step of a mention.
    found = (((theme,) if theme else (gold_reason,) if gold_reason else _themes(text))
             if negative else ())
    parent = stable_id(platform, parent_native_id) if parent_native_id else None
    author = None if author_id is None else int(author_id)
    return (int(post_id), brand, float(at), negative, author, followers, parent, None, found)


def _posts(fields: list[tuple]) -> Iterator[SignalPost]:
    return map(SignalPost._make, fields)


def _pages(engine: Engine, since: str | None, version: str | None,
           page_size: int, until: Any = None,
           scored: tuple[Any, Any] | None = None) -> Iterator[tuple[list, Any]]:
    """(SignalPost fields, created_at of the last) a page at a time, up to the first mention
    without a score (`_posts` makes them SignalPosts).

    `_unscored_from` finds that mention before the read, but a collector may commit posts
    between the two queries (`undertow listen` collects while its pipeline runs, an import may
    run beside it): read without its score, such a post would count as not negative and the
    cursor would move past it for good. So the read itself stops there too.
    """
    for page in reads.rows(engine, since, version, page_size, until, scored):
        scored_n = next((i for i, r in enumerate(page) if r[_LABEL] is None), len(page))
        if scored_n:
            yield [_signal(r) for r in page[:scored_n]], page[scored_n - 1][_CREATED_AT]
        if scored_n < len(page):
            return


def _produce(url: str, since: str | None, version: str | None, page_size: int,
             out: Connection, until: Any = None, scored: tuple[Any, Any] | None = None) -> None:
    """Child process: read and map the pages, send them down `out`, then None (or the error)."""
    from listener.store.db import create

    gc.set_threshold(*GC_THRESHOLDS)  # a process of its own: see _gc_relaxed
    engine = create(url)
    try:
        for item in _pages(engine, since, version, page_size, until, scored):
            out.send(item)
        out.send(None)
    except (BrokenPipeError, EOFError):
        pass  # the parent stopped reading: it has its own error to report
    except Exception as exc:
        out.send(RuntimeError(f"reading posts failed: {type(exc).__name__}: {exc}"))
    finally:
        engine.dispose()
        out.close()


def _receive(pipe: Connection, child: BaseProcess) -> Any:
    try:
        return pipe.recv()
    except EOFError:  # it died without a word: killed, or could not start
        child.join(timeout=5)
        raise RuntimeError(f"the process reading posts died (exit code {child.exitcode})") from None


@contextmanager
def _plain_main() -> Iterator[None]:
    """A spawned child re-imports the parent's `__main__` before it runs its target.

    The child needs nothing from it, and some mains cannot be imported twice (a Streamlit
    script run by the dashboard's tests, an interactive session): start it beside an empty one.
    """
    real = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if real is not None:
            sys.modules["__main__"] = real


def _read_ahead(engine: Engine, since: str | None, version: str | None,
                allowed: bool = True, until: Any = None,
                scored: tuple[Any, Any] | None = None,
                pending: int | None = None) -> Iterator[tuple[list, Any]]:
    """`_pages` from a child process, a page ahead of the detector.

    Reading and mapping 1M mentions (SQL, theme regexes) costs half as much as detecting on
    them: on a second core it hides behind detection. Small runs (`pending` posts, counted
    here when not given), in-memory databases (which a child cannot open) and callers that did
    not ask for it read in this process.
    """
    if pending is None:
        pending = reads.pending(engine, since)
    if not allowed or reads.in_memory(engine) or multiprocessing.current_process().daemon \
            or pending < CHILD_MIN:
        yield from _pages(engine, since, version, PAGE, until, scored)
        return
    url = engine.url
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_produce, daemon=True,
                        args=(url.render_as_string(hide_password=False), since, version, PAGE,
                              send, until, scored))
    try:
        with _plain_main():
            child.start()
    except (OSError, RuntimeError) as exc:  # no room for a process: read here instead
        log.warning("reading posts in this process: %s", exc)
        send.close()
        receive.close()
        yield from _pages(engine, since, version, PAGE, until, scored)
        return
    send.close()
    try:
        while (item := _receive(receive, child)) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        receive.close()
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()
            child.join()


@contextmanager
def _gc_relaxed(relax: bool) -> Iterator[None]:
    """Python's cycle collector, rarely, for the length of a big run.

    A big run allocates millions of small objects that live for hours of stream time (the
    detector's posts, reactions and bins, a page of mentions from the reader): with the default
    thresholds the collector walks them again and again, 7-13 of the 61 CPU seconds at 1M posts
    (bench/detect_speed.py, docs/alerts.md). The detector's state holds no reference cycles, so
    its garbage goes by reference counting; the collector still runs, every 50,000
    allocations, and the old thresholds are back when the run ends. Small runs (`undertow
    listen` detects every few seconds, beside other threads) leave it as it is.
    """
    if not relax:
        yield
        return
    old = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _root_ids(stories) -> list[int]:
    return [int(i) for story in stories for i in story.root_posts[:5]]


def _people(stories) -> list[int]:
    return [i.author for story in stories for i in story.influencers]


def cascade_themes(store: Store, cascades: dict[Any, tuple[int, list[int]]]
                   ) -> dict[Any, list[tuple[str, int]]]:
    """Complaint themes of cascades as `undertow themes` named them: key -> [(theme, posts)],
    most posts first, for key -> (brand id, root post ids); a cascade none of whose posts has a
    theme yet is left out.

    Counted in the store, not by the detector: under `listen` the themes job runs beside
    detection, on its own cadence, so a cascade's first posts are often read (and its alert
    opened) before they have a theme. The detector then counts them by the keyword taxonomy;
    these counts replace that once the themes job has named the posts (the root and the posts
    that repost, quote or reply to it; one it has not named counts under its human reason where
    a labelled import gave one), on the alert's next update or the refresh after the
    next themes run (`refresh_alert_themes`).
    """
    roots = [r for _, ids in cascades.values() for r in ids]
    if not roots:
        return {}
    members, themes, reasons = reads.cascade_members_themes(store, roots)
    out: dict[Any, list[tuple[str, int]]] = {}
    for key, (brand_id, ids) in cascades.items():
        counts: dict[str, int] = {}
        for post in {m for r in ids for m in members.get(r, ())}:
            if (name := themes.get((post, brand_id), reasons.get(post))) is not None:
                counts[name] = counts.get(name, 0) + 1
        if counts:
            out[key] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return out


def _with_themes(ev: Evidence, found: list[tuple[str, int]] | None) -> Evidence:
    if not found:
        return ev
    return dataclasses.replace(ev, themes=tuple(Theme(t, c) for t, c in found[:MAX_THEMES]))


def refresh_alert_themes(store: Store) -> int:
    """Give alerts still in play (watch, open, acknowledged) the themes the themes job has found
    for their cascades since they were last written; the number of alerts changed.

    Run by the detector's own thread (`undertow listen`'s pipeline, after a themes run), so it
    never races the detector's upsert of the same row.
    """
    rows = alerts_in_play(store)
    evidence = {r.id: Evidence.from_json(r.evidence, r.story_key) for r in rows}
    wanted = {r.id: (r.brand_id, evidence[r.id].root_post_ids[:MAX_ROOTS]) for r in rows
              if evidence[r.id].kind == "cascade" and evidence[r.id].root_post_ids}
    changed = 0
    by_id = {r.id: r for r in rows}
    for alert_id, found in cascade_themes(store, wanted).items():
        ev = _with_themes(evidence[alert_id], found)
        if ev.themes == evidence[alert_id].themes:
            continue
        row = by_id[alert_id]
        data = {**(row.evidence or {}), "themes": [{"term": t.term, "posts": t.posts}
                                                   for t in ev.themes]}
        changed += retitle(store, alert_id, row.title, ev.title(), data)
    return changed


def _record(store: Store, brands: dict[str, int], stories, report: DetectReport) -> None:
    """One alert row per story worth one; a page's stories in one transaction."""
    stories = [s for s in stories if s.status == "active" or s.triggers]
    if not stories:
        return
    roots = reads.root_posts(store, _root_ids(stories))
    people = reads.handles(store, _people(stories))
    clusters = flagged_clusters(store)  # coordination (h23): see listener.jobs.coordination
    named = cascade_themes(store, {
        s.id: (brands[s.brand], [int(x) for x in s.root_posts[:MAX_ROOTS]])
        for s in stories if s.kind == "cascade"})
    updates = []
    for story in stories:
        ev = _with_themes(Evidence.from_story(story, roots, people), named.get(story.id))
        ev.extra["coordination"] = story_coordination(store, story.root_posts[:5], clusters)
        if story.kind == "cascade":  # the one count of a story's reactions (listener.story_numbers)
            ev.extra["reactions"] = story_numbers.from_detector(story.post_count).reactions
        quiet = story.status == "quiet"
        at = story.quiet_at if quiet and story.quiet_at is not None else story.updated_at
        updates.append(StoryUpdate(
            brands[story.brand], story.id, story.severity, ev.title(), ev.to_json(),
            now=datetime.fromtimestamp(at, UTC),
            opened_at=datetime.fromtimestamp(story.opened_at, UTC), active=not quiet,
            resolution=_resolution(story) if quiet else None))
    for _, outcome in upsert_stories(store, updates):
        report.opened += outcome in ("opened", "reopened")
        report.updated += outcome == "updated"
        report.watching += outcome == "watching"
        report.resolved += outcome == "resolved"


def _resolution(story) -> str:
    """Why a quiet story's alert resolved itself, in words for the alert's reader."""
    idle = (story.quiet_at - story.updated_at) / 60 if story.quiet_at is not None else 0
    return (f"stopped growing: no new posts for {idle:.0f} min, at {story.post_count:,} posts; "
            f"severity decayed to {story.severity:.2f}")


def reading_from(store: Store) -> datetime | None:
    """The post time detection reads on from (its cursor), or None before its first run."""
    value = store.get_meta(CURSOR_KEY)
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    # SQLite keeps naive UTC text; PostgreSQL compares aware times.
    return at.replace(tzinfo=None) if store.engine.dialect.name == "sqlite" else as_utc(at)


def _save(store: Store, detector, last, scored_through=None) -> None:
    values = {STATE_KEY: detector.to_json(), CURSOR_KEY: _text(last)}
    if scored_through is not None:
        values[SCORED_KEY] = _text(scored_through)
    store.set_meta(values)


def _text(value) -> str:
    """A timestamp as the meta table keeps it: SQLite's own text, else ISO 8601 in UTC."""
    return value if isinstance(value, str) else as_utc(value).isoformat()


def detect(store: Store, reset: bool = False, echo: Callable[[str], None] = print,
           read_ahead: bool = False) -> DetectReport:
    """Feed posts newer than the saved cursor to the detector and record its stories as alerts.

    `read_ahead` lets a big run read in a child process, a page ahead. One run at a time per
    store (the state is one row): a second one raises JobBusy before it reads anything.
    """
    with job_lock(store.engine, "detect"):
        return _detect(store, reset, echo, read_ahead)


def _detect(store: Store, reset: bool, echo: Callable[[str], None],
            read_ahead: bool) -> DetectReport:
    from graph.detector import Detector, DetectorConfig

    started = time.monotonic()
    report = DetectReport()
    state = None if reset else store.get_meta(STATE_KEY)
    cursor = None if reset else store.get_meta(CURSOR_KEY)
    ranks = reads.ranks(store, TOP_INFLUENCERS)
    config = DetectorConfig(top_n=TOP_INFLUENCERS, min_influencer_events=MIN_INFLUENCER_EVENTS)
    detector = (Detector.from_json(state, config, ranks=ranks) if state
                else Detector(config, ranks=ranks))
    version = reads.model_version(store)
    if version is None:
        echo("No sentiment scores yet: run `undertow score` first (detect reads model scores).")
        return report
    brands = {b.name: b.id for b in store.brands()}
    through = reads.scored_through(store.engine, version)
    scored_after = None if reset or state is None else store.get_meta(SCORED_KEY)
    if cursor is not None and scored_after is not None and through is not None:
        # Posted before the cursor, scored since the last run: read them first, in their order.
        for fields, _ in _pages(store.engine, None, version, PAGE, cursor,
                                (scored_after, through)):
            report.late += len(fields)
            report.posts += len(fields)
            _record(store, brands, detector.process(_posts(fields)), report)
    until = reads.unscored_from(store.engine, cursor, version)
    if until is not None:
        report.waiting_from = str(until)
        echo(f"Brand mentions from {until} on have no {version} score yet: detection stops "
             f"there until `undertow score` has scored them.")
    last = saved = None
    checkpoint = time.monotonic()
    pending = reads.pending(store.engine, cursor)
    with _gc_relaxed(pending >= CHILD_MIN):
        for fields, last in _read_ahead(store.engine, cursor, version, read_ahead, until,
                                        (None, through), pending):
            report.posts += len(fields)
            _record(store, brands, detector.process(_posts(fields)), report)
            # The state is megabytes of JSON: saved every CHECKPOINT_S rather than every page,
            # so a run that dies replays at most that much (its alerts are upserted again, not
            # doubled).
            if time.monotonic() - checkpoint >= CHECKPOINT_S:
                _save(store, detector, last, through)
                saved, checkpoint = last, time.monotonic()
    if last is None and report.late and cursor is not None:
        last = cursor  # only late posts: the cursor stays, the scores seen move on
    if last is not None and last is not saved:
        _save(store, detector, last, through)
    _themes.cache_clear()  # texts can be long; `undertow listen` keeps this process for days
    report.seconds = time.monotonic() - started
    return report


def stage(store: Store, settings, echo: Callable[[str], None]) -> None:
    report = detect(store, echo=echo, read_ahead=True)
    echo(f"Detection read {report.posts:,} new brand mentions"
         + (f" ({report.late:,} stored late)" if report.late else "")
         + f" in {report.seconds:.1f} s: "
         f"{report.opened:,} alerts opened, {report.updated:,} updated, "
         f"{report.watching:,} stories below the reporting level watched, "
         f"{report.resolved:,} resolved as their stories stopped growing.")
