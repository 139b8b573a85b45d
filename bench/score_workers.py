"""Scale-out of scoring on PostgreSQL: the same posts scored by 1 and by 2 `undertow score`
processes on one database, which split the work (FOR UPDATE SKIP LOCKED claims).

A fresh database beside UNDERTOW_BENCH_PG_URL (or UNDERTOW_TEST_PG_URL) gets `--posts` real
airline tweets, distinct texts (so the sentiment cache saves nothing). Each configuration starts
from no scores and runs its workers as real subprocesses; reported per configuration: wall time
from launch to the last exit (model loading included), the scoring rate (posts over the slowest
worker's own scoring time, loading excluded), each worker's share, and how many posts were
scored more than once (0: the claims split the work). Baseline: 1 worker with all threads; the
ratio is against it, from the same run. On a 2-core machine 2 workers cannot beat 1 worker with
2 threads by much: the figure says what splitting costs, and the docs say what scales.

    python bench/score_workers.py --posts 2000 [--threads 2] [--json] [--private-pg]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.live import StoreSetup  # noqa: E402
from bench.live_feed import load_texts  # noqa: E402


def fill(store, n: int) -> int:
    from listener.post import Author, Batch, Post

    texts = list(dict.fromkeys(t.text for t in load_texts()))[:n]
    at = datetime(2026, 12, 1, tzinfo=UTC)
    batch = Batch(authors=[Author("x", f"u{i % 500}", handle=f"u{i % 500}") for i in range(500)])
    batch.posts = [Post("x", str(10**15 + i), f"u{i % 500}", text, at + timedelta(seconds=i))
                   for i, text in enumerate(texts)]
    store.write(batch)
    return len(texts)


def reset(store) -> None:
    from sqlalchemy import delete

    from listener.store import schema

    with store.engine.begin() as conn:
        conn.execute(delete(schema.sentiment_scores))
        conn.execute(delete(schema.sentiment_cache))


def run_workers(url: str, workers: int, threads: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "UNDERTOW_DATABASE_URL": url,
           "UNDERTOW_ENV_FILE": os.devnull}
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "listener.cli", "score", "--json",
                               "--threads", str(threads), "--batch-size", "64"],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(workers)]
    reports = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode:
            raise SystemExit(f"undertow score failed: {err[-2000:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.monotonic() - started
    scored = sum(r["scored"] for r in reports)
    slowest = max(r["seconds"] for r in reports)
    return {"workers": workers, "threads_each": threads, "wall_s": round(wall, 1),
            "scored": scored, "scoring_s": round(slowest, 1),
            "posts_per_s": round(scored / slowest, 1) if slowest else None,
            "shares": [r["scored"] for r in reports]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads in all, split among workers")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--private-pg", action="store_true",
                    help="on a throwaway server of the run's own (bench/private_pg.py)")
    args = ap.parse_args(argv)

    from sqlalchemy import func, select

    from listener.store import Store, schema

    setup = StoreSetup("postgres", Path(tempfile.mkdtemp()), private=args.private_pg)
    store = Store.open(setup.url)
    try:
        n = fill(store, args.posts)
        results = []
        for workers in (1, 2):
            reset(store)
            r = run_workers(setup.url, workers, max(1, args.threads // workers))
            with store.engine.connect() as conn:
                s = schema.sentiment_scores
                rows = conn.execute(select(func.count()).select_from(s)).scalar_one()
                distinct = conn.execute(select(func.count(func.distinct(s.c.post_id)))).scalar_one()
            r.update(rows=rows, posts=n, scored_twice=rows - distinct, missing=n - distinct)
            results.append(r)
        base = results[0]["posts_per_s"] or 1
        for r in results:
            r["ratio_to_1_worker"] = round((r["posts_per_s"] or 0) / base, 2)
        out = {"posts": n, "threads": args.threads, "runs": results,
               "load_average": [round(x, 2) for x in os.getloadavg()]}
    finally:
        store.close()
        setup.drop()
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
