"""Time `undertow detect` on a large SQLite store, from scratch and then incrementally.

    python bench/detect_speed.py [--posts 1000000] [--db PATH] [--new 2000] [--profile] [--json]
                                 [--alerts FILE]

Fills a store with N synthetic posts (10 brands in two competitor groups, 30 days, two
platforms, a tenth as many authors with heavy-tailed followers and activity). About half the
posts are reactions (reposts and replies, `parent_native_id` set) to the others, cascade sizes
Zipf-distributed (exponent 2.5, capped at 20,000), reaction delays log-normal around 30 minutes,
so the detector sees thousands of cascades past its 30-event forecast threshold and a few hundred
viral ones. Four reactions in five are reposts ("RT @author: " and the root's text and label),
the rest replies with their own words (the root's label three times in five). One post in ten is
tagged with a second brand (N * 1.1 mentions); every post has a model score (30% of roots
negative); no gold reasons, so complaint themes come from the text. One global influence run
ranks the authors.

Then: `detect(reset=True)` after clearing alerts and the detector's state (the goal: under 30 s
at 1M posts), and `detect()` again after adding `--new` posts an hour past the last one, which
should read only those. The new posts are deleted afterwards, so `--db` keeps a reusable store.
`seconds` is wall-clock time; `cpu_s` adds the CPU time of detect's reader process (a big run
reads and maps posts in a child while the parent detects, so on two cores seconds < cpu_s).
`--profile` prints the from-scratch run's top functions (cProfile, cumulative; parent only).
`--alerts FILE` writes the alerts both runs left (JSON lines, no wall-clock columns) and adds
their SHA-256 to the result: run it on two branches over the same `--db` to check that a speed
change decides the same.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import multiprocessing
import os
import pstats
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

BRANDS = [("Skyway", "airlines"), ("Jetstar", "airlines"), ("Aerolux", "airlines"),
          ("Cloudhop", "airlines"), ("Wingit", "airlines"), ("Pixelphone", "tech"),
          ("Gizmo", "tech"), ("Searchly", "tech"), ("Codex", "tech"), ("Streamo", "tech")]
WORDS = ("delayed cancelled lost luggage refund great service crew seat upgrade app battery "
         "screen update love hate waiting hours gate support broken fast slow price my the "
         "flight phone is was never again thanks today").split()
LABELS = ("negative", "neutral", "positive")
START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 30
CHUNK = 100_000
MODEL = "bench-model-v1"
MAX_CASCADE = 20_000


def _ts(seconds: np.ndarray) -> list[str]:
    """Timestamps in the store's SQLite text format."""
    base = START.replace(tzinfo=None)
    return [(base + timedelta(seconds=float(s))).isoformat(" ", "microseconds") for s in seconds]


def _shape(rng: np.random.Generator, n_posts: int) -> tuple[np.ndarray, np.ndarray]:
    """Each post's root index (itself for a root) and time, roots first then reactions."""
    sizes = np.minimum(rng.zipf(2.5, n_posts) - 1, MAX_CASCADE)
    n_roots = int(np.searchsorted(np.cumsum(sizes + 1), n_posts)) + 1
    sizes = sizes[:n_roots]
    sizes[-1] -= int((sizes + 1).sum()) - n_posts  # the last cascade ends at exactly N posts
    root_of = np.concatenate([np.arange(n_roots), np.repeat(np.arange(n_roots), sizes)])
    root_t = rng.uniform(0, DAYS * 86400, n_roots)
    delays = rng.lognormal(np.log(1800), 1.2, len(root_of) - n_roots)
    return root_of, np.concatenate([root_t, root_t[root_of[n_roots:]] + delays])


