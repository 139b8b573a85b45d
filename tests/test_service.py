"""`undertow listen` as a service: health, Prometheus metrics and JSON logs, in a real process
reading a real RSS feed served on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from listener.service import ServiceState, parse_address, render_metrics, serve
from listener.store import Store
from listener.store.metrics import backlog, record_source_pass, source_passes

REPO = Path(__file__).resolve().parents[1]
FEED = REPO / "tests" / "fixtures" / "news" / "skyward.rss.xml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def feed_server():
    body = FEED.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/rss.xml"
    server.shutdown()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _metrics(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.mark.slow
def test_listen_serves_health_and_metrics_and_logs_json(tmp_path, feed_server):
    port = _free_port()
    env = {**os.environ, "UNDERTOW_HOME": str(tmp_path), "UNDERTOW_LOG_FORMAT": "json",
           "UNDERTOW_NEWS_FEEDS": feed_server, "UNDERTOW_ENV_FILE": os.devnull,
           "UNDERTOW_METRICS_ADDRESS": f"127.0.0.1:{port}"}
    env.pop("UNDERTOW_DATABASE_URL", None)
    cli = [sys.executable, "-m", "listener.cli"]
    subprocess.run([*cli, "brand", "add", "Acme", "--query", "acme OR #acmeair"], env=env,
                   check=True, capture_output=True, cwd=REPO)
    proc = subprocess.Popen([*cli, "listen", "--platform", "news", "--every", "news=600"],
                            env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=REPO)
    try:
        figures = {}
        for _ in range(300):  # wait for the first pass (the process imports, then collects)
            time.sleep(0.2)
            try:
                code, text = _get(f"http://127.0.0.1:{port}/metrics")
            except OSError:
                continue
            figures = _metrics(text)
            # The store's figures are cached for a few seconds: wait until they include the pass.
            if figures.get(("undertow_source_passes_total", (("source", "news"),))) and \
                    ("undertow_posts_stored", (("platform", "news"),)) in figures:
                break
        assert proc.poll() is None
        code, health = _get(f"http://127.0.0.1:{port}/healthz")
        assert code == 200 and json.loads(health)["status"] == "ok"
        stored = figures[("undertow_posts_stored", (("platform", "news"),))]
        assert stored > 0
        assert figures[("undertow_posts_collected_total", (("source", "news"),))] == stored
        assert figures[("undertow_source_up", (("source", "news"),))] == 1
        assert ("undertow_posts_unscored", ()) in figures
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    records = [json.loads(line) for line in err.splitlines() if line.strip()]  # every line JSON
    passes = [r for r in records if r.get("event") == "source_pass"]
    assert passes and passes[0]["source"] == "news" and passes[0]["ok"] is True
    assert passes[0]["new_posts"] == stored, passes
    assert any("Listening" in r["message"] for r in records)
    status = json.loads(subprocess.run([*cli, "status", "--json"], env=env, check=True,
                                       capture_output=True, text=True, cwd=REPO).stdout)
    assert status["sources"]["news"]["last_ok"] is True
    # The pass's new posts went through the pipeline: scored, and the backlog is empty.
    runs = [r for r in records if r.get("event") == "pipeline_run"]
    assert runs and runs[0]["new_posts"] == stored and runs[0]["ok"] is True
    assert status["scored"] == status["posts"] == stored and status["backlog"]["unscored"] == 0


@pytest.mark.postgres
def test_health_turns_unhealthy_when_the_loop_stalls_or_the_database_goes(pg_url):
    """A database of its own, dropped under the running server (never the run's database)."""
    from sqlalchemy import create_engine, text

    from tests.conftest import ADMIN_URL

    name = f"undertow_health_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    store = Store.open(ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    state = ServiceState(stale_after_s=60)
    server = serve(store, state, "127.0.0.1", 0, cache_s=0)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert _get(url + "/healthz")[0] == 200
        state.heartbeat -= 120
        code, body = _get(url + "/healthz")
        assert code == 503 and "silent" in json.loads(body)["reason"]
        state.beat()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        code, body = _get(url + "/healthz")
        assert code == 503 and json.loads(body)["reason"].startswith("database:")
        assert _get(url + "/metrics")[0] == 200  # the process's own figures still come
        assert _get(url + "/nope")[0] == 404
    finally:
        server.shutdown()
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_metrics_text_is_valid_prometheus_and_counts_per_source(sqlite_store):
    state = ServiceState()
    state.source_pass("x", ok=True, new_posts=7)
    state.source_pass("x", ok=False, new_posts=0)
    state.streamed("x", 3)
    state.source_pass("bluesky", ok=True, new_posts=1000, behind=True)
    state.pipeline_run(1.5, ok=True)
    figures = _metrics(render_metrics(state, backlog(sqlite_store)))
    assert figures[("undertow_source_passes_total", (("source", "x"),))] == 2
    assert figures[("undertow_source_failures_total", (("source", "x"),))] == 1
    assert figures[("undertow_posts_collected_total", (("source", "x"),))] == 10
    assert figures[("undertow_source_up", (("source", "x"),))] == 0
    assert figures[("undertow_source_behind", (("source", "x"),))] == 0
    assert figures[("undertow_source_behind", (("source", "bluesky"),))] == 1
    assert figures[("undertow_pipeline_last_duration_seconds", ())] == 1.5
    assert figures[("undertow_posts_unscored", ())] == 0


def test_source_passes_are_kept_per_source(sqlite_store):
    record_source_pass(sqlite_store, "x", ok=True, new_posts=4)
    record_source_pass(sqlite_store, "reddit", ok=False, new_posts=0, error="down")
    record_source_pass(sqlite_store, "x", ok=False, new_posts=0, error="timeout")
    passes = source_passes(sqlite_store)
    assert passes["x"]["last_ok"] is False and passes["x"]["last_success"]
    assert passes["x"]["last_error"] == "timeout" and passes["reddit"]["last_error"] == "down"
    assert "last_success" not in passes["reddit"]


@pytest.mark.parametrize("text,expected", [("127.0.0.1:9464", ("127.0.0.1", 9464)),
                                           (":9000", ("127.0.0.1", 9000)),
                                           ("9464", ("127.0.0.1", 9464)),
                                           ("[::1]:80", ("::1", 80))])
def test_metrics_addresses(text, expected):
    assert parse_address(text) == expected
