"""What the mention rollup's triggers cost the writers: tagging writes and scoring, with and
without them, on fresh SQLite stores (and PostgreSQL with --pg).

    python bench/rollup_cost.py [--posts 50000] [--pg URL] [--json]

Each run writes `--posts` posts through `Store.write` into a store with three brands (every
post mentions one or two), then scores them all with `score_batch` and a rule in place of the
model (the model's own time would hide the store's). "without" drops the triggers first
(`rollup.uninstall`), which is the store as it was before the rollup. Runs alternate, twice.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from listener.post import Author, Batch, Post  # noqa: E402
from listener.store import Store, rollup  # noqa: E402
from listener.store.scores import ClaimCursor, score_batch  # noqa: E402

WORDS = ["acme late again", "globex was great", "acme and globex both fine", "initech broke",
         "acme refund please", "initech and acme lost it"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _label(texts):
    return [("negative" if "late" in t or "lost" in t else "neutral", 0.5, 0.3, 0.2)
            for t in texts]


def run(url: str, n: int, triggers: bool) -> dict:
    store = Store.open(url)
    for name in ("acme", "globex", "initech"):
        store.add_brand(name.title(), name, "rivals")
    if not triggers:
        with store.engine.begin() as conn:
            rollup.uninstall(conn)
    t = time.perf_counter()
    for start in range(0, n, 2000):
        b = Batch(authors=[Author("x", f"a{i}", handle=f"u{i}") for i in range(200)])
        b.posts = [Post("x", f"p{i}", f"a{i % 200}", WORDS[i % len(WORDS)],
                        T0 + timedelta(seconds=37 * i)) for i in range(start, min(start + 2000, n))]
        store.write(b)
    write_s = time.perf_counter() - t
    t = time.perf_counter()
    cursor = ClaimCursor()
    while score_batch(store, "rule", 512, _label, cursor=cursor) is not None:
        pass
    score_s = time.perf_counter() - t
    store.close()
    return {"write_s": round(write_s, 2), "score_s": round(score_s, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=50_000)
    ap.add_argument("--pg", default=None, help="PostgreSQL admin URL: also measure there")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out: dict = {"posts": args.posts}
    for _round in range(2):
        for triggers in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                key = f"sqlite_{'with' if triggers else 'without'}"
                out.setdefault(key, []).append(run(f"sqlite:///{tmp}/r.db", args.posts, triggers))
            if args.pg:
                name = f"undertow_bench_{uuid.uuid4().hex[:8]}"
                admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                try:
                    key = f"pg_{'with' if triggers else 'without'}"
                    url = args.pg.rsplit("/", 1)[0] + f"/{name}"
                    out.setdefault(key, []).append(run(url, args.posts, triggers))
                finally:
                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    admin.dispose()
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