def fill(path: Path, n_posts: int, seed: int = 1) -> None:
    """Write the synthetic store at `path` (schema through Store.open, rows through sqlite3)."""
    store = Store.open(f"sqlite:///{path}")
    for name, group in BRANDS:
        store.add_brand(name, name.lower(), group)
    brands = sorted(store.brands(), key=lambda b: b.name)
    store.close()
    rng = np.random.default_rng(seed)
    n_authors = max(n_posts // 10, 100)
    author_ids = np.array([stable_id("x", f"a{i}") for i in range(n_authors)], dtype=np.int64)
    followers = rng.lognormal(5.5, 1.8, n_authors).astype(np.int64)
    activity = rng.zipf(1.6, n_authors).astype(float)
    activity /= activity.sum()
    root_of, secs = _shape(rng, n_posts)
    is_root = root_of == np.arange(n_posts)
    authors = rng.choice(n_authors, n_posts, p=activity)
    brand = rng.integers(0, len(brands), n_posts)[root_of]
    platform = np.where(rng.random(n_posts) < 0.8, "x", "reddit")[root_of]
    repost = ~is_root & (rng.random(n_posts) < 0.8)
    label = rng.choice(3, n_posts, p=[0.30, 0.45, 0.25])
    label = np.where(repost | (~is_root & (rng.random(n_posts) < 0.6)), label[root_of], label)
    words = rng.integers(0, len(WORDS), (n_posts, 12))
    words = np.where(repost[:, None], words[root_of], words)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    con = bulk_connect(path)
    insert_authors(con, author_ids, followers, now)
    order = np.argsort(secs, kind="stable")  # written in time order, as collected
    for start in range(0, n_posts, CHUNK):
        idx = order[start:start + CHUNK]
        times = _ts(secs[idx])
        rows, tags, scores = [], [], []
        for j, i in enumerate(idx):
            pid, b = stable_id(str(platform[i]), f"p{i}"), brands[brand[i]]
            text = " ".join([b.name.lower(), *(WORDS[w] for w in words[i])])
            parent = None if is_root[i] else f"p{root_of[i]}"
            if parent is not None:
                text = f"{'RT ' if repost[i] else ''}@user_{authors[root_of[i]]}: {text}"
            rows.append((pid, str(platform[i]), f"p{i}", int(author_ids[authors[i]]), text,
                         times[j], f"https://x.com/i/status/{i}", parent, now))
            tags.append((pid, b.id, times[j]))
            if i % 10 == 0:
                tags.append((pid, brands[(brand[i] + 1) % len(brands)].id, times[j]))
            p = [0.1, 0.1, 0.1]
            p[label[i]] = 0.8
            scores.append((pid, MODEL, LABELS[label[i]], *p, now))
        _insert(con, rows, tags, scores)
    _ranks(con, author_ids, followers * activity, now)
    con.execute("ANALYZE")
    con.close()


def _insert(con: sqlite3.Connection, rows: list, tags: list, scores: list) -> None:
    con.executemany(
        "INSERT INTO posts (id, platform, native_id, author_id, text, created_at, url, "
        "parent_native_id, collected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.executemany("INSERT INTO post_brands (post_id, brand_id, created_at) VALUES (?, ?, ?)",
                    tags)
    con.executemany("INSERT INTO sentiment_scores (post_id, model_version, label, negative, "
                    "neutral, positive, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?)", scores)
    con.commit()


def _ranks(con: sqlite3.Connection, author_ids: np.ndarray, reach: np.ndarray, now: str) -> None:
    """One global influence run: the authors with the most reach rank first."""
    cur = con.execute("INSERT INTO influence_runs (created_at, params) VALUES (?, '{}')", (now,))
    top = np.argsort(-reach)[:1000]
    con.executemany(
        "INSERT INTO influence_scores (run_id, author_id, rank, influence, components) "
        "VALUES (?, ?, ?, ?, '{}')",
        [(cur.lastrowid, int(author_ids[a]), r + 1, 1.0 / (r + 1)) for r, a in enumerate(top)])
    con.commit()


def _clear(path: Path) -> None:
    """Forget alerts and the detector's state, so the next run starts from scratch."""
    with sqlite3.connect(path) as con:
        con.execute("DELETE FROM alert_notifications")
        con.execute("DELETE FROM alerts")
        con.execute("DELETE FROM meta WHERE key IN ('detect_state', 'detect_cursor')")


def _add_new(path: Path, n: int, seed: int = 2) -> None:
    """`n` negative posts an hour after the last stored one: replies to one fresh complaint."""
    rng = np.random.default_rng(seed)
    with sqlite3.connect(path) as con:
        last = con.execute("SELECT max(created_at) FROM posts").fetchone()[0]
        author = con.execute("SELECT id FROM authors LIMIT 1").fetchone()[0]
        brand = con.execute("SELECT id, name FROM brands ORDER BY name LIMIT 1").fetchone()
        t0 = datetime.fromisoformat(last) + timedelta(hours=1)
        offsets = np.sort(rng.uniform(0, 3600, n))
        offsets[0] = 0.0
        rows, tags, scores = [], [], []
        for i, s in enumerate(offsets):
            pid = stable_id("x", f"new{i}")
            at = (t0 + timedelta(seconds=float(s))).isoformat(" ", "microseconds")
            rows.append((pid, "x", f"new{i}", author, f"{brand[1].lower()} lost my luggage again",
                         at, None, None if i == 0 else "new0", at))
            tags.append((pid, brand[0], at))
            scores.append((pid, MODEL, "negative", 0.8, 0.1, 0.1, at))
        _insert(con, rows, tags, scores)


def _drop_new(path: Path) -> None:
    with sqlite3.connect(path) as con:
        ids = "SELECT id FROM posts WHERE native_id LIKE 'new%'"
        for table, col in (("sentiment_scores", "post_id"), ("post_brands", "post_id"),
                           ("posts", "id")):
            con.execute(f"DELETE FROM {table} WHERE {col} IN ({ids})")


def dump_alerts(path: Path, out: Path) -> str:
    """Write the store's alerts (what detect decided: story, status, severity, title,
    evidence, times; no wall-clock columns) to `out` as JSON lines; returns their SHA-256, so
    two runs (this branch and another) can be checked for the same decisions."""
    with sqlite3.connect(path) as con:
        rows = con.execute(
            "SELECT b.name, a.story_key, a.status, a.severity, a.title, a.evidence, a.opened_at, "
            "a.updated_at, a.resolved_at, a.resolved_by, a.notified_severity, "
            "(SELECT count(*) FROM alert_notifications n WHERE n.alert_id = a.id) "
            "FROM alerts a JOIN brands b ON b.id = a.brand_id ORDER BY b.name, a.story_key"
        ).fetchall()
    text = "".join(json.dumps(r) + "\n" for r in rows)
    out.write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()


def _load() -> list[float] | None:
    """The load average as the run ends (its figures mean little on a busy machine)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (detect's reader)."""
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime


def _timed(store: Store, reset: bool, profile: bool) -> tuple[object, float, float]:
    from listener.jobs.detect import detect

    prof = cProfile.Profile() if profile else None
    t, cpu = time.perf_counter(), _cpu()
    if prof:
        prof.enable()
    report = detect(store, reset=reset, echo=lambda _: None, read_ahead=True)
    if prof:
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    return report, time.perf_counter() - t, _cpu() - cpu


def _ensure(db: Path, n_posts: int, quiet: bool) -> float | None:
    """Fill `db` unless it already holds `n_posts` posts; returns the fill time, if any."""
    if db.exists():
        with sqlite3.connect(db) as con:
            if con.execute("SELECT count(*) FROM posts").fetchone()[0] == n_posts:
                return None
    db.unlink(missing_ok=True)
    if not quiet:
        print(f"Filling {db} with {n_posts:,} posts...", file=sys.stderr)
    t = time.perf_counter()
    # In a child process, so the timed run starts as `undertow detect` does, not in a process
    # holding the fill's leftovers (that cost about 6 CPU seconds more).
    filler = multiprocessing.get_context("spawn").Process(target=fill, args=(db, n_posts))
    filler.start()
    filler.join()
    if filler.exitcode:
        raise SystemExit(f"filling {db} failed (exit code {filler.exitcode})")
    return round(time.perf_counter() - t, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=None,
                    help="SQLite file to fill (reused when it already holds --posts posts)")
    ap.add_argument("--new", type=int, default=2000, help="posts added for the incremental run")
    ap.add_argument("--profile", action="store_true", help="cProfile the from-scratch run")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--alerts", type=Path, default=None,
                    help="write the alerts of both runs here as JSON lines (to compare branches)")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory() if args.db is None else None
    db = args.db or Path(tmp.name) / "detect.db"
    fill_s = _ensure(db, args.posts, args.json)
    _drop_new(db)  # left behind by an interrupted run
    _clear(db)
    store = Store.open(f"sqlite:///{db}")
    try:
        full, full_s, full_cpu = _timed(store, reset=True, profile=args.profile)
        _add_new(db, args.new)
        inc, inc_s, _ = _timed(store, reset=False, profile=False)
    finally:
        store.close()
        _drop_new(db)
    alerts = dump_alerts(db, args.alerts) if args.alerts else None
    result = {"posts": args.posts, "mentions": full.posts, "seconds": round(full_s, 2),
              "cpu_s": round(full_cpu, 2), "posts_per_s": round(args.posts / full_s),
              "opened": full.opened,
              "updated": full.updated, "incremental": {
                  "new_posts": args.new, "read": inc.posts, "seconds": round(inc_s, 2),
                  "opened": inc.opened, "updated": inc.updated}, "fill_s": fill_s,
              "load": _load()}
    if alerts:
        result["alerts_sha256"] = alerts
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.posts:,} posts ({full.posts:,} brand mentions): detect from scratch in "
              f"{full_s:.1f} s ({full_cpu:.1f} CPU s), {result['posts_per_s']:,} posts/s; "
              f"{full.opened:,} alerts opened, {full.updated:,} updates")
        print(f"incremental, {args.new:,} new posts: read {inc.posts:,} in {inc_s:.2f} s; "
              f"{inc.opened} opened, {inc.updated} updated")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
