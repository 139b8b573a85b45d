"""What one scorer's claim costs as the scored share grows: from the start vs after its cursor.

Builds a SQLite store (or `--database URL`) of N synthetic posts, marks the lowest-id fraction
scored (as a scorer working up the ids leaves them), and times a 256-post claim both ways:
"before" is the open-ended query every claim ran before (the first unscored posts by id, which
walks past every scored post), "now" is `_claim` after the cursor a running scorer keeps (on
PostgreSQL: per-post advisory locks), and on PostgreSQL "row locks" is the same cursor claim
with the `FOR UPDATE SKIP LOCKED` row locks it took before they were replaced (which made
collectors wait). Each figure is the median of 10 claims. On PostgreSQL the tables are
ANALYZEd after each step, as autovacuum would have done on a store that grew to that size:
right after a bulk insert of scores the planner's stale statistics make every variant 5-20x
slower (300-1,100 ms at 25-90% scored).
Run: .venv/bin/python bench/claim_cost.py [--posts N] [--database URL | --private-pg]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime

from sqlalchemy import select, text

from listener.post import Batch, Post
from listener.store import Store, schema
from listener.store.scores import _claim, _unscored


def _before(conn, version: str, size: int) -> list:
    p, cond = _unscored(version)
    stmt = select(p.c.id, p.c.text).where(cond).order_by(p.c.id).limit(size)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=p, skip_locked=True)
    return conn.execute(stmt).all()


def _row_locks(conn, version: str, size: int, after) -> list:
    """The cursor claim as it was with row locks: the same window, `FOR UPDATE SKIP LOCKED`."""
    p, s = schema.posts, schema.sentiment_scores
    window = select(p.c.id).order_by(p.c.id).limit(max(512, 2 * size))
    if after is not None:
        window = window.where(p.c.id > after)
    ids = list(conn.execute(window).scalars())
    scored = {pid for pid, v in conn.execute(select(s.c.post_id, s.c.model_version).where(
        s.c.post_id >= ids[0], s.c.post_id <= ids[-1])) if v == version}
    todo = [i for i in ids if i not in scored][:size]
    stmt = select(p.c.id, p.c.text).where(p.c.id.in_(todo)).order_by(p.c.id)
    rows = conn.execute(stmt.with_for_update(skip_locked=True)).all()
    conn.execute(select(s.c.post_id).where(s.c.model_version == version,
                                           s.c.post_id.in_([r[0] for r in rows]))).all()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--database", default=None)
    ap.add_argument("--private-pg", action="store_true",
                    help="on a throwaway PostgreSQL server of the run's own (bench/private_pg.py)")
    args = ap.parse_args()
    pg = None
    if args.private_pg:
        from bench.private_pg import PrivatePG

        pg = PrivatePG().start()
        args.database = pg.create_database("claims")
    try:
        _run(args)
    finally:
        if pg is not None:
            pg.stop()


def _run(args) -> None:
    url = args.database or f"sqlite:///{tempfile.mkdtemp()}/claim.db"
    store = Store.open(url)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for start in range(0, args.posts, 5000):
        store.write(Batch([Post("x", str(i), f"a{i % 997}", f"post {i}", at)
                           for i in range(start, min(args.posts, start + 5000))]))
    with store.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM posts ORDER BY id"))]
    print(f"{len(ids):,} posts on {store.dialect}")
    done = 0
    for share in (0.0, 0.25, 0.5, 0.9):
        upto = int(len(ids) * share)
        with store.engine.begin() as conn:
            if upto > done:
                conn.execute(text(
                    "INSERT INTO sentiment_scores (post_id, model_version, label, negative, "
                    "neutral, positive, scored_at) VALUES (:p, 'm', 'neutral', 0, 1, 0, :t)"),
                    [{"p": i, "t": at} for i in ids[done:upto]])
        done = upto
        if store.dialect == "postgresql":  # as autovacuum would have by now: fresh statistics
            with store.engine.begin() as conn:
                conn.execute(text("ANALYZE posts"))
                conn.execute(text("ANALYZE sentiment_scores"))
        after = ids[upto - 1] if upto else None
        timings = {}
        claims = [("before", lambda c: _before(c, "m", 256)),
                  ("now", lambda c, a=after: _claim(c, "m", 256, a))]
        if store.dialect == "postgresql":
            claims.append(("row locks", lambda c, a=after: _row_locks(c, "m", 256, a)))
        for name, claim in claims:
            runs = []
            for _ in range(10):
                with store.engine.begin() as conn:
                    t = time.perf_counter()
                    claim(conn)
                    runs.append((time.perf_counter() - t) * 1000)
            timings[name] = sorted(runs)[len(runs) // 2]
        extra = (f", row locks {timings['row locks']:5.1f} ms" if "row locks" in timings else "")
        print(f"{share:>4.0%} scored: a claim before {timings['before']:7.1f} ms, "
              f"now {timings['now']:5.1f} ms{extra} "
              f"(before/now {timings['before'] / timings['now']:.1f}x)")
    store.close()


if __name__ == "__main__":
    main()
