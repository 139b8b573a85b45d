"""What one scorer's claim costs as the scored share grows: from the start vs after its cursor.

Builds a SQLite store (or `--database URL`) of N synthetic posts, marks the lowest-id fraction
scored (as a scorer working up the ids leaves them), and times a 256-post claim both ways:
"before" is the open-ended query every claim ran before (the first unscored posts by id, which
walks past every scored post), "now" is `_claim` after the cursor a running scorer keeps. Run: .venv/bin/python bench/claim_cost.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime

from sqlalchemy import select, text

from listener.post import Batch, Post
from listener.store import Store
from listener.store.scores import _claim, _unscored


def _before(conn, version: str, size: int) -> list:
    p, cond = _unscored(version)
    stmt = select(p.c.id, p.c.text).where(cond).order_by(p.c.id).limit(size)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=p, skip_locked=True)
    return conn.execute(stmt).all()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=100_000)
    ap.add_argument("--database", default=None)
    args = ap.parse_args()
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
        after = ids[upto - 1] if upto else None
        timings = {}
        for name, claim in (("before", lambda c: _before(c, "m", 256)),
                            ("now", lambda c, a=after: _claim(c, "m", 256, a))):
            with store.engine.begin() as conn:
                t = time.perf_counter()
                for _ in range(5):
                    claim(conn)
                timings[name] = (time.perf_counter() - t) / 5 * 1000
        print(f"{share:>4.0%} scored: a claim before {timings['before']:7.1f} ms, "
              f"now {timings['now']:5.1f} ms (before/now {timings['before'] / timings['now']:.1f}x)")
    store.close()


if __name__ == "__main__":
    main()
