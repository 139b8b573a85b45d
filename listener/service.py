"""Operating `undertow listen`: a health endpoint and Prometheus metrics on one small HTTP server.

`GET /healthz` answers 200 while the listener's loop is alive and the database answers, 503 with
the reason otherwise (what a container healthcheck or a load balancer needs). `GET /metrics`
is the Prometheus text format: what this process did (passes, posts collected, pipeline runs)
and what the store holds and still owes (posts, the unscored backlog, alerts, the email
outbox), so a growing backlog is visible from outside. The server runs in a daemon thread and
reads the store through its own connections; store figures are cached for `cache_s` so a tight
scrape interval costs one count per few seconds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from listener.errors import ConfigError
from listener.store import Store
from listener.store.metrics import Backlog, backlog

__all__ = ["ServiceState", "parse_address", "serve"]

log = logging.getLogger(__name__)


@dataclass
class SourceCounters:
    passes: int = 0
    failures: int = 0
    collected: int = 0
    last_pass: float | None = None  # unix seconds
    last_success: float | None = None
    up: bool = True
    behind: bool = False  # its last pass stopped at a page cap with more to read


@dataclass
class ServiceState:
    """What the listener loop reports as it runs; read by the HTTP handlers (under `lock`)."""

    started_at: float = field(default_factory=time.time)
    heartbeat: float = field(default_factory=time.monotonic)
    stale_after_s: float = 300.0  # a loop silent this long is reported unhealthy
    sources: dict[str, SourceCounters] = field(default_factory=dict)
    pipeline_runs: int = 0
    pipeline_failures: int = 0
    pipeline_last_run: float | None = None
    pipeline_last_seconds: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def beat(self) -> None:
        self.heartbeat = time.monotonic()

    def source_pass(self, name: str, *, ok: bool, new_posts: int, behind: bool = False) -> None:
        with self.lock:
            c = self.sources.setdefault(name, SourceCounters())
            c.passes += 1
            c.failures += not ok
            c.collected += new_posts
            c.last_pass = time.time()
            c.up, c.behind = ok, behind
            if ok:
                c.last_success = c.last_pass
        self.beat()

    def streamed(self, name: str, new_posts: int) -> None:
        with self.lock:
            self.sources.setdefault(name, SourceCounters()).collected += new_posts
        self.beat()

    def pipeline_run(self, seconds: float, ok: bool) -> None:
        with self.lock:
            self.pipeline_runs += 1
            self.pipeline_failures += not ok
            self.pipeline_last_run = time.time()
            self.pipeline_last_seconds = seconds
        self.beat()


def parse_address(value: str) -> tuple[str, int]:
    """'127.0.0.1:9464', ':9464' or '9464' -> (host, port); the host defaults to loopback."""
    host, sep, port = value.strip().rpartition(":")
    if not sep:
        host, port = "", value.strip()
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ConfigError(f"Metrics address {value!r}: use HOST:PORT, e.g. 127.0.0.1:9464")
    return host.strip("[]") or "127.0.0.1", number


def _line(name: str, value: float | int | None, labels: dict[str, str] | None = None) -> str:
    if value is None:
        return ""
    if labels:
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
        name = f"{name}{{{inner}}}"
    return f"{name} {float(value):g}\n" if isinstance(value, float) else f"{name} {value}\n"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(name: str, kind: str, help_: str, samples: Iterable[str]) -> str:
    body = "".join(samples)
    return f"# HELP {name} {help_}\n# TYPE {name} {kind}\n{body}" if body else ""


def render_metrics(state: ServiceState, store_figures: Backlog | None) -> str:
    """The Prometheus text exposition (format 0.0.4) of the state and the store's figures."""
    with state.lock:
        sources = {k: SourceCounters(**vars(v)) for k, v in state.sources.items()}
        runs, failures = state.pipeline_runs, state.pipeline_failures
        last_run, last_seconds = state.pipeline_last_run, state.pipeline_last_seconds
    out = [_family("undertow_up", "gauge", "1 while the listener serves metrics.",
                   [_line("undertow_up", 1)]),
           _family("undertow_start_time_seconds", "gauge", "When this listener started.",
                   [_line("undertow_start_time_seconds", round(state.started_at, 3))])]
    per = [(name, c) for name, c in sorted(sources.items())]
    out += [
        _family("undertow_source_passes_total", "counter", "Collection passes per source.",
                [_line("undertow_source_passes_total", c.passes, {"source": s}) for s, c in per]),
        _family("undertow_source_failures_total", "counter",
                "Passes of a source that failed (credentials, server down).",
                [_line("undertow_source_failures_total", c.failures, {"source": s})
                 for s, c in per]),
        _family("undertow_posts_collected_total", "counter",
                "New posts this process stored, per source (polled and streamed).",
                [_line("undertow_posts_collected_total", c.collected, {"source": s})
                 for s, c in per]),
        _family("undertow_source_up", "gauge", "1 if the source's last pass succeeded.",
                [_line("undertow_source_up", int(c.up), {"source": s}) for s, c in per]),
        _family("undertow_source_behind", "gauge",
                "1 if the source's last pass stopped at its page cap with more to read (it is "
                "catching up: a restart, or more posts than one pass reads).",
                [_line("undertow_source_behind", int(c.behind), {"source": s}) for s, c in per]),
        _family("undertow_source_last_pass_timestamp_seconds", "gauge",
                "When the source's last pass ended.",
                [_line("undertow_source_last_pass_timestamp_seconds",
                       None if c.last_pass is None else round(c.last_pass, 3), {"source": s})
                 for s, c in per]),
        _family("undertow_source_last_success_timestamp_seconds", "gauge",
                "When the source's last successful pass ended.",
                [_line("undertow_source_last_success_timestamp_seconds",
                       None if c.last_success is None else round(c.last_success, 3),
                       {"source": s}) for s, c in per]),
        _family("undertow_pipeline_runs_total", "counter",
                "Runs of the stages after collection (score, rank, detect, alerts).",
                [_line("undertow_pipeline_runs_total", runs)]),
        _family("undertow_pipeline_failures_total", "counter", "Pipeline runs with a failed stage.",
                [_line("undertow_pipeline_failures_total", failures)]),
        _family("undertow_pipeline_last_run_timestamp_seconds", "gauge",
                "When the pipeline last finished.",
                [_line("undertow_pipeline_last_run_timestamp_seconds",
                       None if last_run is None else round(last_run, 3))]),
        _family("undertow_pipeline_last_duration_seconds", "gauge",
                "How long the last pipeline run took.",
                [_line("undertow_pipeline_last_duration_seconds",
                       None if last_seconds is None else round(last_seconds, 3))]),
    ]
    if store_figures is not None:
        b = store_figures
        out += [
            _family("undertow_posts_stored", "gauge", "Posts in the store, per platform.",
                    [_line("undertow_posts_stored", v, {"platform": k})
                     for k, v in sorted(b.per_platform.items())]),
            _family("undertow_posts_unscored", "gauge",
                    "Posts without a score of the current model: the scoring backlog.",
                    [_line("undertow_posts_unscored", b.unscored)]),
            _family("undertow_alerts", "gauge", "Alerts in the store, per status.",
                    [_line("undertow_alerts", v, {"status": k})
                     for k, v in sorted(b.alerts_open.items())]),
            _family("undertow_outbox_messages", "gauge",
                    "Alert email outbox rows, per status (pending, sending, sent, failed).",
                    [_line("undertow_outbox_messages", v, {"status": k})
                     for k, v in sorted(b.outbox.items())]),
        ]
    return "".join(out)


