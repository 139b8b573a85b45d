"""The stages after collection, in data-flow order: `undertow demo` runs them once, `undertow
listen` after every pass.

Each stage is `stage(store, settings, echo)`. In `listen`, a failing stage is reported and the
listener goes on: the next pass retries it, and collection never stops for a downstream fault.

`listen` runs what an alert waits for (score, rank, coordination, detect, alert emails) first,
and complaint themes beside them, on their own cadence (`ThemesRunner`): embedding every new
negative post took 7-14 s a run at 100 posts/s, longer than scoring, and stood between scoring
and detection on every run. An alert opened before its posts have themes gets them when the
themes job has named them (`detect.refresh_alert_themes`, on the pipeline's next run).

With `UNDERTOW_LISTEN_SCORE=false` (`listen --no-score`) the listener scores nothing: separate
`undertow score --follow` processes do, and each pipeline run detects on what they have scored
so far, new posts or not (detection stops at the first mention still without a score).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from listener.jobs import coordination, detect, graph_views, rank, score, themes
from listener.logs import db_unavailable
from listener.store import Store
from listener.store.db import unavailable

log = logging.getLogger(__name__)
Stage = Callable[..., None]

# Batch runs (`undertow demo`): themes before detection, so a story's alert names the complaint
# themes found in its posts from the start; the Graph explorer's default views after the ranking
# whose communities colour them.
STAGES: list[Stage] = [score.stage, rank.stage, graph_views.stage, coordination.stage,
                       themes.stage, detect.stage]
# `undertow listen`: only what detection needs stands between scoring and detection, and the
# scoring is cut into slices of LIVE_SLICE_S with detection and alert emails after each, so a
# long backlog is detected on as it is scored (oldest first), not only once all of it is.
LIVE_STAGES: list[Stage] = [score.stage, rank.stage, coordination.stage, detect.stage]
LIVE_SLICE_S = 10.0
THEMES_NICE = 10  # how much lower the themes thread runs than the pipeline (Linux only)


def background_stages() -> list[Stage]:
    """What no alert waits for, run in `listen`'s background thread (`ThemesRunner`): the
    Graph explorer's default views (seconds a run) and the complaint themes (looked up at call
    time, so a test can stand in for either)."""
    return [graph_views.stage, themes.stage]


class ThemesRunner:
    """The background stages for `listen` (graph views, themes): in their own thread, at most
    once every `every_s`, and only
    after new posts came in; never two at a time.

    The thread runs at a lower CPU priority (`nice`, Linux: per thread, inherited by the
    encoder's worker threads), so on a busy machine scoring and detection get the cores first
    and themes take what is left; on a quiet one themes run at full speed between scoring runs.
    `every_s` 0 runs themes inline after detection, on every run with new posts.
    """

    def __init__(self, every_s: float = 60.0, nice: int = THEMES_NICE) -> None:
        self.every_s, self.nice = every_s, nice
        self.pending = 0  # new posts since the last themes run began
        self.finished = 0  # runs ended (successfully or not)
        self.refreshed = 0  # finished runs whose themes were handed to the alerts
        self._started_at: float | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def due(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return bool(self.pending) and not self.running and (
            self._started_at is None or now - self._started_at >= self.every_s)

    def maybe_start(self, store: Store, settings, echo: Callable[[str], None]) -> bool:
        """Start a themes run if one is due; whether it started."""
        with self._lock:
            if not self.due():
                return False
            self.pending, self._started_at = 0, time.monotonic()
            if self.every_s > 0:
                self._thread = threading.Thread(target=self._run, args=(store, settings, echo),
                                                name="undertow-themes", daemon=True)
                self._thread.start()
                return True
        self._run(store, settings, echo, inline=True)
        return True

    def _run(self, store: Store, settings, echo: Callable[[str], None],
             inline: bool = False) -> None:
        if not inline and self.nice and sys.platform.startswith("linux"):
            try:  # this thread only: on Linux a thread id is a process id for setpriority
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                               min(19, os.getpriority(os.PRIO_PROCESS, 0) + self.nice))
            except OSError:
                pass
        try:
            for stage in background_stages():
                _guarded(stage, store, settings, echo)
        finally:
            with self._lock:
                self.finished += 1

    def take_finished(self) -> bool:
        """Whether a themes run ended since the last call (its themes are due to the alerts)."""
        with self._lock:
            done, self.refreshed = self.finished > self.refreshed, self.finished
            return done

    def join(self, timeout: float | None = None) -> None:
        """Let a themes run in progress finish (it saves its model file at the end)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


def _guarded(stage: Stage, store: Store, settings, echo: Callable[[str], None]) -> bool:
    try:
        stage(store, settings, echo)
        return True
    except Exception as exc:  # keep listening; the next pass retries the stage
        _failed(_name(stage), exc, echo)
        return False


def _name(stage: Stage) -> str:
    """A stage's name in the log: its job module, or what this module's own steps do."""
    module = getattr(stage, "__module__", None) or "stage"
    if module != __name__:
        return module
    return {"_send_alerts": "alert emails", "_prune_daily": "retention"}.get(
        getattr(stage, "__name__", ""), "themes refresh")


def _failed(name: str, exc: Exception, echo: Callable[[str], None]) -> None:
    """A stage's failure: one line when the database is away (a restart: nothing to debug),
    the traceback when it is anything else (a bug)."""
    if unavailable(exc):
        db_unavailable(f"stage {name}", exc, "the next pipeline run retries it", echo=echo,
                       stage=name)
        return
    log.exception("Stage %s failed", name)
    echo(f"{name} failed: {exc}; will retry next pass")


def _refresh_themes(store: Store, echo: Callable[[str], None]) -> None:
    changed = detect.refresh_alert_themes(store)
    if changed:
        echo(f"Themes: {changed:,} alerts now name the themes found in their posts")


def _send_alerts(store: Store, settings, echo: Callable[[str], None]) -> None:
    if not settings.smtp_host:  # recipients may also be set per brand
        return
    from listener.alerts.delivery import send

    report = send(store, settings)
    if report.no_recipients:
        echo(f"Alert emails: {report.no_recipients:,} alerts have no recipient "
             "(UNDERTOW_ALERT_RECIPIENTS or a brand's recipients); they stay due")
    if report.sent or report.errors:
        echo(f"Alert emails: {report.sent:,} sent, {report.retry_later:,} to retry"
             + "".join(f"; {e}" for e in report.errors[:3]))


def _prune_daily(store: Store, settings, echo: Callable[[str], None]) -> None:
    today = datetime.now(UTC).date().isoformat()
    if store.get_meta("last_prune") == today or settings.retention_days <= 0:
        return
    from listener.store.retention import prune

    report = prune(store, settings.retention_for)
    store.set_meta({"last_prune": today})
    if report.removed.get("posts"):
        echo(f"Retention: removed {report.removed['posts']:,} posts older than the retention period")


def after_collect(store: Store, settings, new_posts: int, echo: Callable[[str], None],
                  themes_runner: ThemesRunner | None = None,
                  stop: threading.Event | None = None) -> None:
    """One pipeline run. With a `themes_runner` (`listen`): score (the oldest first, for at most
    LIVE_SLICE_S), rank and coordination, detect, alert emails, then score the next slice of
    what was unscored when the run began, detect and email again, until it is all scored;
    themes start beside them when due. Without one, every stage in `STAGES` order.

    A `stop` (SIGTERM) ends the run after the slice in hand and its detection and emails: a
    backlog of an hour's posts would otherwise hold the listener past systemd's stop timeout,
    and what is left unscored is the next start's first slice."""
    if themes_runner is None:
        stages = (STAGES if new_posts else []) + [_send_alerts, _prune_daily]
        for stage in stages:
            _guarded(stage, store, settings, echo)
        return
    themes_runner.pending += new_posts
    scoring = getattr(settings, "listen_score", True)
    left, first = None, True  # left: posts of this run's share still to score
    scan: list = []  # the run's one claim cursor: each slice goes on where the last stopped
    while True:
        if new_posts:
            left = _score_slice(store, settings, echo, left, scan) if scoring else 0
            for stage in LIVE_STAGES[1:] if first else LIVE_STAGES[-1:]:  # rank etc. once
                _guarded(stage, store, settings, echo)
            first = False
        elif not scoring:  # the followers may have scored what detection waits for
            _guarded(LIVE_STAGES[-1], store, settings, echo)
        if themes_runner.take_finished():
            _guarded(lambda s, _settings, e: _refresh_themes(s, e), store, settings, echo)
        _guarded(_send_alerts, store, settings, echo)
        if stop is not None and stop.is_set():
            if left:
                echo(f"Stopping: {left:,} posts of this run left unscored for the next start")
            return
        themes_runner.maybe_start(store, settings, echo)
        if not left:
            break
    _guarded(_prune_daily, store, settings, echo)


def _score_slice(store: Store, settings, echo: Callable[[str], None], todo: int | None,
                 scan: list) -> int:
    """Score for up to LIVE_SLICE_S of the run's share (`todo`; None: what is unscored now);
    what is left of it (0 when the stage failed: the next pass retries).

    The slices of a run share one claim cursor (`scan`, made by the first): it starts where
    detection reads on and each slice goes on from where the last stopped. Restarting every
    slice there (as before) re-walked the whole scored history after the wrap: in the
    30-minute soak, 555 posts stored late behind detection's cursor (a search after a kill,
    Reddit threads), spread over 120,000 scored ones, were scored about 6 per 14 s slice."""
    from listener.store.scores import MIN_ID, ClaimCursor

    try:
        if not scan:  # where detection reads on: the first post there without a score holds
            start = detect.reading_from(store)  # every alert
            scan.append(ClaimCursor() if start is None else ClaimCursor((start, MIN_ID)))
        return score.stage(store, settings, echo, max_seconds=LIVE_SLICE_S, todo=todo,
                           cursor=scan[0])
    except Exception as exc:  # keep listening; the next pass retries the stage
        _failed("listener.jobs.score", exc, echo)
        return 0
