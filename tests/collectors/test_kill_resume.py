"""Kill the collectors at random points, N times, then resume: exactly a clean run's data.

A kill is a `Killed` BaseException (nothing catches it, as nothing survives SIGKILL) raised at a
random HTTP request, or inside the store's transaction after the batch was written but before
commit. The next run is a fresh collector, as after a restart.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

import listener.store
from listener.store import Store, schema
from tests.collectors.fake_apis import Killed, kill_commits, one_pass

PLATFORMS = ("x", "reddit")
KILLS = 5


def snapshot(store: Store) -> dict[str, set]:
    with store.engine.connect() as conn:
        return {
            "posts": set(conn.execute(select(schema.posts.c.platform, schema.posts.c.native_id))),
            "authors": set(conn.execute(select(schema.authors.c.id))),
            "interactions": set(conn.execute(select(schema.interactions.c.id))),
            "tags": set(conn.execute(select(schema.post_brands.c.post_id,
                                            schema.post_brands.c.brand_id))),
        }


def open_store(path) -> Store:
    store = Store.open(f"sqlite:///{path}")
    store.add_brand("Brexit", "#brexit")
    store.add_brand("Kpop", "#kpop")
    store.add_brand("Debunk", "debunk")
    return store


def run_all(store, make) -> None:
    for name in PLATFORMS:
        options = {"max_results": 10} if name == "x" else {}
        result = one_pass(store, make(name, **options))
        assert result.failures == []


@pytest.mark.parametrize("seed", [1, 2])
def test_killed_at_random_points_then_resumed_equals_a_clean_run(
        seed, tmp_path, x_api, reddit_api, make, settings, monkeypatch):
    settings.reddit_watch = "askreddit"
    settings.reddit_subreddits = "DebunkThis"  # keeps the run small: 9 threads, 2 listings
    clean = open_store(tmp_path / "clean.db")
    run_all(clean, make)
    requests = {"x": x_api.calls, "reddit": reddit_api.calls}
    x_served_clean, x_api.served = x_api.served, 0
    expected = snapshot(clean)
    assert len(expected["posts"]) > 500

    rng = random.Random(seed)
    store = open_store(tmp_path / "killed.db")
    countdown = kill_commits(monkeypatch)
    kills = attempts = 0
    while kills < KILLS and attempts < 30:  # a run that escapes its kill finishes the work
        attempts += 1
        x_api.calls = reddit_api.calls = 0
        where = rng.choice(["x", "reddit", "commit"])
        if where == "commit":
            countdown["commit"] = rng.randint(1, 12)
        else:
            api = x_api if where == "x" else reddit_api
            api.kill_at = rng.randint(1, max(2, requests[where] // 3))
        try:
            run_all(store, make)
        except Killed:
            kills += 1
        x_api.kill_at = reddit_api.kill_at = countdown["commit"] = None
    assert kills == KILLS
    run_all(store, make)  # resumed without interruption

    assert snapshot(store) == expected
    assert store.status() == clean.status()
    # X resumes with since_id/until_id: a kill costs at most the page in hand (10 tweets).
    assert x_served_clean <= x_api.served <= x_served_clean + kills * 10


def test_a_killed_commit_leaves_neither_posts_nor_cursor(tmp_path, x_api, make, monkeypatch):
    store = open_store(tmp_path / "u.db")
    real_write = listener.store.write_batch

    def die_after_writing(conn, batch, *args):
        real_write(conn, batch, *args)
        raise Killed("killed before commit")

    monkeypatch.setattr(listener.store, "write_batch", die_after_writing)
    with pytest.raises(Killed):
        one_pass(store, make("x"))
    assert store.status()["posts"] == 0
    assert store.get_cursor("x", "search:#brexit") is None
