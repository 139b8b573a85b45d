"""A PostgreSQL restart under a running `listen` and a running `score --follow`, lossless.

The server is a private throwaway one (`bench/private_pg.py`: initdb into a temporary folder,
a free port), never the shared server the other tests use; it is stopped for a couple of
seconds mid-run, so every process meets connections cut and connections refused. Afterwards
every post is stored once and scored once, and neither process died.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from listener.post import Batch, Post
from listener.store import Store, schema
from listener.store.locks import _TAG_KEY

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 5, 1, tzinfo=UTC)
DOWN_S = 2.0


@pytest.fixture(scope="module")
def private_pg(tmp_path_factory):
    from bench.private_pg import PrivatePG, pg_bin

    try:
        pg_bin("initdb")
    except RuntimeError as exc:
        pytest.skip(str(exc))
    pg = PrivatePG().start()
    yield pg
    pg.stop()


def _until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except DBAPIError:  # the server restarting under the test's own connection
            pass
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _count(store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def _waiting_on_lock(store) -> bool:
    with store.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND wait_event = 'advisory' AND datname = current_database()")).scalar())


def _write_retrying(store, posts) -> None:
    _until(lambda: store.write(Batch(posts=posts)) is not None, 30, "the server did not return")


def test_score_follow_survives_a_database_restart(private_pg, tmp_path, tiny_model):
    url = private_pg.create_database("follow")
    store = Store.open(url)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")},
           "UNDERTOW_ID_KEY": os.environ["UNDERTOW_ID_KEY"], "UNDERTOW_DATABASE_URL": url,
           "UNDERTOW_HOME": str(tmp_path), "UNDERTOW_ENV_FILE": os.devnull,
           "PYTHONPATH": str(REPO)}
    posts = [Post("x", f"r{i}", f"a{i % 5}", f"restart post {i} @united", T0 + timedelta(seconds=i))
             for i in range(300)]
    store.write(Batch(posts=posts[:20]))
    follower = subprocess.Popen(
        [sys.executable, "-m", "listener.cli", "score", "--follow", "--idle", "0.3s", "--model",
         str(tiny_model), "--threads", "1", "--batch-size", "8", "--json"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _until(lambda: _count(store, schema.sentiment_scores) == 20, 180, "first posts unscored")
        store.write(Batch(posts=posts[20:250]))  # a backlog the restart cuts into
        private_pg.restart(down_s=DOWN_S)
        _write_retrying(store, posts[250:])  # and posts stored after it
        _until(lambda: _count(store, schema.sentiment_scores) == 300, 120,
               "the follower did not score every post after the restart")
        assert follower.poll() is None, "the follower died with the database"
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
        store.close()
    assert follower.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["scored"] == 300  # each post scored once: none twice, none lost
    assert report["database_errors"] >= 1
    assert "Scoring: the database is unavailable (" in err and "Traceback" not in err


@pytest.mark.parametrize("search_every", [3600.0, 1.0], ids=["stream", "stream+search"])
def test_listen_survives_a_database_restart(private_pg, tmp_path, search_every, caplog):
    """`listen` with the live X stream (and, in one run, a search pass every second) while the
    private server goes down in the middle of a commit and stays down a while: the streamed
    tweets are held until it is back (they used to be given up one by one as "refused by the
    database", and only a later search could bring them back), and a poll pass that finds the
    database away waits for it instead of ending the listener."""
    from bench.live_feed import Feed, Text
    from bench.live_wire import LiveServer, WireState
    from listener.collectors import job
    from listener.settings import Settings

    store = Store.open(private_pg.create_database(f"listen{int(search_every)}"))
    store.add_brand("United", "@united")
    state = WireState()
    server = LiveServer(state).start()
    settings = Settings.load(env={"UNDERTOW_HOME": str(tmp_path), "UNDERTOW_X_BEARER_TOKEN": "t",
                                  "UNDERTOW_X_BASE_URL": server.url},
                             env_file=tmp_path / "absent.env")
    texts = [Text(f"@united flight {i} is late again", f"flyer{i}", "United", True, True)
             for i in range(40)]
    items = list(Feed(texts, rate=40, seconds=1, cascades=0, reddit_share=0)
                 .schedule(time.time()))
    stop = threading.Event()
    lines: list[str] = []
    failed: list[BaseException] = []

    def run():
        try:
            job.listen(store, settings, platforms=["x"], stream=True, echo=lines.append,
                       stop=stop, intervals={"x": search_every}, pipeline_every=3600)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failed.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        _until(lambda: bool(state.connections), 60, "the listener did not connect")
        for item in items[:20]:
            state.publish_tweet(item.payload, item.users)
        _until(lambda: _count(store, schema.posts) == 20, 60, "the first posts were not stored")
        # The next tweets' commit is in flight when the server goes: a brand change holds the
        # tag lock, so the stream writer waits inside its transaction; then the server stops.
        retag = store.engine.connect()
        retag.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _TAG_KEY})
        for item in items[20:]:
            state.publish_tweet(item.payload, item.users)
        _until(lambda: _waiting_on_lock(store), 30, "the stream writer never began its commit")
        private_pg.stop(remove=False)  # down (immediate: as a crash would)
        retag.invalidate()
        time.sleep(DOWN_S)
        private_pg.start()
        _until(lambda: _count(store, schema.posts) == 40, 60,
               "posts streamed while the database was down were not stored")
        time.sleep(1.5)  # a search pass or two after the restart
        assert worker.is_alive() and not failed, (failed, lines[-10:])
    finally:
        stop.set()
        worker.join(60)
        server.stop()
    assert not failed, failed
    with store.engine.connect() as conn:
        ids = list(conn.execute(select(schema.posts.c.native_id)).scalars())
    store.close()
    assert sorted(ids) == sorted(i.native_id for i in items)  # each once, none lost
    assert any("could not store" in line for line in lines), lines
    # Held and retried, never given up (a refetch used to bring back what was given up).
    assert not [r for r in caplog.records if "refused it" in r.getMessage()]


def test_a_write_cut_off_by_the_server_going_down_is_raised_not_skipped(private_pg):
    """A batch whose transaction dies with the server (and whose one-by-one retry then finds the
    server gone) used to come back as written with every post "refused by the database": a
    caller then dropped them. It must raise, so the caller keeps the batch and retries it."""
    store = Store.open(private_pg.create_database("cutoff"))
    retag = store.engine.connect()  # a brand change holds the tag lock: the write waits inside
    retag.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _TAG_KEY})
    posts = [Post("x", f"c{i}", "a1", f"cut off {i}", T0) for i in range(5)]
    out: dict = {}

    def write():
        try:
            out["result"] = store.write(Batch(posts=posts))
        except DBAPIError as exc:
            out["error"] = exc

    th = threading.Thread(target=write, daemon=True)
    th.start()
    _until(lambda: _waiting_on_lock(store), 30, "the write never began")
    private_pg.stop(remove=False)
    retag.invalidate()
    th.join(60)
    private_pg.start()
    assert "error" in out, f"the write came back as done: {out['result'].skipped[:2]}"
    _write_retrying(store, posts)
    assert _count(store, schema.posts) == 5
    store.close()


def test_a_database_outage_in_listen_is_one_structured_log_line(private_pg, tmp_path,
                                                                 tiny_model):
    """`undertow listen` with JSON logs (as the systemd unit runs it) while the server is down
    for a few seconds: each place that meets the outage says so in one JSON record, event
    `db_unavailable` with the error class and the retry, never an "unexpected" traceback."""
    from bench.live_feed import Feed, Text
    from bench.live_wire import LiveServer, WireState

    url = private_pg.create_database("outagelog")
    store = Store.open(url)
    store.add_brand("United", "@united")
    state = WireState()
    server = LiveServer(state).start()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")},
           "UNDERTOW_ID_KEY": os.environ["UNDERTOW_ID_KEY"], "UNDERTOW_DATABASE_URL": url,
           "UNDERTOW_HOME": str(tmp_path), "UNDERTOW_ENV_FILE": os.devnull,
           "UNDERTOW_LOG_FORMAT": "json", "UNDERTOW_SENTIMENT_MODEL": str(tiny_model),
           "UNDERTOW_X_BEARER_TOKEN": "t", "UNDERTOW_X_BASE_URL": server.url,
           "PYTHONPATH": str(REPO)}
    texts = [Text(f"@united flight {i} is late again", f"flyer{i}", "United", True, True)
             for i in range(60)]
    items = list(Feed(texts, rate=60, seconds=1, cascades=0, reddit_share=0)
                 .schedule(time.time()))
    proc = subprocess.Popen(
        [sys.executable, "-m", "listener.cli", "listen", "--stream", "--platform", "x",
         "--every", "x=1s", "--pipeline-every", "1s", "--themes-every", "0"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _until(lambda: bool(state.connections) or proc.poll() is not None, 180,
               "the listener did not connect")
        assert proc.poll() is None
        for item in items[:30]:
            state.publish_tweet(item.payload, item.users)
        _until(lambda: _count(store, schema.sentiment_scores) >= 30, 120, "not scored")
        private_pg.stop(remove=False)  # down, as a crash would leave it
        for item in items[30:]:  # streamed while it is down: held, then stored
            state.publish_tweet(item.payload, item.users)
        time.sleep(4.0)  # search passes, pipeline runs and the stream writer meet it
        private_pg.start()
        _until(lambda: _count(store, schema.sentiment_scores) >= 60, 120,
               "posts streamed during the outage were not stored and scored")
        assert proc.poll() is None, "the listener died with the database"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        server.stop()
        store.close()
    lines = [line for line in err.splitlines() if line.strip()]
    assert not [line for line in lines if not line.startswith("{")], err[-3000:]  # all JSON
    records = [json.loads(line) for line in lines]
    outage = [r for r in records if r.get("event") == "db_unavailable"]
    assert outage, err[-3000:]
    for r in outage:
        assert r["level"] == "warning" and r["logger"] == "undertow.db"
        assert r["error"] and r["retry"] and "the database is unavailable" in r["message"]
        assert "[SQL:" not in r["message"] and "\n" not in r["message"]
    assert {r["where"].split(":")[0] for r in outage} >= {"X stream"}, outage
    assert not [r for r in records if "exception" in r or "unexpected" in r["message"]], \
        "\n".join(f"{r['message']}: {r.get('exception', '')[-1500:]}" for r in records
                  if "exception" in r or "unexpected" in r["message"])
    assert proc.returncode == 0, err[-3000:]
