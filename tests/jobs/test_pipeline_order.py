"""`undertow listen`'s pipeline order: nothing slow stands between scoring and detection.

Themes (embedding every new negative post: 7-14 s a run at 100 posts/s, more than scoring) ran
between scoring and detection on every run, and every alert waited for them. They now run in
their own thread, at most every `--themes-every`; scoring, detection and alert emails go on.
"""

import threading
import time
from datetime import UTC, datetime, timedelta

from listener.jobs import pipeline, themes
from listener.post import Batch, Post
from listener.settings import Settings
from listener.store.scores import count_unscored

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _posts(store, first, last):
    store.write(Batch(posts=[Post("x", f"p{i}", f"a{i % 3}", f"@acme flight {i} delayed again",
                                  T0 + timedelta(seconds=i)) for i in range(first, last)]))


def _settings(tmp_path, tiny_model):
    return Settings.load(env={"UNDERTOW_HOME": str(tmp_path),
                              "UNDERTOW_SENTIMENT_MODEL": str(tiny_model)},
                         env_file=tmp_path / "absent.env")


def test_a_slow_themes_run_does_not_hold_back_scoring_or_detection(sqlite_store, tiny_model,
                                                                   tmp_path, monkeypatch):
    settings = _settings(tmp_path, tiny_model)
    sqlite_store.add_brand("Acme", "@acme")
    release, runs = threading.Event(), []

    def slow_themes(store, settings, echo):  # the themes job, taking its time
        runs.append(threading.current_thread().name)
        release.wait(60)

    monkeypatch.setattr(themes, "stage", slow_themes)
    runner = pipeline.ThemesRunner(every_s=0.05)
    lines: list[str] = []
    try:
        _posts(sqlite_store, 0, 12)
        pipeline.after_collect(sqlite_store, settings, 12, lines.append, runner)
        deadline = time.monotonic() + 30
        while not runs and time.monotonic() < deadline:
            time.sleep(0.01)
        assert runs == ["undertow-themes"] and runner.running  # started after detection, aside
        assert any(line.startswith("Detection read 12 ") for line in lines)
        scored = next(i for i, line in enumerate(lines) if line.startswith("Scored 12 "))
        assert scored < next(i for i, line in enumerate(lines) if line.startswith("Detection"))
        # New posts while themes still run: scored and detected now, no second themes run.
        _posts(sqlite_store, 12, 20)
        time.sleep(0.1)  # past every_s: only the run in progress stops a second one
        pipeline.after_collect(sqlite_store, settings, 8, lines.append, runner)
        assert any(line.startswith("Detection read 8 ") for line in lines)
        version = sqlite_store.get_meta("sentiment_model_version")
        assert count_unscored(sqlite_store, version) == 0
        assert runs == ["undertow-themes"]
    finally:
        release.set()
        runner.join(30)
    assert not runner.running
    # The posts that came in meanwhile get their themes on the next run.
    pipeline.after_collect(sqlite_store, settings, 0, lines.append, runner)
    runner.join(30)
    assert len(runs) == 2


def test_themes_every_zero_runs_them_in_line_after_detection(sqlite_store, tiny_model, tmp_path,
                                                             monkeypatch):
    settings = _settings(tmp_path, tiny_model)
    sqlite_store.add_brand("Acme", "@acme")
    lines: list[str] = []
    monkeypatch.setattr(themes, "stage", lambda store, settings, echo: echo("themes ran"))
    _posts(sqlite_store, 0, 5)
    pipeline.after_collect(sqlite_store, settings, 5, lines.append, pipeline.ThemesRunner(0))
    order = [line.split()[0] for line in lines
             if line.startswith(("Scored", "Detection", "themes"))]
    assert order == ["Scored", "Detection", "themes"]


def test_batch_runs_keep_themes_before_detection():
    """`undertow demo` (no runner): alerts name the themes from the start."""
    names = [s.__module__.rsplit(".", 1)[-1] for s in pipeline.STAGES]
    assert names.index("themes") < names.index("detect")
    assert "themes" not in [s.__module__.rsplit(".", 1)[-1] for s in pipeline.LIVE_STAGES]


def test_a_backlog_is_detected_on_slice_by_slice_oldest_first(sqlite_store, tiny_model,
                                                              tmp_path, monkeypatch):
    """A run that begins with a backlog scores it a slice at a time (LIVE_SLICE_S), oldest first,
    and detects after each slice: detection reads each slice's mentions as soon as they are
    scored instead of waiting for the whole backlog."""
    settings = _settings(tmp_path, tiny_model)
    sqlite_store.add_brand("Acme", "@acme")
    monkeypatch.setattr(themes, "stage", lambda store, settings, echo: None)
    monkeypatch.setattr(pipeline, "LIVE_SLICE_S", 0.0)  # one batch (256 posts) a slice
    _posts(sqlite_store, 0, 600)
    lines: list[str] = []
    pipeline.after_collect(sqlite_store, settings, 600, lines.append, pipeline.ThemesRunner(0))
    read = [int(line.split()[2].replace(",", "")) for line in lines
            if line.startswith("Detection read")]
    assert read == [256, 256, 88]
    assert sum(line.startswith("Scoring sentiment") for line in lines) == 1  # one share
    assert sum("to go after detection" in line for line in lines) == 2


