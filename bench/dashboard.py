"""Time every dashboard page on a large SQLite store.

    python bench/dashboard.py [--posts 1000000] [--db PATH] [--json]

Fills a store with N synthetic posts (10 brands in two competitor groups, 30 days, two platforms,
a tenth as many authors with heavy-tailed followers, N/2 reposts concentrated on popular posts,
a model score for every post, two influence runs and 20 alerts), written with bulk SQL in the
store's own row format (the store's triggers keep the mention rollup, folded in at the end).
Then the pipeline's graph-views step lays out the Graph explorer's default views (`views_s`,
as `undertow listen` does after `rank`; skipped on a checkout without it), and the app runs
through Streamlit's AppTest: one first load, then each page twice. `first_load` is the Overview with every cache empty (Python already warm, and
Streamlit's components discovered, as in a running server);
`first_visit` is a page's first render (its queries run against the database);
`pages` is the render after that, served from the TTL cache as a user moving between pages or
clicking within one gets it (the goal at 1M posts: first load under 2 s, each page under 1 s);
`drill` is the read behind each drill-down, cold (AppTest cannot click a chart). `peak_mb` is
the peak memory of the process that ran the app (the store is filled in a child process). `--db` keeps the store
to rerun. AppTest runs the page scripts and serialises what they draw, without a browser.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fast_sqlite import bulk_connect, insert_authors  # noqa: E402

from listener.post import stable_id  # noqa: E402
from listener.store import Store  # noqa: E402

PAGES = {"overview": "views/overview.py", "alerts": "views/alerts.py",
         "posts": "views/posts.py", "influencers": "views/influencers.py",
         "graph": "views/graph.py"}
BRANDS = [("Skyway", "airlines"), ("Jetstar", "airlines"), ("Aerolux", "airlines"),
          ("Cloudhop", "airlines"), ("Wingit", "airlines"), ("Pixelphone", "tech"),
          ("Gizmo", "tech"), ("Searchly", "tech"), ("Codex", "tech"), ("Streamo", "tech")]
WORDS = ("delayed cancelled lost luggage refund great service crew seat upgrade app battery "
         "screen update love hate waiting hours gate support broken fast slow price").split()
START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 30
CHUNK = 100_000
MODEL = "bench-model-v1"


def _ts(seconds: np.ndarray) -> list[str]:
    base = START.replace(tzinfo=None)
    return [(base + timedelta(seconds=float(s))).isoformat(" ", "microseconds") for s in seconds]


def fill(path: Path, n_posts: int, seed: int = 1) -> None:
    """Write the synthetic store at `path` (schema through Store.open, rows through sqlite3)."""
    store = Store.open(f"sqlite:///{path}")
    for name, group in BRANDS:
        store.add_brand(name, name.lower(), group)
    brand_ids = [b.id for b in sorted(store.brands(), key=lambda b: b.name)]
    names = {b.id: b.name.lower() for b in store.brands()}
    store.close()
    rng = np.random.default_rng(seed)
    n_authors = max(n_posts // 10, 100)
    author_ids = np.array([stable_id("x", f"a{i}") for i in range(n_authors)], dtype=np.int64)
    followers = rng.lognormal(5.5, 1.8, n_authors).astype(np.int64)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    con = bulk_connect(path)
    con.execute("PRAGMA cache_size=-400000")
    insert_authors(con, author_ids, followers, now)
    post_ids = np.empty(n_posts, dtype=np.int64)
    post_times = np.empty(n_posts, dtype=np.float64)
    post_authors = np.empty(n_posts, dtype=np.int64)
    popularity = rng.zipf(1.6, n_authors).astype(float)
    popularity /= popularity.sum()
    for start in range(0, n_posts, CHUNK):
        k = min(CHUNK, n_posts - start)
        idx = np.arange(start, start + k)
        ids = np.array([stable_id("x", f"p{i}") for i in idx], dtype=np.int64)
        secs = np.sort(rng.uniform(0, DAYS * 86400, k))
        authors = rng.choice(n_authors, k, p=popularity)
        brands = rng.integers(0, len(brand_ids), k)
        labels = rng.choice(3, k, p=[0.45, 0.35, 0.20])
        words = rng.integers(0, len(WORDS), (k, 6))
        platform = np.where(rng.random(k) < 0.8, "x", "reddit")
        times = _ts(secs)
        post_ids[idx], post_times[idx], post_authors[idx] = ids, secs, author_ids[authors]
        rows, tags, scores = [], [], []
        for j in range(k):
            bid = brand_ids[brands[j]]
            text = f"{names[bid]} " + " ".join(WORDS[w] for w in words[j])
            rows.append((int(ids[j]), str(platform[j]), f"p{idx[j]}", int(author_ids[authors[j]]),
                         text, times[j], f"https://x.com/i/status/{idx[j]}", int(words[j, 0]),
                         int(words[j, 1] % 3), now))
            tags.append((int(ids[j]), bid, times[j]))
            if j % 10 == 0:
                tags.append((int(ids[j]), brand_ids[(brands[j] + 1) % len(brand_ids)], times[j]))
            lab = int(labels[j])
            p = [0.1, 0.1, 0.1]
            p[lab] = 0.8
            scores.append((int(ids[j]), MODEL, ("negative", "neutral", "positive")[lab], *p, now))
        con.executemany(
            "INSERT INTO posts (id, platform, native_id, author_id, text, created_at, url, likes, "
            "reposts, collected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.executemany("INSERT INTO post_brands (post_id, brand_id, created_at) VALUES (?, ?, ?)",
                        tags)
        con.executemany("INSERT INTO sentiment_scores (post_id, model_version, label, negative, "
                        "neutral, positive, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?)", scores)
        con.commit()
    _interactions(con, rng, n_posts, post_ids, post_times, post_authors, author_ids, popularity)
    _runs_and_alerts(con, rng, author_ids, followers, post_ids, post_times, brand_ids, now)
    con.commit()
    con.execute("ANALYZE")
    con.close()
    # The rows above went in through the store's triggers: fold their deltas into the rollup,
    # as the jobs do after they write.
    store = Store.open(f"sqlite:///{path}")
    store.compact_rollup()
    store.close()


def _interactions(con, rng, n_posts, post_ids, post_times, post_authors, author_ids,
                  popularity) -> None:
    """N/2 reposts: popular posts get most of them, each a few minutes to hours later."""
    n = n_posts // 2
    targets = np.minimum(rng.zipf(1.3, n) - 1, n_posts - 1)
    targets = rng.permutation(n_posts)[targets]
    sources = rng.choice(len(author_ids), n, p=popularity)
    delay = rng.exponential(3600, n)
    for start in range(0, n, CHUNK):
        sl = slice(start, min(start + CHUNK, n))
        t = targets[sl]
        times = _ts(post_times[t] + delay[sl])
        con.executemany(
            "INSERT OR IGNORE INTO interactions (id, platform, kind, source_author_id, "
            "target_author_id, source_post_id, target_post_id, created_at) "
            "VALUES (?, 'x', 'repost', ?, ?, NULL, ?, ?)",
            [(stable_id("x", f"i{start + j}"), int(author_ids[s]), int(post_authors[p]),
              int(post_ids[p]), times[j])
             for j, (s, p) in enumerate(zip(sources[sl], t, strict=True))])
        con.commit()


def _runs_and_alerts(con, rng, author_ids, followers, post_ids, post_times, brand_ids,
                     now) -> None:
    top = rng.choice(len(author_ids), min(5000, len(author_ids)), replace=False)
    for run in (1, 2):
        cur = con.execute("INSERT INTO influence_runs (created_at, params) VALUES (?, ?)",
                          (now, json.dumps({"weights": {"amplification": 0.5, "audience": 0.5}})))
        order = rng.permutation(top) if run == 1 else top
        con.executemany(
            "INSERT INTO influence_scores (run_id, author_id, rank, influence, components, "
            "community) VALUES (?, ?, ?, ?, ?, ?)",
            [(cur.lastrowid, int(author_ids[a]), r + 1, 1.0 / (r + 1),
              json.dumps({"audience": int(followers[a]), "amplification": int(5000 - r)}),
              int(r % 12)) for r, a in enumerate(order)])
    for k in range(20):
        p = int(rng.integers(0, len(post_ids)))
        opened = _ts(np.array([post_times[p] + 1800]))[0]
        growth = [{"t": _ts(np.array([post_times[p] + 600 * s]))[0], "size": 10 * s * s}
                  for s in range(8)]
        ev = {"root_post_ids": [int(post_ids[p])], "growth": growth,
              "forecast": {"final": 900, "low": 700, "high": 1300},
              "themes": [{"term": "lost luggage", "posts": 40}]}
        con.execute(
            "INSERT INTO alerts (brand_id, story_key, status, severity, title, evidence, "
            "opened_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (brand_ids[k % len(brand_ids)], f"s{k}", ("open", "acknowledged", "resolved")[k % 3],
             round(float(rng.random()), 2), f"Story {k} is spreading", json.dumps(ev),
             opened, opened))


def _one_script_cache() -> None:
    """A server compiles each page script once (one ScriptCache per runtime); AppTest makes a
    new cache for every run, so every run recompiled app.py and its page (0.05-0.1 s, parsing
    for Streamlit's magic), which no page view in a server pays. Share one, as a server does."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared


def time_pages(url: str) -> dict:
    from streamlit.testing.v1 import AppTest

    _one_script_cache()

    app = str(REPO / "dashboard" / "app.py")
    Store.open(url).close()  # a store made by an older version is migrated before timing
    with tempfile.TemporaryDirectory() as empty:
        # Import everything once on an empty store: a running server has its modules loaded,
        # so first_load below is the cost of empty caches, not of Python imports.
        os.environ["UNDERTOW_DATABASE_URL"] = f"sqlite:///{empty}/empty.db"
        warm = AppTest.from_file(app, default_timeout=600)
        warm.run()
    os.environ["UNDERTOW_DATABASE_URL"] = url
    at = AppTest.from_file(app, default_timeout=600)
    # A server discovers Streamlit's components once at start-up; AppTest does it again for
    # each instance (0.7-1.5 s of reading package metadata), which no page view pays.
    at._bidi_component_manager = warm._bidi_component_manager
    t = time.perf_counter()
    at.run()
    first_load = time.perf_counter() - t
    first, warm = {}, {}
    for name, page in PAGES.items():
        at.switch_page(page)
        for result in (first, warm):
            t = time.perf_counter()
            at.run()
            result[name] = round(time.perf_counter() - t, 3)
            if at.exception:
                raise SystemExit(f"{name}: {at.exception[0].message}")
    # The common morning view: one brand (with its competitor group), caches empty for it.
    at.switch_page(PAGES["overview"]).run()
    one = {}
    for key in ("first_visit", "after"):
        at.sidebar.selectbox(key="f_brand").set_value(BRANDS[0][0])
        t = time.perf_counter()
        at.run()
        one[key] = round(time.perf_counter() - t, 3)
    return {"first_load": round(first_load, 3), "first_visit": first, "pages": warm,
            "overview_one_brand": one, "drill": time_drill(url)}


def time_drill(url: str) -> dict:
    """The read behind each drill-down (AppTest cannot click a Vega chart): the posts of a
    volume point (one brand's hour), of a sentiment point (a label's hour over all brands) and
    of a share-of-voice bar (one brand's week), cold, as `tables.drill_posts` asks for them."""
    from dashboard import queries

    store = Store.open(url)
    facts = queries.store_facts(store.engine)
    ids = tuple(b["id"] for b in facts["brands"])
    end = facts["last"].replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    out = {}
    for name, brands, span, labels in (("volume_point", ids[:1], timedelta(hours=1), None),
                                       ("sentiment_point", ids, timedelta(hours=1),
                                        ("negative",)),
                                       ("voice_bar", ids[:1], timedelta(days=7), None)):
        t = time.perf_counter()
        queries.search_posts(store.engine, facts["model"], brands, None, end - span, end,
                             labels=labels)
        out[name] = round(time.perf_counter() - t, 3)
    store.close()
    return out


def _save_views(url: str, seconds) -> None:
    from listener.jobs import graph_views

    store = Store.open(url)
    try:
        seconds.value = graph_views.save_default_views(store).seconds
    finally:
        store.close()


def save_views(url: str, quiet: bool) -> float | None:
    """The pipeline's step after `rank` that lays out the Graph explorer's default views
    (`listener.jobs.graph_views`), run as `undertow listen` would after the store was filled:
    in another process, as the listener is; None where the code under test has no such step
    (an older checkout)."""
    try:
        from listener.jobs import graph_views  # noqa: F401
    except ImportError:
        return None
    ctx = multiprocessing.get_context("spawn")
    seconds = ctx.Value("d", -1.0)
    child = ctx.Process(target=_save_views, args=(url, seconds))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"laying out the graph views failed (exit {child.exitcode})")
    if not quiet:
        print(f"Saved the graph views in {seconds.value:.1f} s", file=sys.stderr)
    return round(seconds.value, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=None,
                    help="SQLite file to fill (reused when it already holds --posts posts)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory()
        args.db = Path(tmp.name) / "bench.db"
    fill_s = None
    existing = 0
    if args.db.exists():
        with sqlite3.connect(args.db) as con:
            existing = con.execute("SELECT count(*) FROM posts").fetchone()[0]
    if existing != args.posts:
        args.db.unlink(missing_ok=True)
        if not args.json:
            print(f"Filling {args.db} with {args.posts:,} posts...", file=sys.stderr)
        t = time.perf_counter()
        # In a child process, so peak_mb below is the dashboard's own memory.
        child = multiprocessing.get_context("spawn").Process(target=fill,
                                                             args=(args.db, args.posts))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"filling the store failed (exit {child.exitcode})")
        fill_s = round(time.perf_counter() - t, 1)
    views_s = save_views(f"sqlite:///{args.db}", args.json)
    result = {"posts": args.posts, **time_pages(f"sqlite:///{args.db}"), "fill_s": fill_s,
              "views_s": views_s,
              "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.posts:,} posts (store filled in {fill_s} s)" if fill_s else
              f"{args.posts:,} posts (existing store {args.db})")
        print(f"first load (overview, caches empty): {result['first_load']:.2f} s")
        print(f"{'page':<12} {'first visit':>12} {'after':>8}")
        for name in PAGES:
            print(f"{name:<12} {result['first_visit'][name]:>10.2f} s "
                  f"{result['pages'][name]:>6.2f} s")
        one = result["overview_one_brand"]
        print(f"overview, one brand: {one['first_visit']:.2f} s first, {one['after']:.2f} s after")
        print("drill-down reads: " + ", ".join(f"{k} {v:.2f} s" for k, v in result["drill"].items()))
        print(f"peak memory {result['peak_mb']:,} MB")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
