"""`undertow score --follow` as real processes beside a collector, on SQLite and PostgreSQL.

The followers are real `python -m listener.cli score --follow` subprocesses; the test stores
posts while they run (as `undertow listen` would), sees them scored, then sends SIGTERM while a
backlog is being scored: each follower commits the batch in hand and exits 0, what it says it
scored is exactly what is stored, and a later run scores the rest, so no post is lost and none
is scored twice.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from listener.jobs.score import score_posts
from listener.post import Batch, Post
from listener.store import schema
from nlp.scorer import SentimentScorer

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 4, 1, tzinfo=UTC)


def _write(store, start: int, n: int) -> None:
    store.write(Batch(posts=[Post("x", f"f{i}", f"a{i % 11}", f"follow post {i} @united",
                                  T0 + timedelta(seconds=i)) for i in range(start, start + n)]))


def _rows(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(schema.sentiment_scores)).scalar()


def _wait(check, timeout: float, procs) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        for p in procs:
            assert p.poll() is None, f"a follower exited early: {p.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline, "the followers did not score the new posts in time"
        time.sleep(0.2)


@pytest.mark.parametrize(("dialect", "followers"), [("sqlite", 1), ("postgresql", 2)])
def test_followers_score_arriving_posts_and_stop_cleanly_on_sigterm(
        dialect, followers, request, tmp_path, tiny_model):
    store = request.getfixturevalue("sqlite_store" if dialect == "sqlite" else "pg_store")
    url = (request.getfixturevalue("pg_url") if dialect == "postgresql"
           else f"sqlite:///{tmp_path / 'undertow.db'}")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("UNDERTOW_")},
           "UNDERTOW_ID_KEY": os.environ["UNDERTOW_ID_KEY"], "UNDERTOW_DATABASE_URL": url,
           "UNDERTOW_HOME": str(tmp_path), "UNDERTOW_ENV_FILE": os.devnull,
           "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "listener.cli", "score", "--follow", "--idle", "0.3s",
           "--model", str(tiny_model), "--threads", "1", "--batch-size", "8", "--json"]
    _write(store, 0, 20)
    procs = [subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(followers)]
    try:
        _wait(lambda: _rows(store) == 20, 180, procs)
        for k in range(3):  # posts keep arriving; idle followers pick them up
            _write(store, 20 + 10 * k, 10)
            time.sleep(0.5)
        _wait(lambda: _rows(store) == 50, 60, procs)
        # A backlog, and SIGTERM while it is being scored.
        _write(store, 50, 400)
        _wait(lambda: _rows(store) > 50, 60, procs)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err[-3000:]
        assert "Traceback" not in err and "Pass 1: scored" in err, err[-3000:]
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in results]
    said = sum(r["scored"] for r in reports)
    assert said == _rows(store)  # each follower's batch in hand was committed before it left
    if followers > 1:
        assert all(r["scored"] > 0 for r in reports)  # they shared the work
    rest = score_posts(store, SentimentScorer(tiny_model), batch_size=64).scored
    assert _rows(store) == 450 and said + rest == 450  # none lost, none scored twice