def test_listen_without_scoring_detects_on_what_the_followers_scored(sqlite_store, tiny_model,
                                                                     tmp_path):
    """UNDERTOW_LISTEN_SCORE=false (`listen --no-score`): the pipeline scores nothing and
    detection stops at the first unscored mention; once a follower has scored them, the next
    run detects on them, even a run with no new posts of its own."""
    from listener.jobs.score import load_scorer, score_posts

    settings = Settings.load(env={"UNDERTOW_HOME": str(tmp_path),
                                  "UNDERTOW_SENTIMENT_MODEL": str(tiny_model),
                                  "UNDERTOW_LISTEN_SCORE": "false"},
                             env_file=tmp_path / "absent.env")
    assert settings.listen_score is False
    sqlite_store.add_brand("Acme", "@acme")
    _posts(sqlite_store, 0, 9)
    lines: list[str] = []
    pipeline.after_collect(sqlite_store, settings, 9, lines.append, pipeline.ThemesRunner(0))
    assert not [line for line in lines if line.startswith(("Scoring", "Scored"))]
    assert any(line.startswith("Detection read 0 ") for line in lines), lines
    assert sqlite_store.status()["scored"] == 0
    scorer = load_scorer(str(tiny_model), threads=1)
    assert score_posts(sqlite_store, scorer).scored == 9  # what `score --follow` does
    lines.clear()
    pipeline.after_collect(sqlite_store, settings, 0, lines.append, pipeline.ThemesRunner(0))
    assert any(line.startswith("Detection read 9 ") for line in lines), lines


def test_the_slices_of_a_run_share_one_scan_past_posts_stored_late(sqlite_store, tiny_model,
                                                                   tmp_path, monkeypatch):
    """Posts stored late behind detection's cursor (a search after a kill, a Reddit thread),
    spread over a long scored history: each slice goes on where the last stopped, so a run
    walks the history once. Restarting every slice at the cursor walked it again per slice (the
    30-minute soak: about 6 posts scored per 14 s slice, 555 left when its drain ended)."""
    from sqlalchemy import delete

    from listener.jobs import detect
    from listener.jobs.score import load_scorer, score_posts
    from listener.store import schema
    from listener.store import scores as store_scores

    settings = _settings(tmp_path, tiny_model)
    sqlite_store.add_brand("Acme", "@acme")
    monkeypatch.setattr(themes, "stage", lambda store, settings, echo: None)
    monkeypatch.setattr(pipeline, "LIVE_SLICE_S", 0.0)  # a slice ends after one batch
    _posts(sqlite_store, 0, 3000)
    assert score_posts(sqlite_store, load_scorer(str(tiny_model), threads=1)).scored == 3000
    late = [f"p{i}" for i in range(1000, 3000, 400)]  # one in each of five claim windows
    p, s = schema.posts, schema.sentiment_scores
    with sqlite_store.engine.begin() as conn:
        ids = list(conn.execute(select_ids(p, late)).scalars())
        conn.execute(delete(s).where(s.c.post_id.in_(ids)))
    sqlite_store.set_meta({detect.CURSOR_KEY: (T0 + timedelta(seconds=2999)).isoformat()})
    claims = []
    real = store_scores._claim

    def counted(*args, **kwargs):
        claims.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(store_scores, "_claim", counted)
    lines: list[str] = []
    pipeline.after_collect(sqlite_store, settings, 5, lines.append, pipeline.ThemesRunner(0))
    version = sqlite_store.get_meta("sentiment_model_version")
    assert count_unscored(sqlite_store, version) == 0
    windows = 3000 // store_scores.WINDOW + 1
    assert len(claims) <= windows + 3, (len(claims), lines)  # once round, not once per slice


def select_ids(p, native_ids):
    from sqlalchemy import select

    return select(p.c.id).where(p.c.native_id.in_(native_ids))


def test_a_stop_ends_the_run_after_the_slice_in_hand(sqlite_store, tiny_model, tmp_path,
                                                     monkeypatch):
    """SIGTERM during a backlog: the run finishes the slice it is scoring, detects on it and
    returns, instead of scoring the whole backlog first (which held `listen` past a service
    manager's stop timeout); the next run takes up what is left, oldest first."""
    settings = _settings(tmp_path, tiny_model)
    sqlite_store.add_brand("Acme", "@acme")
    monkeypatch.setattr(themes, "stage", lambda store, settings, echo: None)
    monkeypatch.setattr(pipeline, "LIVE_SLICE_S", 0.0)  # one batch (256 posts) a slice
    _posts(sqlite_store, 0, 600)
    stop = threading.Event()
    stop.set()
    lines: list[str] = []
    pipeline.after_collect(sqlite_store, settings, 600, lines.append, pipeline.ThemesRunner(0),
                           stop)
    assert sqlite_store.status()["scored"] == 256
    assert any(line.startswith("Detection read 256 ") for line in lines), lines
    assert any("344 posts of this run left unscored" in line for line in lines), lines
    _posts(sqlite_store, 600, 601)  # the restarted listener's first pass: one new post
    pipeline.after_collect(sqlite_store, settings, 1, lines.append, pipeline.ThemesRunner(0))
    assert sqlite_store.status()["scored"] == 601