class _Figures:
    """The store's figures, computed at most every `cache_s` seconds (one reader at a time)."""

    def __init__(self, store: Store, cache_s: float) -> None:
        self.store, self.cache_s = store, cache_s
        self._at, self._value, self._error = -1e9, None, None
        self._lock = threading.Lock()

    def get(self) -> tuple[Backlog | None, str | None]:
        with self._lock:
            if time.monotonic() - self._at >= self.cache_s:
                try:
                    self._value, self._error = backlog(self.store), None
                except Exception as exc:  # noqa: BLE001 - a health check reports, never raises
                    self._value, self._error = None, f"{type(exc).__name__}: {exc}"[:300]
                self._at = time.monotonic()
            return self._value, self._error


def serve(store: Store, state: ServiceState, host: str, port: int,
          cache_s: float = 5.0) -> ThreadingHTTPServer:
    """Start the server in a daemon thread; `shutdown()` on the result stops it."""
    figures = _Figures(store, cache_s)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                value, _ = figures.get()
                self._send(200, render_metrics(state, value),
                           "text/plain; version=0.0.4; charset=utf-8")
            elif path in ("/healthz", "/health"):
                code, body = _health(state, figures)
                self._send(code, json.dumps(body) + "\n", "application/json")
            else:
                self._send(404, "not found: try /healthz or /metrics\n", "text/plain")

        def _send(self, code: int, body: str, kind: str) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt: str, *args) -> None:  # scrapes are not news
            log.debug("metrics %s", fmt % args)

    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        raise ConfigError(f"Cannot serve metrics on {host}:{port}: {exc.strerror or exc} "
                          "(choose another --metrics address)") from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="undertow-metrics", daemon=True).start()
    return server


def serve_at(store: Store, state: ServiceState, address: str | None,
             echo: Callable[[str], None]) -> ThreadingHTTPServer | None:
    """`serve` on a HOST:PORT setting (`listen` and `score --follow`), saying where; None
    when no address is set."""
    if not address:
        return None
    host, port = parse_address(address)
    server = serve(store, state, host, port)
    echo(f"Health and metrics: http://{host}:{server.server_address[1]}/healthz and /metrics")
    return server


def _health(state: ServiceState, figures: _Figures) -> tuple[int, dict]:
    silent = time.monotonic() - state.heartbeat
    _, error = figures.get()
    with state.lock:
        down = sorted(name for name, c in state.sources.items() if not c.up)
    body = {"status": "ok", "loop_silent_s": round(silent, 1), "sources_down": down,
            "started_at": datetime.fromtimestamp(state.started_at).astimezone().isoformat()}
    if error:
        body.update(status="unhealthy", reason=f"database: {error}")
    elif silent > state.stale_after_s:
        body.update(status="unhealthy", reason=f"the listener loop has been silent {silent:.0f} s")
    return (200 if body["status"] == "ok" else 503), body
