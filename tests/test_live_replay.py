"""The live harness, small: real `undertow listen` against the local X/Reddit server, one kill -9
mid-run and the SMTP server down for a while, then exactly-once counts.

This is `bench/live.py --soak` at a low rate on SQLite. It asserts counts, never latencies:
the machine may be loaded, so the timeouts are generous and only what must hold on any machine
is checked (every post stored and scored once, the cascade alerted once, each email once).
"""

from __future__ import annotations

import threading
import time

import pytest


def test_streamed_posts_are_stored_while_the_pipeline_runs(sqlite_store, tmp_path):
    """A long scoring run must not hold streamed posts in memory: they are committed as they
    arrive (a kill -9 then loses none, and the backlog is visible in the store)."""
    from bench.live_feed import Feed, Text
    from bench.live_wire import LiveServer, WireState
    from listener.collectors import job
    from listener.settings import Settings

    state = WireState()
    server = LiveServer(state).start()
    settings = Settings.load(env={"UNDERTOW_HOME": str(tmp_path),
                                  "UNDERTOW_X_BEARER_TOKEN": "t",
                                  "UNDERTOW_X_BASE_URL": server.url},
                             env_file=tmp_path / "absent.env")
    sqlite_store.add_brand("United", "@united")
    texts = [Text(f"@united flight {i} delayed again", f"flyer{i}", "United", True, True)
             for i in range(20)]
    feed = Feed(texts, rate=20, seconds=1, cascades=0, reddit_share=0)
    stop, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def slow_pipeline(new_posts: int) -> None:
        runs.append(new_posts)
        release.wait(60)  # a scoring run that takes long

    worker = threading.Thread(target=job.listen, args=(sqlite_store, settings), kwargs=dict(
        platforms=["x"], stream=True, echo=lambda line: None, stop=stop,
        after_pass=slow_pipeline, pipeline_every=0.2, intervals={"x": 3600}), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not (runs and state.connections) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert runs and state.connections  # the first pass's pipeline is running, and blocked
        for item in feed.schedule(time.time()):
            state.publish_tweet(item.payload, item.users)
        while sqlite_store.status()["posts"] < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sqlite_store.status()["posts"] == 20
        assert len(runs) == 1  # stored while the one pipeline run was still going
        release.set()
        while len(runs) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        release.set()
        stop.set()
        worker.join(60)
        server.stop()
    assert not worker.is_alive()
    assert sum(runs) == 20  # the next run was told of every streamed post


def test_queued_stream_pages_are_committed_together_in_order():
    """At 100 posts/s one commit per streamed tweet falls behind: what has queued up is merged
    per source, in order, and a stream's failure keeps its place."""
    import queue

    from listener.collectors.base import Page
    from listener.collectors.job import _coalesce
    from listener.mapping.report import MapReport
    from listener.post import Batch, Post, utcnow

    x, other = object(), object()

    def page(i: int, brand: str) -> Page:
        return Page(Batch([Post("x", str(i), "a", f"post {i}", utcnow())]),
                    MapReport(skipped=[f"s{i}"] if i == 2 else []), fetched=1, brands=(brand,))

    inbox: queue.Queue = queue.Queue()
    failure = RuntimeError("stream dropped")
    for item in [(x, page(2, "B")), (x, page(3, "A")), (other, page(4, "C")), (x, failure),
                 (x, page(5, "A"))]:
        inbox.put(item)
    out = _coalesce((x, page(1, "A")), inbox)
    assert [source for source, _ in out] == [x, other, x, x]
    first = out[0][1]
    assert [p.native_id for p in first.batch.posts] == ["1", "2", "3"]
    assert (first.fetched, first.brands, first.report.skipped) == (3, ("A", "B"), ["s2"])
    assert out[2][1] is failure and [p.native_id for p in out[3][1].batch.posts] == ["5"]
    assert inbox.empty()


def test_a_streamed_page_waits_out_a_database_outage(sqlite_store, monkeypatch):
    """A streamed page exists only in memory: while the database is away (a restart) its
    commit is retried, not dropped."""
    from sqlalchemy.exc import OperationalError

    from listener.collectors.base import Page
    from listener.collectors.job import SourceResult, _commit_retrying
    from listener.collectors.x import XCollector
    from listener.post import Batch, Post, utcnow

    real, failures = sqlite_store.write, [2]

    def write(batch):
        if failures[0]:
            failures[0] -= 1
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return real(batch)

    monkeypatch.setattr(sqlite_store, "write", write)
    monkeypatch.setattr("listener.collectors.job.threading.Event.wait", lambda self, t: False)
    lines: list[str] = []
    page = Page(Batch([Post("x", "1", "a", "@united hi", utcnow())]), fetched=1)
    totals = {"x": SourceResult("x", "X")}
    added = _commit_retrying(sqlite_store, XCollector, page, totals, lines.append,
                             threading.Event(), None)
    assert added == 1 and sqlite_store.status()["posts"] == 1
    assert sum("retrying" in line for line in lines) == 2


@pytest.mark.slow
def test_soak_with_a_kill_counts_every_post_alert_and_email_once(shared_data, tmp_path):
    from bench import live

    args = live.parse_args([
        "--rate", "3", "--seconds", "70", "--cascades", "1", "--cascade-size", "60",
        "--cascade-span", "15", "--soak", "--kill-every", "40", "--smtp-down", "12",
        "--pipeline-every", "3", "--search-every", "10s", "--reddit-every", "8s",
        "--reddit-share", "0.05", "--drain", "420", "--workdir", str(tmp_path)])
    result = live.run(args)
    log = (tmp_path / "listen.log").read_text(errors="replace")[-3000:]

    assert result["caught_up"], log
    assert result["kills"] == 1
    posts = result["posts"]
    assert posts["sent"] >= 150 and result["platforms"]["reddit"] > 0
    assert posts["stored"] == posts["sent"], log
    assert posts["duplicated"] == 0
    assert posts["scored"] == posts["sent"] and posts["scored_twice"] == 0
    alerts = result["alerts"]
    assert alerts == {"expected": 1, "opened": 1, "doubled": 0}, result["cascades"]
    emails = result["emails"]
    assert emails["expected"] >= 1 and emails["failed"] == 0
    assert emails["delivered"] == emails["expected"] and emails["doubled"] == 0, emails
    assert result["publish_to_alert_s"]["max"] is not None
    assert result["webhook_doubled"] == 0
